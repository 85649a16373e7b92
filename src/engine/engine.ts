/**
 * The engine for one company: detect eligible jobs, then run them one at a time, oldest first.
 *
 * Detection is read-only (`GET /v3/export-jobs?company_id=…&statuses=pending&statuses=in_progress`);
 * webhooks and the scheduler only trigger it. Jobs are sorted client-side by `createdAt`, then `id`
 * (Pleo does not document its sort keys: docs/decisions.md#w13). Local jobs not done but no longer eligible
 * at Pleo (expired or finished elsewhere while we were down) are settled from `GET /v3/export-jobs/{id}`.
 */
import { isFinalJobStatus, type ExportJob } from '../client/index.js';
import { describeError, isNotFoundError } from '../errors/index.js';
import type { JobRecord } from '../store/index.js';
import { compileEngineOptions, type CompiledEngine } from './compile.js';
import { runJob } from './job-run.js';
import type { EngineOptions, JobResult } from './types.js';

export interface Engine {
  readonly companyId: string;
  /** Detects and runs every eligible job of the company, oldest first, one at a time. */
  runOnce(signal?: AbortSignal): Promise<JobResult[]>;
  /** Runs one job by id (it must belong to the company). */
  runJobById(jobId: string, signal?: AbortSignal): Promise<JobResult>;
  /** Eligible jobs at Pleo, oldest first, without touching them. */
  detect(signal?: AbortSignal): Promise<ExportJob[]>;
}

export function createEngine(options: EngineOptions): Engine {
  const ctx = compileEngineOptions(options);
  return {
    companyId: ctx.client.companyId,
    detect: (signal) => detect(ctx, signal),
    async runOnce(signal) {
      const results: JobResult[] = [];
      await settleStale(ctx, signal);
      // Re-detect after each job: a job created while we worked is picked up in order.
      const seen = new Set<string>();
      for (;;) {
        if (signal?.aborted === true) break;
        const next = (await detect(ctx, signal)).find((job) => !seen.has(job.id));
        if (!next) break;
        seen.add(next.id);
        ctx.emit({
          kind: 'job_discovered',
          jobId: next.id,
          status: next.status,
          numberOfItems: next.numberOfItems,
        });
        const outcome = await runJob(ctx, next, signal);
        results.push(outcome);
        // Interrupted, or a transient fault outlasted its retries: later jobs wait for the next run.
        if (outcome.disposition === 'interrupted' || outcome.disposition === 'deferred') break;
      }
      return results;
    },
    async runJobById(jobId, signal) {
      const job = await ctx.client.getJob(jobId, signal ? { signal } : {});
      if (job.companyId !== ctx.client.companyId) {
        throw new Error(`job ${jobId} belongs to company ${job.companyId}, not ${ctx.client.companyId}`);
      }
      return runJob(ctx, job, signal);
    },
  };
}

async function detect(ctx: CompiledEngine, signal?: AbortSignal): Promise<ExportJob[]> {
  const jobs: ExportJob[] = [];
  for await (const page of ctx.client.listJobs(
    { statuses: ['pending', 'in_progress'] },
    { pageSize: ctx.pageSize, ...(signal ? { signal } : {}) },
  )) {
    for (const job of page.data) {
      if (job.companyId === ctx.client.companyId && !isFinalJobStatus(job.status)) jobs.push(job);
    }
  }
  return jobs.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Local jobs left unfinished by an earlier run whose Pleo job is final now: record how they ended.
 * One job Pleo no longer knows (404) is settled locally as gone; one that cannot be read now (a
 * transient fault) is left for the next run. Neither blocks the company's other jobs.
 */
async function settleStale(ctx: CompiledEngine, signal?: AbortSignal): Promise<void> {
  const open = await ctx.store.listJobs({
    companyId: ctx.client.companyId,
    phases: ['discovered', 'claiming', 'claimed', 'items_listed', 'planned', 'completing'],
  });
  const aborted = (): boolean => signal?.aborted === true;
  for (const local of open) {
    if (aborted()) return;
    try {
      const job = await ctx.client.getJob(local.jobId, signal ? { signal } : {});
      if (isFinalJobStatus(job.status)) await runJob(ctx, job, signal);
    } catch (error) {
      if (aborted()) throw error;
      if (isNotFoundError(error)) {
        await settleGone(ctx, local);
        continue;
      }
      ctx.logger.warn(
        { jobId: local.jobId, err: describeError(error) },
        'an unfinished local job could not be checked at Pleo; the next run tries again',
      );
    }
  }
}

/** Pleo answers 404 for a job we hold: nothing more can be done for it; record that, once. */
async function settleGone(ctx: CompiledEngine, local: JobRecord): Promise<void> {
  const fence = await ctx.store.acquireJob(local, ctx.owner);
  ctx.emit({ kind: 'lease_acquired', jobId: local.jobId, owner: ctx.owner, previousOwner: local.leaseOwner });
  await ctx.store.updateJob(fence, {
    phase: 'done',
    pleoStatus: 'failed',
    failureReasonType: null,
    failureReason: 'The export job no longer exists at Pleo (HTTP 404): nothing more was done for it.',
    completedAt: new Date(ctx.now()).toISOString(),
  });
  ctx.logger.warn(
    { jobId: local.jobId },
    'an unfinished local job no longer exists at Pleo: settled locally',
  );
}
