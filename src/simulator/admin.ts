/**
 * Inspection and control, for tests and users. Two faces of one API:
 * - in-process: {@link SimulatorAdmin} (`RunningSimulator.admin`), typed and synchronous where it can be;
 * - HTTP under `/_admin/` (no credentials, no faults, not in the request counters' Pleo rules;
 *   bind the simulator to localhost). Routes are listed in README.md.
 */
import { z } from 'zod';
import type { components } from '../generated/export-v3.js';
import type { TokenStore } from './auth.js';
import { iso } from './clock.js';
import { MINOR_UNITS } from './data/index.js';
import type { OffsetClock } from './clock.js';
import { ApiError } from './errors.js';
import { FAULT_ENDPOINTS } from './faults.js';
import type { Fault, FaultConfig, FaultEndpoint, FaultInjector, FaultRule } from './faults.js';
import { jsonBody } from './http.js';
import type { RequestContext, Route } from './http.js';
import { ITEM_STATUSES } from './items.js';
import type { ItemStatus, StatusChange } from './items.js';
import type { Job, JobEventRecord } from './job.js';
import type { RequestCounters, RequestLog, RequestLogEntry } from './log.js';
import type { OAuthClient, OAuthServer } from './oauth.js';
import type { CompiledOptions } from './options.js';
import type { Company, CreateJobInput, SimulatorState } from './state.js';
import { parseBody } from './validate.js';
import type { DeliveryAttempt, Webhooks } from './webhooks.js';

type ExportJobV3 = components['schemas']['ExportJobV3'];

export interface SimulatorCore {
  state: SimulatorState;
  clock: OffsetClock;
  faults: FaultInjector;
  log: RequestLog;
  webhooks: Webhooks;
  tokens: TokenStore;
  oauth: OAuthServer;
  options: CompiledOptions;
}

export interface ItemSnapshot {
  index: number;
  accountingEntryId: string;
  status: ItemStatus;
  /** Accepted PUT entries for this item. */
  updateCount: number;
  /** Status changes, oldest first (empty once the job's history limit was reached). */
  history: StatusChange[];
}

export interface JobSnapshot {
  job: ExportJobV3;
  statusCounts: Record<ItemStatus, number>;
  /** Sum of updateCount over all items. */
  totalUpdates: number;
  /** Items updated more than once. */
  itemsUpdatedMoreThanOnce: number;
  /** Job events as received (rejected ones too) and expiry. */
  events: JobEventRecord[];
  warnings: string[];
  historyDropped: number;
  /** Present when asked for (or, by default, for jobs of at most 10,000 items). */
  items?: ItemSnapshot[];
}

export interface SimulatorSnapshot {
  now: string;
  companies: Company[];
  jobs: JobSnapshot[];
  subscriptions: {
    id: string;
    companyId: string;
    endpointUrl: string;
    eventTypes: string[];
    status: string;
  }[];
  webhookDeliveries: DeliveryAttempt[];
  requests: RequestCounters;
}

/** `true`/`false`, or `'auto'` (items of jobs with at most 10,000 items). */
export type IncludeItems = boolean | 'auto';

export interface SimulatorAdmin {
  /** Adds a company (next generator index); contra accounts on unless said otherwise. */
  createCompany(input?: { name?: string; hasContraAccounts?: boolean; walletCurrency?: string }): Company;
  /** Changes a company's settings (e.g. remove its contra accounts). */
  updateCompany(companyId: string, patch: { hasContraAccounts?: boolean }): Company;
  /** Queues a job as if a user pressed Export (no 409 check); delivers the created webhook. */
  createJob(companyId: string, input: CreateJobInput): ExportJobV3;
  /** Moves simulated time forward and sweeps expiry; returns the new now (ms). */
  advanceClock(ms: number): number;
  now(): number;
  state(opts?: { items?: IncludeItems }): SimulatorSnapshot;
  job(jobId: string, opts?: { items?: IncludeItems }): JobSnapshot | undefined;
  item(jobId: string, accountingEntryId: string): ItemSnapshot | undefined;
  requestLog(): RequestLogEntry[];
  /** Replaces the fault configuration. */
  setFaults(config: FaultConfig): void;
  addFaultRule(rule: FaultRule): void;
  /** "Fail the next `times` requests to `endpoint`" (default fault: 503). */
  failNext(endpoint: FaultEndpoint, times: number, fault?: Fault): void;
  clearFaults(): void;
  faults(): FaultConfig;
  /** A bearer token bound to a company, as an OAuth flow would give. */
  issueAccessToken(companyId: string, opts?: { ttlMs?: number; scope?: string }): string;
  addOAuthClient(client: OAuthClient): void;
  webhookDeliveries(): DeliveryAttempt[];
  /** Waits for every webhook delivery started so far (retries included). */
  flushWebhooks(): Promise<void>;
}

const AUTO_ITEMS_LIMIT = 10_000;

function itemSnapshots(job: Job): ItemSnapshot[] {
  const histories = job.items.history.byItem();
  const out: ItemSnapshot[] = [];
  for (let i = 0; i < job.items.count; i++) {
    out.push({
      index: i,
      accountingEntryId: job.items.entryId(i),
      status: job.items.statusOf(i),
      updateCount: job.items.updates[i]!,
      history: histories.get(i) ?? [],
    });
  }
  return out;
}

function jobSnapshot(job: Job, now: number, include: IncludeItems): JobSnapshot {
  let totalUpdates = 0;
  let many = 0;
  for (const n of job.items.updates) {
    totalUpdates += n;
    if (n > 1) many++;
  }
  const statusCounts = Object.fromEntries(ITEM_STATUSES.map((s) => [s, job.items.countOf(s)])) as Record<
    ItemStatus,
    number
  >;
  const snap: JobSnapshot = {
    job: job.toJson(now),
    statusCounts,
    totalUpdates,
    itemsUpdatedMoreThanOnce: many,
    events: [...job.events],
    warnings: [...job.warnings],
    historyDropped: job.items.history.dropped,
  };
  if (include === true || (include === 'auto' && job.items.count <= AUTO_ITEMS_LIMIT))
    snap.items = itemSnapshots(job);
  return snap;
}

export function createAdmin(core: SimulatorCore): SimulatorAdmin {
  const { state, clock, faults, log, webhooks, tokens, oauth } = core;
  const company = (id: string): Company => {
    const c = state.companies.get(id);
    if (!c) throw new ApiError(404, 'not_found', `Unknown company ${id}`);
    return c;
  };
  const admin: SimulatorAdmin = {
    createCompany: (input = {}) => {
      if (input.walletCurrency !== undefined && !(input.walletCurrency in MINOR_UNITS)) {
        throw new ApiError(
          400,
          'bad_request',
          `walletCurrency must be one of ${Object.keys(MINOR_UNITS).join(', ')}`,
        );
      }
      return state.addCompany({ hasContraAccounts: true, ...input });
    },
    updateCompany: (id, patch) => {
      const c = company(id);
      if (patch.hasContraAccounts !== undefined) c.hasContraAccounts = patch.hasContraAccounts;
      return c;
    },
    createJob: (companyId, input) => {
      company(companyId);
      try {
        return state.createJob(companyId, input).toJson(state.now());
      } catch (err) {
        if (err instanceof RangeError) throw new ApiError(400, 'bad_request', err.message);
        throw err;
      }
    },
    advanceClock: (ms) => {
      const now = clock.advance(ms);
      state.sweep();
      return now;
    },
    now: () => state.now(),
    state: (opts = {}) => {
      state.sweep();
      const now = state.now();
      return {
        now: iso(now),
        companies: [...state.companies.values()].map((c) => ({ ...c })),
        jobs: [...state.jobs.values()].map((j) => jobSnapshot(j, now, opts.items ?? 'auto')),
        subscriptions: [...webhooks.subscriptions.values()].map((s) => ({
          id: s.id,
          companyId: s.companyId,
          endpointUrl: s.endpointUrl,
          eventTypes: [...s.eventTypes],
          status: s.status,
        })),
        webhookDeliveries: [...webhooks.attempts],
        requests: structuredClone(log.counters),
      };
    },
    job: (jobId, opts = {}) => {
      const job = state.job(jobId);
      return job && jobSnapshot(job, state.now(), opts.items ?? 'auto');
    },
    item: (jobId, accountingEntryId) => {
      const job = state.job(jobId);
      const index = job ? job.items.indexOf(accountingEntryId) : -1;
      if (!job || index < 0) return undefined;
      return {
        index,
        accountingEntryId: job.items.entryId(index),
        status: job.items.statusOf(index),
        updateCount: job.items.updates[index]!,
        history: job.items.history.forItem(index),
      };
    },
    requestLog: () => log.entries(),
    setFaults: (config) => faults.set(config),
    addFaultRule: (rule) => faults.addRule(rule),
    failNext: (endpoint, times, fault = { kind: 'status', status: 503 }) =>
      faults.addRule({ endpoint, times, fault }),
    clearFaults: () => faults.clear(),
    faults: () => faults.snapshot(),
    issueAccessToken: (companyId, opts = {}) => {
      company(companyId);
      const now = state.now();
      return tokens.issue({
        companyId,
        clientId: undefined,
        scope: opts.scope ?? 'export-jobs:read export-jobs:write export-items:read',
        issuedAt: now,
        expiresAt: now + (opts.ttlMs ?? core.options.accessTokenTtlMs),
        grantId: undefined,
      });
    },
    addOAuthClient: (client) => oauth.addClient(client),
    webhookDeliveries: () => [...webhooks.attempts],
    flushWebhooks: () => webhooks.flush(),
  };
  return admin;
}

const faultSchema: z.ZodType<Fault> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    status: z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503)]),
    retryAfterSeconds: z.number().int().min(0).optional(),
  }),
  z.object({ kind: z.literal('drop') }),
  z.object({
    kind: z.literal('slow'),
    chunkBytes: z.number().int().min(1).optional(),
    chunkDelayMs: z.number().min(0).optional(),
  }),
  z.object({ kind: z.literal('latency'), ms: z.number().min(0), jitterMs: z.number().min(0).optional() }),
  z.object({ kind: z.literal('ambiguous') }),
]) as z.ZodType<Fault>;
const endpointSchema = z.enum(FAULT_ENDPOINTS);
const ruleSchema: z.ZodType<FaultRule> = z.object({
  endpoint: z.union([endpointSchema, z.array(endpointSchema)]),
  fault: faultSchema,
  times: z.number().int().min(0).optional(),
  probability: z.number().min(0).max(1).optional(),
}) as z.ZodType<FaultRule>;
const faultConfigSchema: z.ZodType<FaultConfig> = z.object({
  latencyMs: z.number().min(0).optional(),
  latencyJitterMs: z.number().min(0).optional(),
  faultRate: z.number().min(0).max(1).optional(),
  faultMix: z.array(faultSchema).optional(),
  rules: z.array(ruleSchema).optional(),
}) as z.ZodType<FaultConfig>;
const companySchema = z.object({
  name: z.string().optional(),
  hasContraAccounts: z.boolean().optional(),
  walletCurrency: z.enum(Object.keys(MINOR_UNITS) as [string, ...string[]]).optional(),
});
const jobSchema = z.object({
  itemCount: z.number().int().min(0).max(100_000_000).optional(),
  accountingEntryIds: z.array(z.string()).optional(),
  vendorBasedBookkeeping: z.boolean().optional(),
  isInteractive: z.boolean().optional(),
  createdBy: z.string().nullable().optional(),
  /** Passed to the generator, which validates it (RangeError → 400). */
  profile: z.record(z.string(), z.unknown()).optional(),
});
const oauthClientSchema = z.object({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  redirectUris: z.array(z.string().min(1)).min(1),
  companyId: z.string().optional(),
});

function include(ctx: RequestContext): IncludeItems {
  const v = ctx.query.get('items');
  return v === 'true' ? true : v === 'false' ? false : 'auto';
}

/** Strips `undefined` values (zod output vs. exactOptionalPropertyTypes). */
function defined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** The `/_admin/` routes. */
export function adminRoutes(admin: SimulatorAdmin): Route[] {
  const route = (method: Route['method'], path: string, handler: Route['handler']): Route => ({
    method,
    path: `/_admin${path}`,
    operation: 'admin',
    auth: 'none',
    write: method !== 'GET',
    handler,
  });
  const ok = (json: unknown, status = 200): { status: number; json: unknown } => ({ status, json });
  const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`);
  return [
    route('GET', '/state', (ctx) => ok(admin.state({ items: include(ctx) }))),
    route('GET', '/requests', () => ok(admin.requestLog())),
    route('POST', '/companies', (ctx) =>
      ok(admin.createCompany(defined(parseBody(companySchema, jsonBody(ctx), 'company'))), 201),
    ),
    route('PATCH', '/companies/:id', (ctx) =>
      ok(admin.updateCompany(ctx.params.id!, defined(parseBody(companySchema, jsonBody(ctx), 'company')))),
    ),
    route('POST', '/companies/:id/jobs', (ctx) => {
      const body = defined(parseBody(jobSchema, jsonBody(ctx), 'job'));
      const { profile, ...rest } = body;
      const input: CreateJobInput = { ...rest };
      if (profile) input.profile = profile;
      return ok(admin.createJob(ctx.params.id!, input), 201);
    }),
    route('GET', '/jobs/:id', (ctx) => {
      const snap = admin.job(ctx.params.id!, { items: include(ctx) });
      if (!snap) throw notFound('Job');
      return ok(snap);
    }),
    route('GET', '/jobs/:id/items/:entryId', (ctx) => {
      const snap = admin.item(ctx.params.id!, ctx.params.entryId!);
      if (!snap) throw notFound('Item');
      return ok(snap);
    }),
    route('GET', '/clock', () => ok({ now: iso(admin.now()), nowMs: admin.now() })),
    route('POST', '/clock/advance', (ctx) => {
      const { ms } = parseBody(z.object({ ms: z.number().min(0) }), jsonBody(ctx), 'advance');
      const now = admin.advanceClock(ms);
      return ok({ now: iso(now), nowMs: now });
    }),
    route('GET', '/faults', () => ok(admin.faults())),
    route('PUT', '/faults', (ctx) => {
      admin.setFaults(parseBody(faultConfigSchema, jsonBody(ctx), 'fault configuration'));
      return ok(admin.faults());
    }),
    route('POST', '/faults/rules', (ctx) => {
      admin.addFaultRule(parseBody(ruleSchema, jsonBody(ctx), 'fault rule'));
      return ok(admin.faults(), 201);
    }),
    route('DELETE', '/faults', () => {
      admin.clearFaults();
      return ok(admin.faults());
    }),
    route('POST', '/tokens', (ctx) => {
      const body = parseBody(
        z.object({
          companyId: z.string(),
          ttlMs: z.number().int().min(1).optional(),
          scope: z.string().optional(),
        }),
        jsonBody(ctx),
        'token request',
      );
      return ok(
        {
          accessToken: admin.issueAccessToken(
            body.companyId,
            defined({ ttlMs: body.ttlMs, scope: body.scope }),
          ),
        },
        201,
      );
    }),
    route('POST', '/oauth/clients', (ctx) => {
      admin.addOAuthClient(defined(parseBody(oauthClientSchema, jsonBody(ctx), 'OAuth client')));
      return ok({ ok: true }, 201);
    }),
    route('GET', '/webhooks', () => ok(admin.webhookDeliveries())),
    route('POST', '/webhooks/flush', async () => {
      await admin.flushWebhooks();
      return ok(admin.webhookDeliveries());
    }),
  ];
}
