/**
 * One poll of one company: its runtime (client, adapter, engine; built on first use and kept, so
 * an OAuth token provider and the client's rate limiter live as long as the daemon), then
 * `engine.runOnce(signal)`, with logs and metrics taken from the engine's events.
 *
 * A poll never throws: a failure is logged and counted, and the company is polled again at its
 * next timer or trigger (a runtime that could not be built — e.g. OAuth not connected yet — is
 * retried then too).
 */
import type { CompiledCompany } from '../config/index.js';
import type { EngineEvent, EngineLogger, JobResult } from '../engine/index.js';
import { describeError, isExportError } from '../errors/index.js';
import type { CompanyRuntime, RuntimeHooks } from '../runtime/index.js';
import type { JobOutcome, PollTrigger, ServerMetrics } from './metrics.js';

export type PollOutcome = 'ok' | 'error' | 'interrupted';

export type CreateRuntime = (company: CompiledCompany, hooks: RuntimeHooks) => Promise<CompanyRuntime>;

export interface RunnerOptions {
  companies: readonly CompiledCompany[];
  createRuntime: CreateRuntime;
  metrics: ServerMetrics;
  logger: EngineLogger;
  now: () => number;
  fetch?: RuntimeHooks['fetch'];
}

export interface Runner {
  /** Never throws; says how the poll ended. */
  poll(companyId: string, trigger: PollTrigger, signal: AbortSignal): Promise<PollOutcome>;
  /** Jobs being processed now, across companies. */
  runningJobs(): number;
  /** Closes every runtime built so far (after the last poll returned). */
  close(): Promise<void>;
}

interface Current {
  jobId: string;
  startedAt: number;
}

export function createRunner(options: RunnerOptions): Runner {
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
        const outcome = signal.aborted ? 'interrupted' : 'ok';
        metrics.pollFinished(trigger, outcome);
        return outcome;
      } catch (error) {
        // An abort on shutdown surfaces as ABORTED from whichever call was in flight: expected.
        const interrupted = signal.aborted && (!isExportError(error) || error.code === 'ABORTED');
        const job = current.get(companyId);
        if (job) finishJob(companyId, job.jobId, interrupted ? 'interrupted' : 'error');
        metrics.pollFinished(trigger, interrupted ? 'interrupted' : 'error');
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
