/** Shared set-up for the simulator tests: a simulator on port 0 with a manual clock, and an API caller that checks every response of a Pleo operation against the OpenAPI contract. */
import { afterEach } from 'vitest';
import { ManualClock, startSimulator } from '../../src/simulator/index.js';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index.js';
import type { components } from '../../src/generated/export-v3.js';
import { contract } from '../helpers/openapi.js';

type S = components['schemas'];
export type Job = S['ExportJobV3'];
export type JobItem = S['ExportJobItemV3'];
export type ExportItem = S['ExportItemV3'];
export type PageInfo = S['CursorPageInfo'];
export type JobsPage = S['CursorPaginatedResponseExportJobV3'];
export type JobItemsPage = S['CursorPaginatedResponseExportJobItemV3'];
export type ExportItemsPage = S['CursorPaginatedResponseExportItemV3'];
export type JobResponse = S['DataResponseExportJobV3'];
export type ItemUpdateResponse = S['ExportJobItemUpdateV3'];
export type ErrorBody = S['ExceptionInfo'];

export const T0 = Date.parse('2026-03-02T09:00:00.000Z');

export function basic(apiKey: string): string {
  return `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`;
}

export interface CallResult<T = ErrorBody> {
  status: number;
  body: T;
  headers: Headers;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body (sent as is). */
  raw?: string;
  auth?: string | null;
  contentType?: string;
}

export class Api {
  readonly url: string;
  auth: string | null;
  constructor(url: string, auth: string | null) {
    this.url = url;
    this.auth = auth;
  }

  /** Calls the simulator; for Pleo paths the response (and the JSON request body) must satisfy the contract. */
  async call<T = ErrorBody>(
    method: string,
    pathAndQuery: string,
    opts: CallOptions = {},
  ): Promise<CallResult<T>> {
    const headers: Record<string, string> = {};
    const auth = opts.auth === undefined ? this.auth : opts.auth;
    if (auth) headers.authorization = auth;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    } else if (opts.contentType) headers['content-type'] = opts.contentType;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = body;
    const res = await fetch(`${this.url}${pathAndQuery}`, init);
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    const path = pathAndQuery.split('?')[0]!;
    if (path.startsWith('/v3/') || path.startsWith('/v1/')) {
      contract.assertResponse({ method, path }, res.status, parsed);
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}

export interface Harness {
  sim: RunningSimulator;
  clock: ManualClock;
  api: Api;
  company: { id: string; apiKey: string };
}

const running: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

/** Starts a simulator (closed after the test) with a manual clock at `startMs` (default {@link T0}). */
export async function start(options: SimulatorOptions = {}, startMs = T0): Promise<Harness> {
  const clock = new ManualClock(startMs);
  const sim = await startSimulator({ clock, sweepIntervalMs: 60_000, ...options });
  running.push(sim);
  const company = sim.companies[0]!;
  return { sim, clock, api: new Api(sim.url, company ? basic(company.apiKey) : null), company };
}

/** Collects every item of a list operation by following `after=endCursor`. */
export async function collectAll<T>(
  api: Api,
  path: string,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const q = `limit=${limit}${after ? `&after=${after}` : ''}`;
    const res = await api.call<{ data: T[]; pagination: PageInfo }>('GET', `${path}${sep}${q}`);
    if (res.status !== 200) throw new Error(`page ${pages}: ${res.status} ${JSON.stringify(res.body)}`);
    pages++;
    items.push(...res.body.data);
    if (!res.body.pagination.hasNextPage) return { items, pages };
    after = res.body.pagination.endCursor;
  }
}
