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

export type RecordOutcome = ({ status: 'booked' } & RecordedEntry) | ({ status: 'failed' } & ItemFailure);

/** A receipt already downloaded from Pleo and kept on local disk under a deterministic name. */
export interface StoredAttachment {
  /** Deterministic key: `${accountingEntryId}-${index}`; used as the upload idempotency key. */
  key: string;
  path: string;
  name: string;
  contentType: string;
  size: number;
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
  close(): Promise<void>;
}
