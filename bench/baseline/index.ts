/**
 * The peer: the example pseudo-code of Pleo's docs (docs/decisions.md#baseline), written faithfully, as a
 * competent developer would in a day. Everything is held in memory; there is no local state.
 *
 *   1. find jobs (pending or in_progress); none → exit
 *   2. take the oldest; send `started` (a recovery run resumes an in_progress job without it)
 *   3. pre-export validation through the accounting adapter; failure → `failed` event
 *   4. control layer: read every page of job items; keep those pending or in_progress
 *   5. data layer: read every page of export items
 *   6. per item, sequentially: map (routes by bookkeeping method) and create the entry in the
 *      accounting system; capture success or failure and the AS message
 *   7. report: chunk(results, 100), one PUT per chunk
 *   8. close: completed / completed_with_errors / failed
 *
 * It uses the same accounting adapter and the same mapping as the engine, so the comparison is
 * about the workflow. Differences that follow from the pseudo-code: receipts are neither
 * downloaded nor attached (the pseudo-code never mentions them), nothing is reported before the
 * end, a crash loses everything done so far, and it processes one job per loop, as step 2 says.
 */
import type { MappingResult } from '../../src/accounting/index.js';
import type { AccountingAdapter } from '../../src/adapters/index.js';
import type { ExportItem, ExportJob, ItemUpdate } from '../../src/client/index.js';
import { PleoApi, type PleoApiOptions } from './pleo-api.js';

export interface BaselineOptions extends PleoApiOptions {
  adapter: AccountingAdapter;
  mapItem: (item: ExportItem, ctx: { jobId: string; companyId: string }) => MappingResult;
}

export interface BaselineJobResult {
  jobId: string;
  event: 'completed' | 'completed_with_errors' | 'failed';
  successful: number;
  failed: number;
}

const REPORT_BATCH = 100;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the pseudo-code until no eligible job is left; returns one result per job. */
export async function runBaseline(options: BaselineOptions): Promise<BaselineJobResult[]> {
  const api = new PleoApi(options);
  const results: BaselineJobResult[] = [];
  for (;;) {
    // 1. Find jobs.
    const jobs = (await api.fetchExportJobs()).filter(
      (job) => job.status === 'pending' || job.status === 'in_progress',
    );
    if (jobs.length === 0) return results;
    // 2. Pick the oldest and claim it.
    const job = jobs.reduce((oldest: ExportJob, candidate) =>
      Date.parse(candidate.createdAt) < Date.parse(oldest.createdAt) ? candidate : oldest,
    );
    if (job.status === 'pending') await api.sendEvent({ jobId: job.id, event: 'started' });
    results.push(await processJob(api, options, job));
  }
}

async function processJob(
  api: PleoApi,
  options: BaselineOptions,
  job: ExportJob,
): Promise<BaselineJobResult> {
  const { adapter } = options;
  // 3. Pre-export validation.
  const validation = await adapter.validate({
    companyId: job.companyId,
    vendorBasedBookkeeping: job.vendorBasedBookkeeping,
  });
  if (!validation.ok) {
    await api.sendEvent({
      jobId: job.id,
      event: 'failed',
      failureReason: validation.failureReason,
      failureReasonType: validation.failureReasonType,
    });
    return { jobId: job.id, event: 'failed', successful: 0, failed: 0 };
  }
  // 4. Control layer: all pages, then filter.
  const items = await api.fetchItems(job.id);
  const itemsToProcess = new Set(
    items
      .filter((item) => item.status === 'pending' || item.status === 'in_progress')
      .map((item) => item.accountingEntryId),
  );
  // 5. Data layer: all pages.
  const exportItems = await api.fetchExportItems(job.id);
  // 6. Process each item.
  const updates: ItemUpdate[] = [];
  for (const item of exportItems) {
    if (!itemsToProcess.has(item.accountingEntryId)) continue;
    updates.push(await processItem(options, job, item));
  }
  // 7. Report items, 100 per request.
  for (const batch of chunk(updates, REPORT_BATCH)) await api.updateItems(job.id, batch);
  // 8. Close the job.
  const failed = updates.filter((u) => u.status === 'failed').length;
  const successful = updates.length - failed;
  if (successful === 0 && failed > 0) {
    await api.sendEvent({
      jobId: job.id,
      event: 'failed',
      failureReason: 'None of the entries could be exported.',
      failureReasonType: 'validation_failure',
    });
    return { jobId: job.id, event: 'failed', successful, failed };
  }
  const event = failed === 0 ? 'completed' : 'completed_with_errors';
  await api.sendEvent({ jobId: job.id, event });
  return { jobId: job.id, event, successful, failed };
}

async function processItem(options: BaselineOptions, job: ExportJob, item: ExportItem): Promise<ItemUpdate> {
  const id = item.accountingEntryId;
  try {
    const mapped = options.mapItem(item, { jobId: job.id, companyId: job.companyId });
    if (!mapped.ok) {
      return {
        accountingEntryId: id,
        status: 'failed',
        failureReasonType: mapped.failureReasonType,
        failureReason: mapped.failureReason,
      };
    }
    const result = await options.adapter.record(mapped.entry, {
      companyId: job.companyId,
      idempotencyKey: id,
      attachments: [],
    });
    if (result.status === 'failed') {
      return {
        accountingEntryId: id,
        status: 'failed',
        failureReasonType: result.failureReasonType,
        failureReason: result.failureReason,
      };
    }
    return {
      accountingEntryId: id,
      status: 'successful',
      externalId: result.externalId,
      ...(result.externalUrl === undefined ? {} : { externalUrl: result.externalUrl }),
      exportedAt: result.recordedAt,
    };
  } catch (error) {
    return {
      accountingEntryId: id,
      status: 'failed',
      failureReasonType: 'unexpected_failure',
      failureReason: (error as Error).message,
    };
  }
}
