/**
 * One run of one export job, from claim to final event. Every step reads where the previous run
 * stopped from the store and commits before it has an effect outside (see `src/store/types.ts` for
 * the phases and `docs/architecture.md` for the exactly-once protocol):
 *
 *   claim ─► validate ─► list job items ─► fetch data + receipts (plans) ─► book & report ─► complete
 *
 * Decisions on Pleo's contradictions (docs/decisions.md#the-contradiction-table), tested in test/engine:
 * - docs/decisions.md#c1: claim before validation (the newer docs): `started` first, then pre-export
 *   validation; a failed validation ends the job with `failed` + reason, nothing processed.
 * - docs/decisions.md#c2: eligible jobs are `pending` and `in_progress` on every poll; an
 *   `in_progress` job is resumed without a second `started`.
 * - docs/decisions.md#c6, docs/decisions.md#c7: `completed_with_errors` carries no failure fields;
 *   `failed` is sent when every item failed (nothing could be exported) or on an unrecoverable
 *   error; a job with zero items is `completed` (docs/decisions.md#c27).
 * - A 422 to our `started` when the job is then `in_progress` is our own claim whose response was
 *   lost (the client retried); pleo-export runs one worker per company, so the job is ours.
 */
import type { AccountingEntry } from '../accounting/index.js';
import {
  classifyAccountingError,
  jobFailureOf,
  type BatchEntry,
  type ItemRefusal,
  type RecordOutcome,
  type ValidationResult,
} from '../adapters/index.js';
import {
  backoffDelay,
  isFinalJobStatus,
  type ExportJob,
  type ExportJobFailureReasonType,
  type ExportJobItemFailureReasonType,
} from '../client/index.js';
import {
  ConflictError,
  describeError,
  ExportError,
  isConflictError,
  LeaseLostError,
} from '../errors/index.js';
import {
  phaseReached,
  type Fence,
  type ItemOutcome,
  type ItemWithPayload,
  type JobPhase,
  type JobRecord,
  type JobRef,
} from '../store/index.js';
import { ensureAttachmentsHere, type DownloadResult } from './attachments.js';
import type { CompiledEngine } from './compile.js';
import { asError } from './errors.js';
import { assertFence } from './fence.js';
import { fetchExportData, listJobItems, stopDataReading, type RunContext } from './data-layer.js';
import { eventStatus, isJobFinalError, jobTypeFor, unexpected, type Fatal } from './outcomes.js';
import { ProgressBatcher } from './progress.js';
import { outcomeUpdate, Reporter } from './reporter.js';
import { Semaphore } from './semaphore.js';
import { Turn } from './turn.js';
import type { JobResult } from './types.js';
import { WriteBatches } from './write-batches.js';

function reached(job: JobRecord, phase: JobPhase): boolean {
  return phaseReached(job.phase, phase);
}

/** Thrown inside a run when Pleo shows the job final (expired, failed elsewhere): the run ends cleanly. */
class JobEnded extends Error {
  readonly job: ExportJob;
  constructor(job: ExportJob) {
    super(`job ${job.id} is ${job.status} at Pleo`);
    this.job = job;
  }
}

/** An accounting-system fault that ends the job (credentials revoked, system unusable as configured). */
class JobFatal extends Error {
  readonly fatal: Fatal;
  constructor(fatal: Fatal) {
    super(fatal.failureReason);
    this.fatal = fatal;
  }
}

/**
 * A transient accounting-system fault outlasted its retries: the run stops here and a later one
 * resumes (an item left in `booking` is looked up first). Nothing is failed for it.
 */
export class RunDeferred extends ExportError {
  constructor(what: string, cause: ExportError) {
    super(`${what} failed for now, to be retried by a later run: ${describeError(cause)}`, {
      code: 'RUN_DEFERRED',
      retryable: true,
      cause,
      ...(cause.retryAfterMs === undefined ? {} : { retryAfterMs: cause.retryAfterMs }),
    });
  }
}

/** What one call to the accounting system gave: its value, or this entry's refusal. */
type Called<T> = { value: T } | { refusal: ItemRefusal };

/** A booking whose intent is older than this reads the fence again before writing (see fence.ts). */
const FENCE_RECHECK_MS = 1000;

/**
 * Items prepared ahead of the write turn beyond the `2 × concurrency` the turns need. Each is an
 * intent a crash leaves for `findExisting`, so the window is kept small. (A wider one measured
 * slower in benchmark workload 1, but only while the benchmark's adapter wrapper hid
 * `stageAttachments`, so that says nothing about staging further ahead.)
 */
const STAGING_AHEAD = 1;

/**
 * Entries in one `recordBatch` call at most, and items prepared ahead for the next batch (adapters
 * that offer `recordBatch`). While a batch is written, the items behind it are looked up, mapped
 * and their intents group-committed; the next batch takes what is ready. A crash leaves at most
 * this many more intents for `findExisting` (an index lookup in hledger).
 */
const WRITE_BATCH = 64;

/**
 * One entry handed to `WriteBatches`: what `recordBatch` takes, and its intent, made durable by the
 * batch right before the write (so the intents of a whole batch share one group commit); resolves
 * to when the fence was last checked for it.
 */
interface BatchWrite extends BatchEntry {
  durable: () => Promise<number>;
}

/** One entry's answer from a batch: written or refused, the job's end, or not written (stopped). */
type BatchWritten = Called<RecordOutcome> | { fatal: Fatal } | null;

/**
 * What a fault of a call to the accounting system means once its retries are spent (the fault
 * policy, `adapters/errors.ts`): a refusal of this entry, the end of the job, or, transient, a run
 * to defer (thrown).
 */
function judgeFault(what: string, error: unknown): { refusal: ItemRefusal } | { fatal: Fatal } {
  const fault = classifyAccountingError(error);
  if (fault.kind === 'transient') throw new RunDeferred(what, fault.error);
  if (fault.kind === 'job')
    return { fatal: { failureReasonType: fault.failureReasonType, failureReason: fault.failureReason } };
  return {
    refusal: {
      status: 'failed',
      failureReasonType: fault.failureReasonType,
      failureReason: fault.failureReason,
    },
  };
}

export async function runJob(ctx: CompiledEngine, job: ExportJob, signal?: AbortSignal): Promise<JobResult> {
  const ref: JobRef = { companyId: job.companyId, jobId: job.id };
  const before = await ctx.store.upsertJob({
    ...ref,
    createdAt: job.createdAt,
    pleoStatus: job.status,
    vendorBasedBookkeeping: job.vendorBasedBookkeeping,
    numberOfItems: job.numberOfItems,
  });
  if (before.phase === 'done') return result(ctx, before, 'already_final');
  const fence = await ctx.store.acquireJob(ref, ctx.owner);
  ctx.emit({ kind: 'lease_acquired', jobId: job.id, owner: ctx.owner, previousOwner: before.leaseOwner });
  const run = new JobRun(ctx, job, fence, before.runs > 0, signal);
  return run.run();
}

class JobRun implements RunContext {
  private readonly reporter: Reporter;
  /** Intents and outcomes, group-committed (see progress.ts for what a crash between commits leaves). */
  private readonly progress: ProgressBatcher;
  /** Seqs of items dispatched by `process` whose outcome is not recorded yet. */
  private readonly open = new Set<number>();
  private fatal: Fatal | null = null;
  /** Set when a transient fault outlasted its retries: dispatching stops and the run ends deferred. */
  private deferred: RunDeferred | null = null;
  /** An item known to be open at Pleo, for a keep-alive while nothing else is written (listing, fetching). */
  private keepAliveItem: string | null = null;
  readonly ctx: CompiledEngine;
  readonly job: ExportJob;
  readonly fence: Fence;
  readonly resumed: boolean;
  readonly signal: AbortSignal | undefined;

  constructor(
    ctx: CompiledEngine,
    job: ExportJob,
    fence: Fence,
    resumed: boolean,
    signal: AbortSignal | undefined,
  ) {
    this.ctx = ctx;
    this.job = job;
    this.fence = fence;
    this.resumed = resumed;
    this.signal = signal;
    this.progress = new ProgressBatcher(ctx.store, fence, () => ctx.step('progress_committed'));
    this.reporter = new Reporter({
      store: ctx.store,
      client: ctx.client,
      fence,
      keepAliveMs: ctx.keepAliveMs,
      maxReportAttempts: ctx.maxReportAttempts,
      now: ctx.now,
      ...(signal ? { signal } : {}),
      onReported: (accepted, rejected) =>
        ctx.emit({ kind: 'items_reported', jobId: job.id, accepted, rejected }),
      isJobEnded: (error) => isJobFinalError(error),
      onSent: () => ctx.step('report_sent'),
      onJobEnded: () => this.jobEnded(),
    });
  }

  private get log() {
    return this.ctx.logger;
  }
  opts(): { signal?: AbortSignal } {
    return this.signal ? { signal: this.signal } : {};
  }

  async run(): Promise<JobResult> {
    try {
      // Final at Pleo (expired while we were down, failed elsewhere, or our own final event whose
      // response was lost): nothing more may be written to the job or the accounting system for it.
      if (isFinalJobStatus(this.job.status)) return await this.ended(this.job);
      let record = await this.claim();
      if (record === null) return await result(this.ctx, await this.current(), 'skipped');
      if (!reached(record, 'completing')) {
        await this.validate();
        if (this.fatal === null && this.deferred === null) {
          try {
            await listJobItems(this, record);
            record = await this.current();
            this.fatal = await fetchExportData(this, record);
          } finally {
            await stopDataReading(this); // nothing of the data layer is stored once this step is left
          }
          await this.process();
        }
        if (this.interrupted()) {
          await this.reporter.drain(true);
          return await result(this.ctx, await this.current(), 'interrupted');
        }
        await this.reporter.drain(true);
        if (this.deferred !== null) {
          this.log.warn({ jobId: this.job.id, err: describeError(this.deferred) }, 'run deferred');
          return await result(this.ctx, await this.current(), 'deferred', this.deferred.message);
        }
      }
      return await this.complete();
    } catch (error) {
      if (error instanceof JobEnded) return this.ended(error.job);
      throw error;
    }
  }

  private interrupted(): boolean {
    return this.signal?.aborted === true;
  }

  private async current(): Promise<JobRecord> {
    const record = await this.ctx.store.getJob(this.fence);
    if (!record) throw new Error(`store lost job ${this.fence.jobId}`);
    return record;
  }

  /**
   * Claims the job with `started`, or resumes it (`in_progress`: no second `started`). Null when
   * Pleo refused `started` (422) and the job is still `pending`: it is skipped this time, and the
   * next poll tries again.
   */
  private async claim(): Promise<JobRecord | null> {
    const { store, client } = this.ctx;
    const record = await this.current();
    if (reached(record, 'claimed')) {
      this.ctx.emit({ kind: 'job_claimed', jobId: this.job.id, resumed: true });
      return record;
    }
    if (this.job.status === 'pending') {
      await store.updateJob(this.fence, { phase: 'claiming' });
      try {
        await client.sendJobEvent({ jobId: this.job.id, event: 'started' }, this.opts());
        this.reporter.touched();
      } catch (error) {
        if (!isConflictError(error)) throw error;
        const now = await client.getJob(this.job.id, this.opts());
        if (isFinalJobStatus(now.status)) throw new JobEnded(now);
        if (now.status !== 'in_progress') {
          this.log.warn(
            { jobId: this.job.id, status: now.status, err: describeError(error) },
            'Pleo refused started and the job is not in progress: skipped until the next poll',
          );
          this.ctx.emit({
            kind: 'job_skipped',
            jobId: this.job.id,
            reason: `Pleo refused started and the job is ${now.status}; the next poll tries again`,
          });
          return null;
        }
        this.log.info(
          { jobId: this.job.id },
          'started answered 422 and the job is in_progress: our claim stands',
        );
      }
    }
    const claimed = await store.updateJob(this.fence, { phase: 'claimed', pleoStatus: 'in_progress' });
    this.ctx.step('claimed');
    this.ctx.emit({ kind: 'job_claimed', jobId: this.job.id, resumed: this.job.status === 'in_progress' });
    return claimed;
  }

  /**
   * Pre-export validation. A refusal (`{ok:false}`) or a permanent fault fails the job; a transient
   * fault is retried and, when it outlasts the retries, defers the run: a job is never failed for
   * something a retry in a minute would fix.
   */
  private async validate(): Promise<void> {
    let validation: ValidationResult;
    try {
      validation = await this.withAdapterRetry(() =>
        this.ctx.adapter.validate({
          companyId: this.job.companyId,
          vendorBasedBookkeeping: this.job.vendorBasedBookkeeping,
          ...this.opts(),
        }),
      );
    } catch (error) {
      if (error instanceof LeaseLostError || this.interrupted()) throw error;
      const fault = classifyAccountingError(error);
      if (fault.kind === 'transient') {
        this.deferred = new RunDeferred('Pre-export validation', fault.error);
        return;
      }
      validation = { ok: false, ...jobFailureOf(error) };
    }
    if (!validation.ok) {
      this.fatal = {
        failureReasonType: validation.failureReasonType,
        failureReason: validation.failureReason,
      };
      this.log.warn({ jobId: this.job.id, ...this.fatal }, 'pre-export validation failed');
    }
  }

  /**
   * Books every open item in seq order with bounded parallelism; the reporter follows behind.
   *
   * Calls to the accounting system take turns: they start in seq order, at most `concurrency` at
   * once (1 = strict order). The store work around them is not part of the turn: while item k is
   * being written, item k+1 is looked up, mapped, its intent committed and its receipts staged in
   * the accounting system (`stageAttachments`, where the adapter offers it), and item k's outcome
   * is committed while item k+1 is being written. Intents and outcomes are group-committed
   * (`progress.ts`): item k's outcome and the intent of an item prepared behind it usually share one
   * transaction. Entries keep their order; receipts do not.
   * With an embedded accounting system (hledger: a write and an fsync per entry) this hides the
   * store's work behind the write instead of adding it, measured in BENCHMARKS.md (workloads 1
   * and 3). At most `2 × concurrency + STAGING_AHEAD` items are in flight, so after a crash at
   * most that many intents (committed, or outcomes not yet committed) wait for their `findExisting`.
   *
   * With an adapter that offers `recordBatch`, an item's turn only queues its entry
   * (`write-batches.ts`): the entries queued while a batch is written go together in the next one,
   * at most `concurrency` batches at once, so at concurrency 1 the journal still receives them in
   * seq order, one append and one fsync per batch instead of per entry. `WRITE_BATCH` more items
   * are then in flight (prepared for the next batch), and as many more intents may wait for
   * `findExisting` after a crash.
   */
  private async process(): Promise<void> {
    if (this.fatal !== null) return;
    const writes = new Semaphore(this.ctx.concurrency);
    const adapter = this.ctx.adapter;
    const batches =
      adapter.recordBatch === undefined
        ? null
        : new WriteBatches<BatchWrite, BatchWritten>({
            slots: this.ctx.concurrency,
            maxBatch: WRITE_BATCH,
            write: (batch) => this.writeBatch(batch, stopping),
          });
    const window = new Semaphore(
      2 * this.ctx.concurrency + STAGING_AHEAD + (batches === null ? 0 : WRITE_BATCH),
    );
    const inFlight = new Set<Promise<void>>();
    let failure: unknown = null;
    const stopping = (): boolean =>
      failure !== null ||
      this.fatal !== null ||
      this.deferred !== null ||
      this.interrupted() ||
      this.reporter.error !== null;
    let turns: Promise<void> = Promise.resolve();
    let afterSeq = 0;
    // What the reporter may send: nothing at or past an item without an outcome. Items still open
    // are those in flight (kept until their outcome is recorded, even when they stop without one)
    // and those not dispatched yet (all after `afterSeq`, until the listing is exhausted).
    this.open.clear();
    let exhausted = false;
    await this.reporter.goLive(() => {
      let bound = exhausted ? Infinity : afterSeq + 1;
      for (const seq of this.open) if (seq < bound) bound = seq;
      return bound;
    });
    try {
      outer: for (;;) {
        const batch = await this.ctx.store.itemsToProcess(this.fence, afterSeq, 256);
        if (batch.length === 0) {
          exhausted = true;
          break;
        }
        for (const item of batch) {
          await window.acquire();
          if (stopping()) {
            window.release();
            break outer;
          }
          afterSeq = item.seq ?? afterSeq;
          this.open.add(afterSeq);
          // Turns are handed out in dispatch (= seq) order, whatever each item's own pace.
          const turn = new Turn(
            turns.then(() => writes.acquire()),
            () => writes.release(),
          );
          turns = turn.granted;
          const task = this.processItem(item, turn, stopping, batches)
            .catch((error: unknown) => {
              // An entry's own refusal never gets here: it is that item's outcome (processItem).
              if (error instanceof JobFatal) this.fatal ??= error.fatal;
              else if (error instanceof RunDeferred) this.deferred ??= error;
              else failure ??= error;
            })
            .finally(() => {
              turn.pass();
              window.release();
              inFlight.delete(task);
            });
          inFlight.add(task);
        }
      }
      await Promise.all(inFlight);
      if (failure === null && !stopping()) await this.reporter.drain(true);
    } finally {
      await Promise.all(inFlight); // in-flight items hand their outcomes to the reporter first
      await this.progress.flush(); // intents of items that stopped before their write
      await this.reporter.endLive();
    }
    if (failure !== null) throw asError(failure);
    const fatal = this.fatal as Fatal | null;
    if (fatal !== null) this.log.error({ jobId: this.job.id, ...fatal }, 'unrecoverable accounting failure');
  }

  private async processItem(
    item: ItemWithPayload,
    turn: Turn,
    stopping: () => boolean,
    batches: WriteBatches<BatchWrite, BatchWritten> | null,
  ): Promise<void> {
    const { store, adapter } = this.ctx;
    const key = item.accountingEntryId;
    const adapterCtx: { companyId: string; signal?: AbortSignal } = {
      companyId: this.job.companyId,
      ...this.opts(),
    };
    if (item.state === 'booking') {
      // A crash after the intent: the entry may already be in the accounting system. Look first.
      await turn.take();
      if (stopping()) return;
      const looked = await this.adapterCall('Looking the entry up', () =>
        adapter.findExisting(key, adapterCtx),
      );
      if ('refusal' in looked) {
        turn.pass();
        const { failureReasonType, failureReason } = looked.refusal;
        return this.recordOutcome(
          item,
          {
            status: 'failed',
            failureReasonType,
            failureReason: `${failureReason} Whether entry ${key} was already recorded could not be checked; exporting it again is safe (it is recorded at most once, by its id).`,
          },
          false,
        );
      }
      if (looked.value) {
        turn.pass();
        await this.recordOutcome(item, { status: 'booked', ...looked.value }, true, 'lookup');
        return;
      }
    }
    const settle = async (outcome: RecordOutcome, reused: boolean): Promise<void> => {
      turn.pass(); // nothing to write: the next item may go
      await this.recordOutcome(item, outcome, reused);
    };
    if (item.prefailure) return settle({ status: 'failed', ...item.prefailure }, false);
    const booking = await store.findBooking(this.job.companyId, key);
    if (booking) {
      // Booked by an earlier job (a re-export): never book it twice; report the existing entry.
      const outcome: RecordOutcome = {
        status: 'booked',
        externalId: booking.externalId,
        recordedAt: booking.exportedAt,
      };
      if (booking.externalUrl !== null) outcome.externalUrl = booking.externalUrl;
      return settle(outcome, true);
    }
    if (item.payload === null) {
      return settle(unexpected('The export data of this entry is missing locally.'), false);
    }
    let mapped;
    try {
      mapped = this.ctx.mapItem(item.payload, { jobId: this.job.id, companyId: this.job.companyId });
    } catch (error) {
      return settle(unexpected(`Mapping failed: ${describeError(error)}`), false);
    }
    if (!mapped.ok) {
      return settle(
        {
          status: 'failed',
          failureReasonType: mapped.failureReasonType,
          failureReason: mapped.failureReason,
        },
        false,
      );
    }
    const entry: AccountingEntry = mapped.entry;
    const receipts = await this.receiptsHere(item);
    if (receipts.prefailure !== null) return settle({ status: 'failed', ...receipts.prefailure }, false);
    // The intent is queued and committed with the next group (progress.ts); it is made durable
    // right before the first side effect it announces, never after.
    const intent = this.progress.intent({
      accountingEntryId: key,
      attempt: item.attempt + 1,
      detail: { entry },
    });
    let intentAt = 0;
    let announced = false;
    void intent.committed.then(
      () => (intentAt = this.ctx.now()), // when the fence was last checked for this item
      () => undefined, // the item's own `durable()` rethrows
    );
    const durable = async (soon = false): Promise<number> => {
      await intent.durable(soon);
      if (!announced) {
        announced = true;
        this.ctx.step('intent_recorded');
      }
      return intentAt;
    };
    if (adapter.stageAttachments !== undefined && receipts.attachments.length > 0) {
      // Receipts go to the accounting system while earlier entries are written (not in turn); the
      // intents of items staging together share one commit.
      await durable(true);
      const stage = adapter.stageAttachments.bind(adapter);
      const staged = await this.adapterCall('Storing the receipts', () =>
        stage(receipts.attachments, { ...adapterCtx, idempotencyKey: key }),
      );
      const refused = 'refusal' in staged ? staged.refusal : staged.value;
      if (refused !== null) return settle(refused, false);
      this.ctx.step('receipts_staged');
      if (stopping()) return; // left `booking`: a later run looks it up before writing
    }
    await turn.take();
    if (stopping()) return; // left `booking`: a later run looks it up before writing
    if (batches !== null) {
      // Queued in turn order, then the turn passes: the batch keeps the order (write-batches.ts).
      const queued = batches.submit({
        entry,
        idempotencyKey: key,
        attachments: receipts.attachments,
        durable,
      });
      turn.pass();
      const answer = await queued;
      if (answer === null) return; // the run stopped first: left `booking`, looked up next run
      if ('fatal' in answer) throw new JobFatal(answer.fatal);
      this.ctx.step('entry_written');
      await this.recordOutcome(item, 'refusal' in answer ? answer.refusal : answer.value, false);
      return;
    }
    // The write follows the fenced intent; when the turn took long, read the fence again first.
    if (this.ctx.now() - (await durable()) > FENCE_RECHECK_MS) await assertFence(store, this.fence);
    const written = await this.adapterCall('Recording the entry', () =>
      adapter.record(entry, { ...adapterCtx, idempotencyKey: key, attachments: receipts.attachments }),
    );
    this.ctx.step('entry_written');
    turn.pass();
    await this.recordOutcome(item, 'refusal' in written ? written.refusal : written.value, false);
  }

  /**
   * One `recordBatch` call under the fault policy, as `adapterCall` for one entry: a fault of the
   * whole write, or a transient fault of any entry, retries the batch with the same keys (entries
   * already written are returned by key, never written twice); each entry then gets its own answer.
   * The batch's intents are made durable first, together (one group commit for the whole batch).
   */
  private async writeBatch(batch: BatchWrite[], stopping: () => boolean): Promise<BatchWritten[]> {
    if (stopping()) return batch.map(() => null);
    const { store, adapter } = this.ctx;
    const oldest = Math.min(...(await Promise.all(batch.map((b) => b.durable()))));
    if (this.ctx.now() - oldest > FENCE_RECHECK_MS) await assertFence(store, this.fence);
    if (stopping()) return batch.map(() => null); // intents committed, nothing written: looked up next run
    const entries: BatchEntry[] = batch.map(({ entry, idempotencyKey, attachments }) => ({
      entry,
      idempotencyKey,
      attachments,
    }));
    const recordBatch = adapter.recordBatch!.bind(adapter);
    const written = await this.adapterCall('Recording the entries', async () => {
      const results = await recordBatch(entries, { companyId: this.job.companyId, ...this.opts() });
      if (results.length !== entries.length)
        throw new Error(`recordBatch answered ${results.length} results for ${entries.length} entries`);
      for (const r of results)
        if (r.status === 'rejected' && classifyAccountingError(r.reason).kind === 'transient') throw r.reason;
      return results;
    });
    if ('refusal' in written) return batch.map(() => written);
    // No entry is rejected as transient here (that retried the batch above).
    return written.value.map((r) =>
      r.status === 'fulfilled' ? { value: r.value } : judgeFault('Recording the entries', r.reason),
    );
  }

  /** The item's receipts on this machine (downloaded again when another worker fetched them). */
  private async receiptsHere(item: ItemWithPayload): Promise<DownloadResult> {
    const stored = item.attachments ?? [];
    if (stored.length === 0 || item.payload === null)
      return { attachments: [...stored], prefailure: null, tolerated: [] };
    const here = await ensureAttachmentsHere(
      this.ctx.client,
      item.payload,
      stored,
      this.ctx.receiptPolicy,
      this.signal,
      this.log,
    );
    if (here.tolerated.length > 0) {
      this.log.warn(
        { jobId: this.job.id, accountingEntryId: item.accountingEntryId, problems: here.tolerated },
        'receipts not attached (receipts are optional in the configuration)',
      );
    }
    return here;
  }

  private async recordOutcome(
    item: ItemWithPayload,
    outcome: RecordOutcome,
    reused: boolean,
    resolvedBy?: 'lookup',
  ): Promise<void> {
    const key = item.accountingEntryId;
    const stored: ItemOutcome =
      outcome.status === 'booked'
        ? {
            status: 'booked',
            externalId: outcome.externalId,
            externalUrl: outcome.externalUrl ?? null,
            exportedAt: outcome.recordedAt,
            ...(resolvedBy ? { resolvedBy } : {}),
          }
        : {
            status: 'failed',
            failureReasonType: outcome.failureReasonType,
            failureReason: outcome.failureReason,
          };
    await this.progress.outcome(key, stored);
    this.ctx.step('outcome_recorded');
    this.ctx.emit({
      kind: 'item_recorded',
      jobId: this.job.id,
      accountingEntryId: key,
      outcome: outcome.status,
      failureReasonType: outcome.status === 'failed' ? outcome.failureReasonType : null,
      reused,
    });
    const seq = item.seq ?? 0;
    const waitForPleo = this.reporter.recorded(seq, outcomeUpdate(key, stored));
    this.open.delete(seq);
    await waitForPleo;
  }

  /**
   * One call to the accounting system under the fault policy (`adapters/errors.ts`): transient
   * faults are retried with the same idempotency key (bounded, jittered, honouring Retry-After) and,
   * when they outlast the retries, stop the run (`RunDeferred`); a fault that ends the job throws
   * `JobFatal`; a refusal of this entry is returned, to be reported as the item's failure.
   */
  private async adapterCall<T>(what: string, fn: () => Promise<T>): Promise<Called<T>> {
    try {
      return { value: await this.withAdapterRetry(fn) };
    } catch (error) {
      if (error instanceof LeaseLostError || this.interrupted()) throw error;
      const judged = judgeFault(what, error);
      if ('fatal' in judged) throw new JobFatal(judged.fatal);
      return judged;
    }
  }

  private async withAdapterRetry<T>(fn: () => Promise<T>): Promise<T> {
    const policy = this.ctx.adapterRetry;
    for (let attempt = 1; ; attempt++) {
      try {
        // The first attempt follows a fenced store write (the intent); a retry checks again.
        if (attempt > 1) await assertFence(this.ctx.store, this.fence);
        return await fn();
      } catch (error) {
        // Retried exactly when the fault policy calls it transient (adapters/errors.ts).
        const fault = classifyAccountingError(error);
        if (fault.kind !== 'transient' || attempt >= policy.maxAttempts) throw error;
        if (this.interrupted()) throw error;
        const delay = Math.max(backoffDelay(policy, attempt, this.ctx.random), fault.error.retryAfterMs ?? 0);
        this.log.warn(
          { jobId: this.job.id, attempt, delay, code: fault.error.code },
          'accounting system call failed; retrying',
        );
        await this.ctx.sleep(delay, this.signal);
      }
    }
  }

  /** Sends the final event once (it is chosen and stored first, so a resumed run sends the same). */
  private async complete(): Promise<JobResult> {
    const { store, client } = this.ctx;
    let record = await this.current();
    if (!reached(record, 'completing')) {
      const decision = await this.decide();
      record = await store.updateJob(this.fence, {
        phase: 'completing',
        finalEvent: decision.event,
        failureReason: decision.failureReason,
        failureReasonType: decision.failureReasonType,
      });
    }
    const event = record.finalEvent ?? 'failed';
    this.ctx.step('before_complete');
    await assertFence(store, this.fence);
    try {
      await client.sendJobEvent(
        {
          jobId: this.job.id,
          event,
          ...(event === 'failed'
            ? {
                failureReason: record.failureReason ?? 'The export failed.',
                failureReasonType: record.failureReasonType ?? 'integration_unusable',
              }
            : {}),
        },
        this.opts(),
      );
    } catch (error) {
      if (!isConflictError(error)) throw error;
      // A lost response to an applied event, retried, answers 422: read the job to know whether
      // the final state is ours (`ended` tells an expiry or someone else's event from ours).
      const now = await client.getJob(this.job.id, this.opts());
      if (!isFinalJobStatus(now.status)) throw error;
      return this.ended(now);
    }
    this.ctx.step('event_sent');
    const done = await store.updateJob(this.fence, {
      phase: 'done',
      pleoStatus: eventStatus(event),
      completedAt: new Date(this.ctx.now()).toISOString(),
    });
    const outcome = await result(this.ctx, done, 'completed');
    this.ctx.emit({ kind: 'job_completed', jobId: this.job.id, result: outcome });
    return outcome;
  }

  private async decide(): Promise<{
    event: 'completed' | 'completed_with_errors' | 'failed';
    failureReason: string | null;
    failureReasonType: ExportJobFailureReasonType | null;
  }> {
    if (this.fatal !== null) return { event: 'failed', ...this.fatal };
    const counts = await this.ctx.store.counts(this.fence);
    if (counts.unreported > 0) {
      throw new Error(
        `job ${this.job.id}: ${counts.unreported} outcomes are not reported; refusing to complete`,
      );
    }
    if (counts.failed === 0) return { event: 'completed', failureReason: null, failureReasonType: null };
    if (counts.successful > 0)
      return { event: 'completed_with_errors', failureReason: null, failureReasonType: null };
    const [top] = await this.ctx.store.topFailures(this.fence, 1);
    const types = await this.failureTypes();
    return {
      event: 'failed',
      failureReasonType: types.length === 1 ? jobTypeFor(types[0]) : 'validation_failure',
      failureReason: `None of the ${counts.total} entries could be exported.${
        top ? ` Most common reason (${top.count}): ${top.failureReason}` : ''
      } See each entry for details.`,
    };
  }

  private async failureTypes(): Promise<ExportJobItemFailureReasonType[]> {
    const all = await this.ctx.store.topFailures(this.fence, 100);
    return [...new Set(all.map((f) => f.failureReasonType))];
  }

  async keepAlive(openItem: string | undefined): Promise<void> {
    if (openItem !== undefined) this.keepAliveItem = openItem;
    if (this.keepAliveItem !== null) await this.reporter.keepAlive(this.keepAliveItem);
  }

  /** Pleo says the job can no longer be written: find out why and end the run. */
  async jobEnded(): Promise<never> {
    const now = await this.ctx.client.getJob(this.job.id, this.opts());
    if (isFinalJobStatus(now.status)) throw new JobEnded(now);
    throw new ConflictError(`Pleo refused a write to job ${this.job.id} while it is ${now.status}`, {
      code: 'UNPROCESSABLE',
      retryable: true,
    });
  }

  private async ended(job: ExportJob): Promise<JobResult> {
    await this.reporter.drain(false).catch(() => undefined);
    const before = await this.current();
    const expired = job.failureReasonType === 'job_expired' || (job.expiredAt ?? null) !== null;
    const ours =
      before.phase === 'completing' &&
      before.finalEvent === job.status &&
      !expired &&
      (job.status !== 'failed' || (job.failureReasonType ?? null) === before.failureReasonType);
    if (ours) {
      // Our final event was applied; only its response was lost.
      const done = await this.ctx.store.updateJob(this.fence, {
        phase: 'done',
        pleoStatus: job.status,
        completedAt: job.completedAt ?? new Date(this.ctx.now()).toISOString(),
      });
      const outcome = await result(this.ctx, done, 'completed');
      this.ctx.emit({ kind: 'job_completed', jobId: job.id, result: outcome });
      return outcome;
    }
    const done = await this.ctx.store.updateJob(this.fence, {
      phase: 'done',
      pleoStatus: job.status,
      failureReason: job.failureReason ?? null,
      failureReasonType: job.failureReasonType ?? null,
      completedAt: job.completedAt ?? job.expiredAt ?? new Date(this.ctx.now()).toISOString(),
    });
    this.log.warn(
      { jobId: job.id, status: job.status, failureReasonType: job.failureReasonType },
      'job ended at Pleo',
    );
    const outcome = await result(this.ctx, done, expired ? 'expired' : 'already_final');
    this.ctx.emit({ kind: 'job_completed', jobId: job.id, result: outcome });
    return outcome;
  }
}

async function result(
  ctx: CompiledEngine,
  job: JobRecord,
  disposition: JobResult['disposition'],
  deferredReason: string | null = null,
): Promise<JobResult> {
  return {
    companyId: job.companyId,
    jobId: job.jobId,
    disposition,
    deferredReason,
    event: job.finalEvent,
    failureReason: job.failureReason,
    failureReasonType: job.failureReasonType,
    counts: await ctx.store.counts(job),
    topFailures: await ctx.store.topFailures(job, 3),
  };
}
