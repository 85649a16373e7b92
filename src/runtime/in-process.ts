/**
 * The in-process way of running: a company's jobs run in this process, against the store it was
 * given (SQLite in the embedded mode).
 *
 * - {@link createInProcessPoller}: the daemon's {@link CompanyPoller}. One poll of one company builds
 *   its runtime (client, adapter, engine) on first use and keeps it, so an OAuth token provider and
 *   the client's rate limiter live as long as the daemon, then runs `engine.runOnce(signal)`, with
 *   logs and metrics taken from the engine's events. A poll never throws: a failure is logged and
 *   counted, and the company is polled again at its next timer or trigger (a runtime that could not
 *   be built — e.g. OAuth not connected yet — is retried then too).
 * - {@link runCompaniesOnce}: `run --once` (and the demo): every configured company once, through
 *   the same {@link createCompanyPool} as the daemon, without timers.
 * - {@link previewPendingJobs}: `run --dry-run`: every pending job mapped, nothing written.
 */
import { mapExportItem } from '../accounting/index.js';
import type { RequestEvent } from '../client/index.js';
import type { CompiledCompany, CompiledConfig } from '../config/index.js';
import {
  previewJob,
  type EngineEvent,
  type EngineLogger,
  type JobResult,
  type PreviewResult,
} from '../engine/index.js';
import { describeError, isExportError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { createCompanyPool, type CompanyPoller } from './company-pool.js';
import { createClient, createCompanyRuntime, type CompanyRuntime, type RuntimeHooks } from './wiring.js';

/** How one run of one export job ended, as the daemon's metrics and logs name it. */
export type JobOutcome =
  | 'completed'
  | 'completed_with_errors'
  | 'failed'
  | 'skipped'
  | 'already_final'
  | 'expired'
  | 'interrupted'
  | 'deferred'
  | 'error';

/** Builds a company's client, adapter and engine with the given hooks (tests inject their own). */
export type CreateRuntime = (company: CompiledCompany, hooks: RuntimeHooks) => Promise<CompanyRuntime>;

/** What the in-process poller reports (the daemon's metrics implement it). */
export interface RunMetrics {
  /** `seconds` is null when the run's start was not seen (a stale job settled at startup). */
  jobFinished(outcome: JobOutcome, seconds: number | null): void;
  itemRecorded(outcome: 'booked' | 'failed', failureType: string | null): void;
  pleoRequest(event: RequestEvent): void;
}

export interface InProcessPollerOptions {
  companies: readonly CompiledCompany[];
  createRuntime: CreateRuntime;
  metrics: RunMetrics;
  logger: EngineLogger;
  now: () => number;
  fetch?: RuntimeHooks['fetch'];
}

interface Current {
  jobId: string;
  startedAt: number;
}

export function createInProcessPoller(options: InProcessPollerOptions): CompanyPoller {
  const { metrics, logger, now } = options;
  const companies = new Map(options.companies.map((c) => [c.id, c]));
  const runtimes = new Map<string, CompanyRuntime>();
  const current = new Map<string, Current>();
  // Jobs already counted in this poll (from `job_completed`), so the poll's results don't count them twice.
  const counted = new Map<string, Set<string>>();

  const finishJob = (companyId: string, jobId: string, outcome: JobOutcome): void => {
    const set = counted.get(companyId);
    if (set?.has(jobId) === true) return;
    set?.add(jobId);
    const job = current.get(companyId);
    const seconds = job?.jobId === jobId ? (now() - job.startedAt) / 1000 : null;
    if (job?.jobId === jobId) current.delete(companyId);
    metrics.jobFinished(outcome, seconds);
    logger.info({ companyId, jobId, outcome, ...(seconds === null ? {} : { seconds }) }, 'job run ended');
  };

  const onEvent = (companyId: string, event: EngineEvent): void => {
    switch (event.kind) {
      case 'job_discovered':
        current.set(companyId, { jobId: event.jobId, startedAt: now() });
        logger.info({ companyId, jobId: event.jobId, items: event.numberOfItems }, 'job discovered');
        break;
      case 'item_recorded':
        metrics.itemRecorded(event.outcome, event.failureReasonType);
        break;
      case 'job_completed':
        finishJob(companyId, event.jobId, outcomeOf(event.result));
        break;
      default:
        break;
    }
  };

  const hooks: RuntimeHooks = {
    logger,
    onEvent,
    onRequest: (_companyId, event) => metrics.pleoRequest(event),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };

  const runtime = async (company: CompiledCompany): Promise<CompanyRuntime> => {
    const existing = runtimes.get(company.id);
    if (existing) return existing;
    const created = await options.createRuntime(company, hooks);
    runtimes.set(company.id, created);
    return created;
  };

  return {
    async poll(companyId, trigger, signal) {
      const company = companies.get(companyId);
      if (!company) throw new Error(`unknown company ${companyId}`);
      counted.set(companyId, new Set());
      logger.debug({ companyId, trigger }, 'poll');
      try {
        const { engine } = await runtime(company);
        const results = await engine.runOnce(signal);
        for (const result of results) finishJob(companyId, result.jobId, outcomeOf(result));
        return signal.aborted ? 'interrupted' : 'ok';
      } catch (error) {
        // An abort on shutdown surfaces as ABORTED from whichever call was in flight: expected.
        const interrupted = signal.aborted && (!isExportError(error) || error.code === 'ABORTED');
        const job = current.get(companyId);
        if (job) finishJob(companyId, job.jobId, interrupted ? 'interrupted' : 'error');
        if (interrupted)
          logger.info({ companyId }, 'poll interrupted by shutdown; the job resumes at the next start');
        else logger.error({ companyId, trigger, error: describeError(error) }, 'poll failed');
        return interrupted ? 'interrupted' : 'error';
      } finally {
        current.delete(companyId);
        counted.delete(companyId);
      }
    },
    runningJobs: () => current.size,
    async close() {
      const all = [...runtimes.values()];
      runtimes.clear();
      const closed = await Promise.allSettled(all.map((r) => r.close()));
      for (const c of closed) {
        if (c.status === 'rejected')
          logger.warn({ error: describeError(c.reason) }, 'closing a company runtime failed');
      }
    },
  };
}

function outcomeOf(result: JobResult): JobOutcome {
  if (result.disposition !== 'completed') return result.disposition;
  const event = result.event;
  return event === 'completed_with_errors' || event === 'failed' ? event : 'completed';
}

export interface RunOnceOptions {
  /** Aborting it stops taking companies; running ones finish or checkpoint their in-flight items. */
  signal?: AbortSignal;
  logger?: EngineLogger;
  /** Every engine event of every company (progress output). */
  onEvent?: (companyId: string, event: EngineEvent) => void;
  /** The engines' waits between retries (tests pass one that returns at once). @default a real timer */
  sleep?: RuntimeHooks['sleep'];
  /** @default the wiring's `createCompanyRuntime` over `config` and `store` */
  createRuntime?: CreateRuntime;
}

/**
 * Runs every configured company once — its eligible jobs, oldest first — with companies in parallel
 * up to `server.maxConcurrentCompanies`, and returns the jobs' results in the order they ended.
 * Each company's runtime is built for the run and closed after it. A company whose run throws stops
 * the others from starting (running ones finish); the first such error is thrown once they did.
 *
 * @example
 * const results = await runCompaniesOnce(config, store, { signal: shutdown.signal });
 */
export async function runCompaniesOnce(
  config: CompiledConfig,
  store: Store,
  options: RunOnceOptions = {},
): Promise<JobResult[]> {
  const companies = new Map(config.companies.map((company) => [company.id, company]));
  const createRuntime: CreateRuntime =
    options.createRuntime ?? ((company, hooks) => createCompanyRuntime(config, company, store, hooks));
  const hooks: RuntimeHooks = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  };
  const results: JobResult[] = [];
  const failures: unknown[] = [];
  const external = options.signal;
  const pool = createCompanyPool({
    companyIds: [...companies.keys()],
    maxConcurrent: config.server.maxConcurrentCompanies,
    pollIntervalMs: null,
    poll: async (companyId, _trigger, poolSignal) => {
      const company = companies.get(companyId);
      if (company === undefined || failures.length > 0 || external?.aborted === true) return;
      const signal = external ? AbortSignal.any([external, poolSignal]) : poolSignal;
      try {
        const runtime = await createRuntime(company, hooks);
        try {
          results.push(...(await runtime.engine.runOnce(signal)));
        } finally {
          await runtime.close();
        }
      } catch (error) {
        failures.push(error);
      }
    },
  });
  // Shutdown: companies still waiting for a slot are not started.
  const onAbort = (): void => void pool.stop();
  external?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all([...companies.keys()].map((companyId) => pool.trigger(companyId, 'manual')));
  } finally {
    external?.removeEventListener('abort', onAbort);
  }
  if (failures.length > 0) throw failures[0];
  return results;
}

/**
 * `run --dry-run`: each configured company's pending jobs, in turn, read without being claimed and
 * mapped with the company's configuration (see the engine's `previewJob`); writes nothing to Pleo,
 * the store or the accounting system. Yields each job's preview as it is ready, and a company
 * without pending jobs once with `preview: null`.
 */
export async function* previewPendingJobs(
  config: CompiledConfig,
  store: Store,
): AsyncGenerator<{ company: CompiledCompany; preview: PreviewResult | null }> {
  for (const company of config.companies) {
    const client = await createClient(config, company, store);
    const jobs: string[] = [];
    for await (const page of client.listJobs({ statuses: ['pending'] }))
      jobs.push(...page.data.map((j) => j.id));
    if (jobs.length === 0) yield { company, preview: null };
    for (const jobId of jobs) {
      const preview = await previewJob({
        client,
        jobId,
        store,
        mapItem: (item, ctx) => mapExportItem(item, company.accounting, ctx),
      });
      yield { company, preview };
    }
  }
}
