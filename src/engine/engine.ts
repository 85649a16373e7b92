/**
 * The engine for one company: detect eligible jobs, then run them one at a time, oldest first.
 *
 * Detection is read-only (`GET /v3/export-jobs?company_id=…&statuses=pending&statuses=in_progress`);
 * webhooks and the scheduler only trigger it. Jobs are sorted client-side by `createdAt`, then `id`
 * (Pleo does not document its sort keys, §3.2). Local jobs that are not done but no longer eligible
 * at Pleo (expired or finished elsewhere while we were down) are settled from `GET /v3/export-jobs/{id}`.
 */
import { isFinalJobStatus, type ExportJob } from '../client/index.js';
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
        if (outcome.disposition === 'interrupted') break;
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

/** Local jobs left unfinished by an earlier run whose Pleo job is final now: record how they ended. */
async function settleStale(ctx: CompiledEngine, signal?: AbortSignal): Promise<void> {
  const open = await ctx.store.listJobs({
    companyId: ctx.client.companyId,
    phases: ['discovered', 'claiming', 'claimed', 'items_listed', 'planned', 'completing'],
  });
  for (const local of open) {
    const job = await ctx.client.getJob(local.jobId, signal ? { signal } : {});
    if (isFinalJobStatus(job.status)) await runJob(ctx, job, signal);
  }
}
