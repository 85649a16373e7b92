/**
 * The two listing steps of a run, before anything is booked:
 *
 * - the **control layer** (`GET /v3/export-jobs/{id}/items`): every page before any processing,
 *   each page and its cursor in one transaction; a resumed run re-lists once to reconcile;
 * - the **data layer** (`GET /v3/export-items?job_id=`): every page joined on `accountingEntryId`,
 *   receipts downloaded before the page is committed (their URLs expire 24 h after the fetch); the
 *   last page plans the job (the deterministic order) in the same transaction.
 *
 * The two are read side by side (issue 20): the first data pages are read while the control layer
 * is listed ({@link EARLY_EXPORT_PAGES}), and committed, in order, once it is. Nothing of the data
 * layer is stored before the listing is complete, so a crash leaves the same states as before.
 */
import type { ExportItem, ExportJob, Page } from '../client/index.js';
import { ExportError, PaginationError } from '../errors/index.js';
import { phaseReached, type Fence, type FetchedItem, type JobRecord } from '../store/index.js';
import { downloadAttachments, receiptFolder, type ReceiptFolder } from './attachments.js';
import type { CompiledEngine } from './compile.js';
import { isJobFinalError, normaliseDate, type Fatal } from './outcomes.js';
import { ReadAhead } from './read-ahead.js';
import { Semaphore } from './semaphore.js';

/** What the listing steps need of a run. */
export interface RunContext {
  readonly ctx: CompiledEngine;
  readonly job: ExportJob;
  readonly fence: Fence;
  /** An earlier run acquired the job: re-list its items once to reconcile. */
  readonly resumed: boolean;
  readonly signal: AbortSignal | undefined;
  opts(): { signal?: AbortSignal };
  /** Pleo refused a write or read because the job is final: find out why and end the run. */
  jobEnded(): Promise<never>;
  /**
   * Called at every page boundary while nothing else is written to Pleo: when Pleo has not heard
   * from us for `keepAliveMs`, marks `openItem` (or the last one given) `in_progress` there.
   */
  keepAlive(openItem: string | undefined): Promise<void>;
}

/**
 * Items a listing may return beyond the job's `numberOfItems` before it is taken for a listing
 * that never ends (fresh cursors, new items on every page): 1 % and at least 100.
 */
export function listingBound(numberOfItems: number): number {
  return numberOfItems + Math.max(100, Math.ceil(numberOfItems / 100));
}

function overflow(run: RunContext, what: string, count: number): ExportError {
  return new PaginationError(
    `${what} of job ${run.job.id} returned ${count} items, more than the job's ${run.job.numberOfItems} ` +
      `(at most ${listingBound(run.job.numberOfItems)} accepted): the listing does not end. Nothing was booked ` +
      'from it; the next run tries again, and Pleo support should be told if it persists.',
    { code: 'LISTING_OVERFLOW', retryable: false },
  );
}

/**
 * Pages of export items read while the job's items are still being listed: the data layer's pages
 * are committed only once the listing is (an export item whose entry is not listed yet would be
 * dropped as unknown), but reading them needs nothing from it. Both listings then take one round
 * trip per page side by side instead of one after the other, and the data layer starts with these
 * pages in hand. About a thousand items (a few MB of export data) are held at most; a longer
 * job's reading waits there until its listing is committed.
 */
export const EARLY_EXPORT_PAGES = 10;

interface ExportReading {
  /** The data cursor the reading started after. */
  after: string | null;
  pages: ReadAhead<Page<ExportItem>>;
  limit: DownloadLimits;
  /**
   * Receipts of each page's items, downloaded as the page arrived while the job's items were being
   * listed (which items are wanted is known only once the listing is committed; one that is not is
   * downloaded for nothing, and kept under its deterministic name). Null when read after the listing.
   */
  started: WeakMap<Page<ExportItem>, Promise<FetchedItem[]>> | null;
  /** Every download started early, to wait for when the reading is given up. */
  downloads: Promise<unknown>[];
}

/** Stops a reading: no more pages, and every receipt download it started has ended. */
async function giveUp(reading: ExportReading | null | undefined): Promise<void> {
  if (!reading) return;
  await reading.pages.return();
  await Promise.allSettled(reading.downloads);
}

function downloadLimits(run: RunContext): DownloadLimits {
  const dir = run.ctx.attachmentsDir;
  return {
    count: new Semaphore(run.ctx.downloadConcurrency),
    bytes: new Semaphore(DOWNLOAD_BYTES_IN_FLIGHT),
    // One folder per job: created once for all its receipts (issue 20).
    folder: dir === null ? null : receiptFolder(`${dir}/${run.job.companyId}`),
  };
}

/** Export items read by `listJobItems` for `fetchExportData`, by run. */
const earlyReadings = new WeakMap<RunContext, ExportReading>();

/**
 * A listing read `depth` pages ahead of its consumer. Stopping early (an error, the overflow
 * guard) aborts the requests in flight rather than waiting for pages nobody will read.
 */
function readPages<T>(
  run: RunContext,
  list: (signal: AbortSignal) => AsyncIterable<Page<T>>,
  depth = 1,
): ReadAhead<Page<T>> {
  const stop = new AbortController();
  const signal = run.signal === undefined ? stop.signal : AbortSignal.any([run.signal, stop.signal]);
  return new ReadAhead(list(signal), depth, () => stop.abort());
}

/**
 * Reads the data layer after `after`, up to `depth` pages ahead. The keep-alive is checked as each
 * page arrives, not only as pages are committed: while receipts download, commits trail the reads
 * by the pages read ahead, and Pleo must still hear from us within `keepAliveMs`.
 */
function readExportItems(
  run: RunContext,
  after: string | null,
  depth: number,
  early: boolean,
  limit: DownloadLimits = downloadLimits(run),
): ExportReading {
  const started: ExportReading['started'] = early ? new WeakMap() : null;
  const downloads: Promise<unknown>[] = [];
  const pages = readPages(
    run,
    (signal) =>
      arriving(
        run,
        { limit, started, downloads },
        run.ctx.client.listExportItems(run.job.id, {
          pageSize: run.ctx.pageSize,
          ...(after === null ? {} : { after }),
          signal,
        }),
      ),
    depth,
  );
  return { after, pages, limit, started, downloads };
}

/** What is done with each page as it arrives: the keep-alive, and (early) its receipts started. */
async function* arriving(
  run: RunContext,
  reading: Pick<ExportReading, 'limit' | 'started' | 'downloads'>,
  pages: AsyncIterable<Page<ExportItem>>,
): AsyncGenerator<Page<ExportItem>, void, undefined> {
  for await (const page of pages) {
    await run.keepAlive(undefined); // the item named by the listing (none yet: nothing to do)
    if (reading.started !== null) {
      const items = downloadAll(run, page.data, reading.limit);
      items.catch(() => undefined); // surfaces where the page is committed
      reading.started.set(page, items);
      reading.downloads.push(items);
    }
    yield page;
  }
}

/**
 * Control layer: every page before any processing; each page and its cursor in one transaction.
 * Meanwhile the data layer is read ahead ({@link EARLY_EXPORT_PAGES}), for `fetchExportData`; when
 * the listing fails, that reading is stopped before the error leaves.
 */
export async function listJobItems(run: RunContext, record: JobRecord): Promise<void> {
  let after: string | null;
  if (!phaseReached(record.phase, 'items_listed')) after = record.listCursor;
  else if (run.resumed)
    after = null; // one re-listing to reconcile with Pleo
  else return;
  let listed = 0;
  let complete = false;
  // Items stored by an earlier run of an interrupted listing count towards the bound too.
  const before = after === null ? 0 : (await run.ctx.store.counts(run.fence)).total;
  const bound = listingBound(run.job.numberOfItems);
  let early: ExportReading | null = null;
  if (!phaseReached(record.phase, 'planned')) {
    try {
      early = readExportItems(run, record.dataCursor, EARLY_EXPORT_PAGES, true);
    } catch {
      early = null; // refused before anything was sent: fetchExportData asks again, and reports it
    }
  }
  try {
    for await (const page of readPages(run, (signal) =>
      run.ctx.client.listJobItems(
        run.job.id,
        {},
        { pageSize: run.ctx.pageSize, ...(after === null ? {} : { after }), signal },
      ),
    )) {
      if (before + listed + page.data.length > bound)
        throw overflow(run, 'The listing of job items', before + listed + page.data.length);
      complete = !page.pagination.hasNextPage;
      after = page.pagination.endCursor ?? after;
      const saved = await run.ctx.store.saveListedPage(run.fence, {
        items: page.data.map((item) => ({
          accountingEntryId: item.accountingEntryId,
          status: item.status,
          externalId: item.externalId ?? null,
          externalUrl: item.externalUrl ?? null,
          exportedAt: item.exportedAt ?? null,
          failureReason: item.failureReason ?? null,
          failureReasonType: item.failureReasonType ?? null,
        })),
        cursor: after,
        complete,
      });
      run.ctx.step('listed_page');
      listed += page.data.length;
      if (saved.reconciled > 0)
        run.ctx.logger.info({ jobId: run.job.id, reconciled: saved.reconciled }, 'reconciled with Pleo');
      run.ctx.emit({ kind: 'items_listed', jobId: run.job.id, listed, total: run.job.numberOfItems });
      await run.keepAlive(
        page.data.find((item) => item.status === 'pending' || item.status === 'in_progress')
          ?.accountingEntryId,
      );
    }
    if (!complete) {
      await run.ctx.store.saveListedPage(run.fence, { items: [], cursor: after, complete: true });
    }
  } catch (error) {
    // Nothing read ahead may go on running once the run leaves this step.
    await giveUp(early); // and no receipt started early goes on either
    if (isJobFinalError(error)) await run.jobEnded();
    throw error;
  }
  if (early !== null) earlyReadings.set(run, early);
}

/**
 * Data layer: every page, receipts downloaded before the page is committed; the last page plans.
 * Pages are committed one by one, in order, but overlap on the wire: the next page is read ahead
 * while this one's receipts download, and its receipts start while this one's last ones finish
 * (one download pool per job), so the pool never drains at a page boundary.
 */
export async function fetchExportData(run: RunContext, record: JobRecord): Promise<Fatal | null> {
  const early = earlyReadings.get(run);
  earlyReadings.delete(run);
  // Read ahead by the listing (usually), unless it started elsewhere than where the data layer resumes.
  const reading = early !== undefined && early.after === record.dataCursor ? early : undefined;
  if (reading === undefined) await giveUp(early);
  if (phaseReached(record.phase, 'planned')) {
    await giveUp(reading);
    return null;
  }
  let after = record.dataCursor;
  let fetched = 0;
  let complete = false;
  const limit = reading?.limit ?? downloadLimits(run);
  const downloading: { items: Promise<FetchedItem[]>; cursor: string | null; complete: boolean }[] = [];
  const commitOldest = async (): Promise<void> => {
    const page = downloading.shift();
    if (page === undefined) return;
    const items = await page.items;
    await run.ctx.store.saveFetchedPage(run.fence, {
      items,
      cursor: page.cursor,
      complete: page.complete,
    });
    run.ctx.step('fetched_page');
    fetched += items.length;
    run.ctx.emit({ kind: 'items_fetched', jobId: run.job.id, fetched, total: run.job.numberOfItems });
    await run.keepAlive(items[0]?.accountingEntryId);
  };
  const bound = listingBound(run.job.numberOfItems);
  let read = 0;
  try {
    for await (const page of (reading ?? readExportItems(run, after, 1, false, limit)).pages) {
      read += page.data.length;
      if (read > bound) throw overflow(run, 'The export items', read);
      complete = !page.pagination.hasNextPage;
      after = page.pagination.endCursor ?? after;
      const wanted = await run.ctx.store.entriesAwaitingData(
        run.fence,
        page.data.map((item) => item.accountingEntryId),
      );
      const early = reading?.started?.get(page);
      const items =
        early === undefined
          ? downloadAll(
              run,
              page.data.filter((item) => wanted.has(item.accountingEntryId)),
              limit,
            )
          : early.then((all) => all.filter((item) => wanted.has(item.accountingEntryId)));
      items.catch(() => undefined); // surfaces in commitOldest
      downloading.push({ items, cursor: after, complete });
      if (downloading.length > 1) await commitOldest();
    }
    while (downloading.length > 0) await commitOldest();
  } catch (error) {
    // Nothing may go on writing receipts once the run leaves this step.
    await Promise.allSettled(downloading.map((page) => page.items));
    await giveUp(reading);
    if (error instanceof ExportError && error.code === 'MISSING_CONTRA_ACCOUNTS') {
      return {
        failureReasonType: 'missing_configuration',
        failureReason:
          'Contra accounts are missing in Pleo for the currencies of this export. Set them in Pleo (Settings → Accounting), then export again.',
      };
    }
    if (isJobFinalError(error)) await run.jobEnded();
    throw error;
  }
  if (!complete) await run.ctx.store.saveFetchedPage(run.fence, { items: [], cursor: after, complete: true });
  const counts = await run.ctx.store.counts(run.fence);
  run.ctx.emit({
    kind: 'job_planned',
    jobId: run.job.id,
    toProcess: counts.byState.planned + counts.byState.booking,
  });
  return null;
}

/**
 * Bytes of receipts held in memory at once by one job's downloads (each file is read whole before
 * it is written): `engine.downloadConcurrency` downloads of typical receipts fit many times over,
 * while a run of 30 MB files (the default `attachments.maxBytes`) goes a few at a time.
 */
export const DOWNLOAD_BYTES_IN_FLIGHT = 128 * 1024 * 1024;

interface DownloadLimits {
  count: Semaphore;
  bytes: Semaphore;
  /** The company's receipts folder, or null when receipts are not downloaded. */
  folder: ReceiptFolder | null;
}

async function downloadAll(
  run: RunContext,
  items: readonly ExportItem[],
  limit: DownloadLimits,
): Promise<FetchedItem[]> {
  const out: FetchedItem[] = new Array<FetchedItem>(items.length);
  await Promise.all(
    items.map(async (item, index) => {
      // An item's files download one after another: its largest file is what it holds at once.
      const largest = Math.max(0, ...(item.files ?? []).map((f) => f?.size ?? 0));
      await limit.count.acquire();
      await limit.bytes.acquire(largest);
      try {
        const downloaded =
          limit.folder === null
            ? { attachments: [], prefailure: null, tolerated: [] }
            : await downloadAttachments(
                run.ctx.client,
                item,
                limit.folder,
                run.ctx.receiptPolicy,
                run.signal,
                run.ctx.logger,
              );
        if (downloaded.tolerated.length > 0) {
          run.ctx.logger.warn(
            {
              jobId: run.job.id,
              accountingEntryId: item.accountingEntryId,
              problems: downloaded.tolerated,
            },
            'receipts not attached (receipts are optional in the configuration)',
          );
        }
        out[index] = {
          accountingEntryId: item.accountingEntryId,
          date: normaliseDate(item.date),
          payload: item,
          attachments: downloaded.attachments,
          prefailure: downloaded.prefailure,
        };
      } finally {
        limit.bytes.release(largest);
        limit.count.release();
      }
    }),
  );
  return out;
}
