/**
 * The two listing steps of a run, before anything is booked:
 *
 * - the **control layer** (`GET /v3/export-jobs/{id}/items`): every page before any processing,
 *   each page and its cursor in one transaction; a resumed run re-lists once to reconcile;
 * - the **data layer** (`GET /v3/export-items?job_id=`): every page joined on `accountingEntryId`,
 *   receipts downloaded before the page is committed (their URLs expire 24 h after the fetch); the
 *   last page plans the job (the deterministic order) in the same transaction.
 *
 * The two are read side by side (issue 20): data pages read while the control layer is still being
 * listed are staged in the store (receipts downloaded first), and committed, in order, once the
 * listing is complete. Nothing reaches the item rows before then, so a crash leaves the same item
 * states as before, and a job of any size holds only a few pages in memory.
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
 * Pages of export items read ahead of the one whose receipts are downloading: enough to keep the
 * download pool busy across page boundaries, few enough that a job of any size holds only a few
 * pages in memory (every other page is in the store, committed or staged).
 */
export const EXPORT_READ_AHEAD = 2;

/**
 * One reading of the data layer, from `after` to its last page, and the pump that stores it: a
 * page read while the job's items are still being listed is staged (`Store.stageFetchedPage`,
 * receipts downloaded first); once the listing is complete the staged pages are committed, in
 * order, and the pages after them are committed as they come. Nothing reaches the item rows before
 * the listing is complete, so a crash leaves the same item states as before; a staged page is read
 * back only by the run that staged it (by its fence), and the job's staged pages are deleted when
 * it is planned or done.
 */
interface DataReading {
  /** The data cursor the reading started after. */
  readonly after: string | null;
  /** Every job item is listed and stored: pages are committed, no longer staged. */
  listed: boolean;
  /** The reading was given up: store nothing more. */
  stopped: boolean;
  /** Settles true once the listing is complete, false once the reading is given up. */
  readonly listing: Promise<boolean>;
  settleListing(complete: boolean): void;
  readonly pages: ReadAhead<ArrivedPage>;
  /** Downloads started and not yet ended, to wait for when the reading stops. */
  readonly inFlight: Set<Promise<unknown>>;
  /** The pump: settles once every page is stored (or the reading stopped), rejects on the first failure. */
  done: Promise<void>;
}

interface ArrivedPage {
  page: Page<ExportItem>;
  /** The page's items with their receipts, downloading since the page arrived. */
  items: Promise<FetchedItem[]>;
}

/** Stops a reading: no more pages, nothing more stored, and every download it started has ended. */
async function giveUp(reading: DataReading | null | undefined): Promise<void> {
  if (!reading) return;
  reading.stopped = true;
  reading.settleListing(false);
  await reading.pages.return();
  await reading.done.catch(() => undefined);
  await Promise.allSettled([...reading.inFlight]);
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

/** Data-layer readings started by `listJobItems` for `fetchExportData`, by run. */
const readings = new WeakMap<RunContext, DataReading>();

/**
 * A listing read `depth` pages ahead of its consumer. Stopping early (an error, the overflow
 * guard) aborts the requests in flight rather than waiting for pages nobody will read.
 */
function readPages<T, U = Page<T>>(
  run: RunContext,
  list: (signal: AbortSignal) => AsyncIterable<U>,
  depth = 1,
): ReadAhead<U> {
  const stop = new AbortController();
  const signal = run.signal === undefined ? stop.signal : AbortSignal.any([run.signal, stop.signal]);
  return new ReadAhead(list(signal), depth, () => stop.abort());
}

/**
 * Starts reading the data layer after `after` and storing it. `listed`: the job's items are all
 * stored already (pages are committed as they come); otherwise they are staged until
 * {@link DataReading.settleListing} says the listing is complete.
 */
function startReading(run: RunContext, after: string | null, listed: boolean, known: boolean): DataReading {
  let settle: (complete: boolean) => void = () => undefined;
  const listing = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  const limit = downloadLimits(run);
  const inFlight = new Set<Promise<unknown>>();
  const reading: DataReading = {
    after,
    listed,
    stopped: false,
    listing,
    settleListing: (complete) => {
      if (complete && !reading.stopped) reading.listed = true;
      settle(complete);
    },
    pages: readPages(
      run,
      (signal) =>
        arriving(
          run,
          { limit, inFlight, known: () => known || reading.listed },
          run.ctx.client.listExportItems(run.job.id, {
            pageSize: run.ctx.pageSize,
            ...(after === null ? {} : { after }),
            signal,
          }),
        ),
      EXPORT_READ_AHEAD,
    ),
    inFlight,
    done: Promise.resolve(),
  };
  if (listed) settle(true);
  reading.done = pump(run, reading);
  reading.done.catch(() => undefined); // surfaces in fetchExportData
  return reading;
}

/**
 * What is done with each page as it arrives: the keep-alive is checked (while receipts download,
 * stores trail the reads by the pages read ahead, and Pleo must still hear from us within
 * `keepAliveMs`), and the page's receipts start downloading. Once the job's items are known, only
 * those of items still waiting for their data; before, all of them (an item the listing then shows
 * final at Pleo was downloaded for nothing, and is kept under its deterministic name).
 */
async function* arriving(
  run: RunContext,
  reading: { limit: DownloadLimits; inFlight: Set<Promise<unknown>>; known: () => boolean },
  pages: AsyncIterable<Page<ExportItem>>,
): AsyncGenerator<ArrivedPage, void, undefined> {
  for await (const page of pages) {
    await run.keepAlive(undefined); // the item named by the listing (none yet: nothing to do)
    const known = reading.known();
    const items = (async () => {
      const wanted = known
        ? await run.ctx.store.entriesAwaitingData(
            run.fence,
            page.data.map((item) => item.accountingEntryId),
          )
        : null;
      return downloadAll(
        run,
        wanted === null ? page.data : page.data.filter((item) => wanted.has(item.accountingEntryId)),
        reading.limit,
      );
    })();
    reading.inFlight.add(items);
    const forget = (): void => void reading.inFlight.delete(items);
    items.then(forget, forget); // a failure surfaces where the page is stored
    yield { page, items };
  }
}

/**
 * Stores a reading's pages one by one, in order, while they overlap on the wire: the next pages are
 * read ahead while this one's receipts download, and their receipts start while this one's last
 * ones finish (one download pool per job), so the pool never drains at a page boundary. A page
 * whose receipts are down is staged while the listing runs, committed once it is complete (the
 * staged pages first, in order). The last page plans the job.
 */
async function pump(run: RunContext, reading: DataReading): Promise<void> {
  const { store } = run.ctx;
  const bound = listingBound(run.job.numberOfItems);
  const staged: number[] = [];
  let position = 0;
  let fetched = 0;
  let read = 0;
  let after = reading.after;
  let complete = false;
  const downloading: { items: Promise<FetchedItem[]>; cursor: string | null; complete: boolean }[] = [];
  const commit = async (
    items: readonly FetchedItem[],
    page: { cursor: string | null; complete: boolean },
    stagedAt?: number,
  ): Promise<void> => {
    const saved = await store.saveFetchedPage(run.fence, {
      items,
      cursor: page.cursor,
      complete: page.complete,
      ...(stagedAt === undefined ? {} : { staged: stagedAt }),
    });
    run.ctx.step('fetched_page');
    fetched += saved.stored;
    run.ctx.emit({ kind: 'items_fetched', jobId: run.job.id, fetched, total: run.job.numberOfItems });
    await run.keepAlive(items[0]?.accountingEntryId);
  };
  const commitStaged = async (): Promise<void> => {
    for (let at = staged.shift(); at !== undefined; at = staged.shift()) {
      const page = await store.stagedPage(run.fence, at);
      if (page === null) {
        throw new ExportError(
          `The export items of job ${run.job.id} read while its items were listed (page ${at + 1}) are ` +
            'no longer in the store; the next run reads them again.',
          { code: 'RUN_DEFERRED', retryable: true },
        );
      }
      await commit(page.items, page, at);
    }
  };
  const storeOldest = async (): Promise<void> => {
    const page = downloading.shift();
    if (page === undefined) return;
    const items = await page.items;
    if (reading.stopped) return;
    if (!reading.listed) {
      const at = position++;
      await store.stageFetchedPage(run.fence, {
        position: at,
        items,
        cursor: page.cursor,
        complete: page.complete,
      });
      staged.push(at);
      run.ctx.step('staged_page');
      return;
    }
    await commitStaged();
    await commit(items, page);
  };
  try {
    for await (const { page, items } of reading.pages) {
      read += page.data.length;
      if (read > bound) throw overflow(run, 'The export items', read);
      complete = !page.pagination.hasNextPage;
      after = page.pagination.endCursor ?? after;
      downloading.push({ items, cursor: after, complete });
      if (downloading.length > 1) await storeOldest();
    }
    while (downloading.length > 0) await storeOldest();
    // The last page may come before the listing's: its staged pages wait for it.
    if (!(await reading.listing) || reading.stopped) return;
    await commitStaged();
    if (!complete) await store.saveFetchedPage(run.fence, { items: [], cursor: after, complete: true });
  } catch (error) {
    // Nothing may go on writing receipts once the reading fails.
    reading.stopped = true;
    await reading.pages.return();
    await Promise.allSettled([...reading.inFlight]);
    throw error;
  }
}

/**
 * Control layer: every page before any processing; each page and its cursor in one transaction.
 * Meanwhile the data layer is read and staged beside it (`startReading`); when the listing fails,
 * that reading is stopped before the error leaves.
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
  let reading: DataReading | null = null;
  if (!phaseReached(record.phase, 'planned')) {
    try {
      reading = startReading(run, record.dataCursor, false, phaseReached(record.phase, 'items_listed'));
    } catch {
      reading = null; // refused before anything was sent: fetchExportData asks again, and reports it
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
    // Nothing read beside the listing may go on once the run leaves this step.
    await giveUp(reading); // and no receipt download started by it goes on either
    if (isJobFinalError(error)) await run.jobEnded();
    throw error;
  }
  if (reading !== null) {
    reading.settleListing(true);
    readings.set(run, reading);
  }
}

/** Stops the run's reading of the data layer if it is still going (a run that failed in between). */
export async function stopDataReading(run: RunContext): Promise<void> {
  const reading = readings.get(run);
  readings.delete(run);
  await giveUp(reading);
}

/**
 * Data layer: every page, receipts downloaded before the page is stored; the last page plans. Usually
 * the reading started beside the listing (`listJobItems`) and only needs finishing here; otherwise
 * (a resumed run past its listing) it starts here, committing each page as it comes.
 */
export async function fetchExportData(run: RunContext, record: JobRecord): Promise<Fatal | null> {
  const started = readings.get(run);
  readings.delete(run);
  if (phaseReached(record.phase, 'planned')) {
    await giveUp(started);
    return null;
  }
  let reading = started;
  if (reading !== undefined && reading.after !== record.dataCursor) {
    // Started elsewhere than where the data layer resumes: read again from there.
    await giveUp(reading);
    reading = undefined;
  }
  try {
    reading ??= startReading(run, record.dataCursor, true, true);
    await reading.done;
  } catch (error) {
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
