/**
 * The accounting-system port. Every adapter (`hledger/`, `http/`, the in-memory test adapter)
 * implements it and passes one conformance suite (`test/adapters/contract.ts`).
 *
 * Exactly-once rests on two adapter duties:
 * 1. `record` is keyed by `idempotencyKey` (= accountingEntryId): recording the same key twice must
 *    not create a second entry (return the existing one instead).
 * 2. `findExisting` finds an entry by that key, so a crash between "written to the accounting
 *    system" and "recorded locally" is reconciled rather than re-booked.
 */
import type { AccountingEntry, ItemFailure } from '../accounting/index.js';
import type { ExportJobFailureReasonType } from '../client/index.js';

export interface AdapterContext {
  companyId: string;
  signal?: AbortSignal;
}

export type ValidationResult =
  { ok: true } | { ok: false; failureReasonType: ExportJobFailureReasonType; failureReason: string };

export interface RecordedEntry {
  externalId: string;
  externalUrl?: string;
  /** ISO date-time the entry was created in the accounting system. */
  recordedAt: string;
}

/** An item the accounting system refused: reported failed with this type and reason. */
export type ItemRefusal = { status: 'failed' } & ItemFailure;

export type RecordOutcome = ({ status: 'booked' } & RecordedEntry) | ItemRefusal;

/** A receipt already downloaded from Pleo and kept on local disk under a deterministic name. */
export interface StoredAttachment {
  /** Deterministic key: `${accountingEntryId}-${index}`; used as the upload idempotency key. */
  key: string;
  path: string;
  name: string;
  contentType: string;
  size: number;
  /** SHA-256 (hex) of the file's content, when the engine recorded it at download time. */
  sha256?: string;
}

export interface AccountingAdapter {
  readonly name: string;
  /** True when several worker processes on several machines may write through it at once. */
  readonly supportsScaleOut: boolean;
  /** Pre-export validation: reachable, authorised, right company, configuration present. */
  validate(ctx: AdapterContext & { vendorBasedBookkeeping: boolean }): Promise<ValidationResult>;
  findExisting(idempotencyKey: string, ctx: AdapterContext): Promise<RecordedEntry | null>;
  /**
   * Records the entry (with its attachments linked) under `idempotencyKey`.
   * Item-level refusals are returned as `{status:'failed'}`; infrastructure failures throw an
   * `AccountingSystemError` whose `retryable` says whether to try again.
   */
  record(
    entry: AccountingEntry,
    ctx: AdapterContext & { idempotencyKey: string; attachments: readonly StoredAttachment[] },
  ): Promise<RecordOutcome>;
  /**
   * Optional: stores an entry's receipts in the accounting system ahead of its `record` call, so
   * that this work overlaps the writes of earlier entries. The engine calls it after the item's
   * intent is committed and outside the write turn: entries keep their order, receipts do not.
   * It must be idempotent by attachment key and must not create the entry (a receipt staged for an
   * entry that is then refused stays unlinked, and is overwritten by the next attempt). Returns
   * the item's failure (`receipt_*`) or null; infrastructure failures throw like `record`.
   * `record` still receives the same attachments and must accept them whether staged or not.
   */
  stageAttachments?(
    attachments: readonly StoredAttachment[],
    ctx: AdapterContext & { idempotencyKey: string },
  ): Promise<ItemRefusal | null>;
  /**
   * Optional: records several entries in one write to the accounting system (its group commit:
   * hledger appends them in one write and one fsync), in the order given. The engine calls it, when
   * offered, instead of `record`, with the entries whose turn has come and whose intents are
   * committed, one batch at a time at concurrency 1, so entries still reach the system in order.
   * It answers one settled result per entry, in order: what `record` would have returned, or the
   * error it would have thrown. It throws only for a fault of the whole write, after which any of
   * the entries may or may not be written: the engine retries the batch with the same keys, so, as
   * for `record`, an entry already recorded under its key must be returned, never written again.
   */
  recordBatch?(
    entries: readonly BatchEntry[],
    ctx: AdapterContext,
  ): Promise<PromiseSettledResult<RecordOutcome>[]>;
  close(): Promise<void>;
}

/** One entry of a `recordBatch` call: what `record` takes for it. */
export interface BatchEntry {
  entry: AccountingEntry;
  idempotencyKey: string;
  attachments: readonly StoredAttachment[];
}
