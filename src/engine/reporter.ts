/**
 * The reporter: sends item outcomes to Pleo (`PUT /v3/export-jobs/{id}/items`), ≤100 per request,
 * in processing order, and never past the lowest item still being processed (so what Pleo sees
 * always is a prefix of the deterministic order, whatever the concurrency).
 *
 * It reads outcomes from the store, never from memory: an outcome is sent after it is durable, and
 * marked reported only when Pleo accepted it (`data[]`). Rejections (`errors[]`) are re-sent up to
 * `maxReportAttempts` times and then surfaced (kept on the item as `reportError`). A crash after
 * Pleo accepted a batch but before we marked it is reconciled by the re-listing of a resumed run,
 * so an accepted update is not sent again.
 *
 * Flushes run one at a time on a promise chain, concurrently with processing (pipelining): the
 * processing loop only `kick`s the reporter. Errors surface at the next `drain`.
 *
 * While the job's items are being processed the reporter runs *live*: the run hands it each
 * outcome once the store has committed it (`recorded`), and tells it the lowest seq still in
 * flight, so a flush costs no store query. (The store's "lowest open item" and "unreported
 * outcomes" queries scan the job's items: asked once per 100 outcomes they made a job of n items
 * cost O(n²): BENCHMARKS.md#found-by-profiling-and-fixed.) Going live, the
 * outcomes a previous run left unreported are loaded once, so the prefix order still holds on a
 * resumed run; rejected updates are re-sent by the final `drain`, which reads the store.
 */
import type { ItemUpdate, PleoClient } from '../client/index.js';
import type { Fence, ItemOutcome, ItemRecord, Store } from '../store/index.js';
import { asError } from './errors.js';
import { assertFence } from './fence.js';

export const REPORT_BATCH = 100;

/** An outcome ready to be sent: the update, and how often Pleo rejected it before. */
interface Sendable {
  seq: number;
  update: ItemUpdate;
  reportAttempts: number;
}

/** Most leftovers a resumed run can have unreported (it stops dispatching when reports fail). */
const LEFTOVER_LIMIT = 1_000_000;

export interface ReporterOptions {
  store: Store;
  client: PleoClient;
  fence: Fence;
  keepAliveMs: number;
  maxReportAttempts: number;
  now: () => number;
  signal?: AbortSignal;
  onReported?: (accepted: number, rejected: number) => void;
  /** Pleo answered a batch; called before the batch is marked reported (crash tests). */
  onSent?: () => void;
  /** Called when Pleo answered 4xx meaning the job is final; it throws the engine's job-ended signal. */
  onJobEnded: (error: unknown) => Promise<never>;
  isJobEnded: (error: unknown) => boolean;
}

export class Reporter {
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private sinceFlush = 0;
  private scheduled = false;
  private lastWrite: number;
  private readonly o: ReporterOptions;
  /** Live mode: the lowest seq still being processed (Infinity: none), and the unsent outcomes by seq. */
  private live: { bound: () => number; queue: Sendable[] } | null = null;

  constructor(options: ReporterOptions) {
    this.o = options;
    this.lastWrite = options.now();
  }

  /** The failure of a background flush, if any (the processing loop stops dispatching on it). */
  get error(): unknown {
    return this.failure;
  }

  /** Pleo saw a write from us (the claim, a report…): the expiry clock restarts. */
  touched(): void {
    this.lastWrite = this.o.now();
  }

  /**
   * One more outcome is durable. Schedules a flush when a full batch may be ready (processing goes
   * on meanwhile), or when keep-alive is due: then the returned promise makes the caller wait until
   * Pleo has heard from us, so a slow accounting system can never let the job expire.
   */
  kick(): Promise<void> | undefined {
    this.sinceFlush++;
    const keepAliveDue = this.o.now() - this.lastWrite >= this.o.keepAliveMs;
    if (keepAliveDue) {
      this.enqueue(true);
      return this.chain;
    }
    if (this.sinceFlush >= REPORT_BATCH && !this.scheduled) {
      this.scheduled = true;
      this.enqueue(false);
    }
    return undefined;
  }

  /**
   * Processing starts: from now on outcomes arrive through `recorded`, and nothing at or past
   * `bound()` (the lowest seq still in flight) is sent. Loads what a previous run left unreported.
   */
  async goLive(bound: () => number): Promise<void> {
    const leftovers = await this.o.store.unreportedOutcomes(this.o.fence, LEFTOVER_LIMIT);
    this.live = {
      bound,
      queue: leftovers.map((item) => ({
        seq: item.seq ?? 0,
        update: toUpdate(item),
        reportAttempts: item.reportAttempts,
      })),
    };
    this.live.queue.sort((a, b) => a.seq - b.seq);
  }

  /** Processing is over: later flushes read the store again (and re-send rejected updates). */
  async endLive(): Promise<void> {
    await this.chain;
    this.live = null;
  }

  /** An outcome the store has committed (live mode); then as `kick`. */
  recorded(seq: number, update: ItemUpdate): Promise<void> | undefined {
    const queue = this.live?.queue;
    if (queue) {
      // Outcomes arrive nearly in seq order: insert from the end.
      let at = queue.length;
      while (at > 0 && queue[at - 1]!.seq > seq) at--;
      queue.splice(at, 0, { seq, update, reportAttempts: 0 });
    }
    return this.kick();
  }

  /** Waits for scheduled flushes, then (with `all`) reports everything reportable. Rethrows failures. */
  async drain(all: boolean): Promise<void> {
    if (all) this.enqueue(true);
    await this.chain;
    if (this.failure !== null) throw asError(this.failure);
  }

  private enqueue(force: boolean): void {
    this.chain = this.chain.then(async () => {
      this.scheduled = false;
      if (this.failure !== null) return;
      try {
        this.sinceFlush = 0;
        await this.flush(force);
      } catch (error) {
        this.failure = error;
      }
    });
  }

  private async flush(force: boolean): Promise<void> {
    for (;;) {
      const batch = await this.nextBatch();
      if (batch.length === 0 || (!force && batch.length < REPORT_BATCH)) {
        if (force && batch.length === 0 && this.o.now() - this.lastWrite >= this.o.keepAliveMs) {
          await this.heartbeat();
        }
        return;
      }
      await this.send(batch);
    }
  }

  /** Up to one batch of reportable outcomes, oldest first: from memory when live, else from the store. */
  private async nextBatch(): Promise<Sendable[]> {
    if (this.live) {
      const bound = this.live.bound();
      const queue = this.live.queue;
      let n = 0;
      while (n < queue.length && n < REPORT_BATCH && queue[n]!.seq < bound) n++;
      return queue.slice(0, n);
    }
    const { store, fence } = this.o;
    const open = await store.lowestOpenSeq(fence);
    const items = await store.unreportedOutcomes(fence, REPORT_BATCH, open === null ? undefined : open - 1);
    return items.map((item) => ({
      seq: item.seq ?? 0,
      update: toUpdate(item),
      reportAttempts: item.reportAttempts,
    }));
  }

  private async send(batch: readonly Sendable[]): Promise<void> {
    const { store, client, fence } = this.o;
    await assertFence(store, fence);
    let result;
    try {
      result = await client.updateJobItems(
        fence.jobId,
        batch.map((item) => item.update),
        this.signalOption(),
      );
    } catch (error) {
      if (this.o.isJobEnded(error)) await this.o.onJobEnded(error);
      throw error;
    }
    this.touched();
    this.o.onSent?.();
    const sent = new Map(batch.map((item) => [item.update.accountingEntryId, item]));
    await store.markReported(
      fence,
      result.accepted
        .filter((item) => sent.has(item.accountingEntryId))
        .map((item) => ({ accountingEntryId: item.accountingEntryId, pleoStatus: item.status })),
    );
    // An update Pleo neither accepted nor rejected (an answer like `{data: [], errors: []}`) counts
    // as rejected, so it is re-sent at most `maxReportAttempts` times instead of for ever.
    const answered = new Set([...result.accepted, ...result.rejected].map((item) => item.accountingEntryId));
    const rejections = [
      ...result.rejected.map((rejection) => ({
        accountingEntryId: rejection.accountingEntryId,
        message: `${rejection.type}: ${rejection.message}`,
      })),
      ...batch
        .filter((item) => !answered.has(item.update.accountingEntryId))
        .map((item) => ({
          accountingEntryId: item.update.accountingEntryId,
          message: 'REPORT_UNACKNOWLEDGED: Pleo answered the update without accepting or rejecting it',
        })),
    ].filter((rejection) => sent.has(rejection.accountingEntryId));
    if (rejections.length > 0) {
      await store.markReportRejected(
        fence,
        rejections.map((rejection) => ({
          ...rejection,
          giveUp:
            (sent.get(rejection.accountingEntryId)?.reportAttempts ?? 0) + 1 >= this.o.maxReportAttempts,
        })),
      );
    }
    // Sent either way: accepted ones are done; rejected ones are re-sent by the final drain.
    if (this.live) {
      const done = new Set(batch);
      this.live.queue = this.live.queue.filter((item) => !done.has(item));
    }
    this.o.onReported?.(result.accepted.length, rejections.length);
  }

  /**
   * Before processing (listing, fetching): when Pleo has not heard from us for `keepAliveMs`, marks
   * `openItem` — an item Pleo lists as `pending` or `in_progress` and we have not reported —
   * `in_progress`, within Pleo's documented API. Waits for it; rethrows its failure.
   */
  async keepAlive(openItem: string): Promise<void> {
    if (this.o.now() - this.lastWrite < this.o.keepAliveMs) return;
    this.chain = this.chain.then(async () => {
      if (this.failure !== null || this.o.now() - this.lastWrite < this.o.keepAliveMs) return;
      try {
        await this.heartbeat(openItem);
      } catch (error) {
        this.failure = error;
      }
    });
    await this.drain(false);
  }

  /**
   * Nothing to report yet but Pleo has not heard from us for `keepAliveMs`: mark the next open item
   * (or `openItem`) `in_progress` (true, and a write that moves the job's `lastUpdatedAt`).
   */
  private async heartbeat(openItem?: string): Promise<void> {
    const id = openItem ?? (await this.o.store.itemsToProcess(this.o.fence, 0, 1))[0]?.accountingEntryId;
    if (id === undefined) return;
    await assertFence(this.o.store, this.o.fence);
    try {
      await this.o.client.updateJobItems(
        this.o.fence.jobId,
        [{ accountingEntryId: id, status: 'in_progress' }],
        this.signalOption(),
      );
    } catch (error) {
      if (this.o.isJobEnded(error)) await this.o.onJobEnded(error);
      throw error;
    }
    this.touched();
  }

  private signalOption(): { signal?: AbortSignal } {
    return this.o.signal ? { signal: this.o.signal } : {};
  }
}

/** The update for an outcome the run just recorded: the same as `toUpdate` of the stored record. */
export function outcomeUpdate(accountingEntryId: string, outcome: ItemOutcome): ItemUpdate {
  if (outcome.status === 'booked') {
    return {
      accountingEntryId,
      status: 'successful',
      externalId: outcome.externalId,
      ...(outcome.externalUrl === null ? {} : { externalUrl: outcome.externalUrl }),
      exportedAt: outcome.exportedAt,
    };
  }
  return {
    accountingEntryId,
    status: 'failed',
    failureReasonType: outcome.failureReasonType,
    failureReason: outcome.failureReason,
  };
}

export function toUpdate(item: ItemRecord): ItemUpdate {
  if (item.state === 'booked') {
    return {
      accountingEntryId: item.accountingEntryId,
      status: 'successful',
      ...(item.externalId === null ? {} : { externalId: item.externalId }),
      ...(item.externalUrl === null ? {} : { externalUrl: item.externalUrl }),
      ...(item.exportedAt === null ? {} : { exportedAt: item.exportedAt }),
    };
  }
  return {
    accountingEntryId: item.accountingEntryId,
    status: 'failed',
    failureReasonType: item.failureReasonType ?? 'unexpected_failure',
    failureReason: item.failureReason ?? 'The entry could not be exported.',
  };
}
