/** What the route handlers share. */
import { badRequest } from '../errors.js';
import type { RequestContext } from '../http.js';
import { UUID_RE } from '../ids.js';
import type { PaginationConfig } from '../pagination.js';
import type { Company, SimulatorState } from '../state.js';
import type { Webhooks } from '../webhooks.js';
import type { FileUrls } from './files.js';

export interface RouteDeps {
  state: SimulatorState;
  pagination: PaginationConfig;
  webhooks: Webhooks;
  files: FileUrls;
}

/** The authenticated company (routes with `auth: 'pleo'` always have one). */
export function companyOf(ctx: RequestContext): Company {
  if (!ctx.company) throw new Error(`route ${ctx.path} needs authentication`);
  return ctx.company;
}

/** A uuid path or query value, or 400 (Spring answers 400 when a UUID does not convert). */
export function uuidParam(name: string, value: string | undefined | null): string {
  if (!value || !UUID_RE.test(value)) throw badRequest(`Parameter '${name}' must be a uuid`);
  return value.toLowerCase();
}

/** A query parameter given at most once. */
export function singleQuery(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length > 1) throw badRequest(`Query parameter '${name}' must be given at most once`);
  return all[0];
}
