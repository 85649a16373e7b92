/**
 * The `Store` port: the engine's durable memory and the source of truth for progress.
 *
 * Terminology
 * - **job record**: the engine's view of one Pleo export job, keyed by (companyId, jobId).
 * - **phase**: how far the engine got with a job (below). Phases only move forward.
 * - **item record**: one accounting entry of a job, keyed by (companyId, jobId, accountingEntryId).
 * - **state**: how far the engine got with an item (below).
 * - **seq**: the item's place in the deterministic processing order (oldest `date` first, then
 *   `accountingEntryId`), assigned once when the job is planned and never changed.
 * - **fence**: a number handed out by `acquireJob`. Every write about a job carries it; a write
 *   with a stale fence (another worker acquired the job since) throws `LeaseLostError` and changes
 *   nothing. In embedded mode there is one worker, and fences still guard against a stale loop.
 * - **booking**: the fact that an entry was recorded in the accounting system; unique per
 *   (companyId, accountingEntryId), whatever job it came in.
 *
 * Job phases (module-level state machine):
 *
 *   discovered ─► claiming ─► claimed ─► items_listed ─► planned ─► completing ─► done
 *
 * - `claiming`: we are about to send `started` (intent recorded first, so a lost response followed
 *   by a 422 is recognised as our own claim).
 * - `claimed`: the job is `in_progress` at Pleo and ours to process.
 * - `items_listed`: every page of job items is stored (each page and its cursor in one transaction).
 * - `planned`: the data layer is stored and every in-scope item has its `seq`.
 * - `completing`: the final event is chosen and about to be sent (`finalEvent` says which).
 * - `done`: the job is final at Pleo (by our event, by expiry, or by someone else).
 *
 * Audit trail: every write above that changes an item also appends, in the same transaction, one
 * `AuditEvent` per item it changed (listed, data fetched, receipts stored, intent, booked/failed,
 * reported or rejected, reconciled). The trail is what `show` and the web console print; it is kept
 * until `pruneAudit` removes events older than the retention (`audit.retentionDays`).
 *
 * Item states:
 *
 *   listed ─► planned ─► booking ─► booked ─┐
 *     │          └─────────────────► failed ─┴─► (reported = true)
 *     └─► skipped   (already final at Pleo when listed: never processed)
 */
import type {
  ExportItem,
  ExportJobEventType,
  ExportJobFailureReasonType,
  ExportJobItemFailureReasonType,
  ExportJobItemStatus,
  ExportJobStatus,
} from '../client/index.js';

export const JOB_PHASES = [
  'discovered',
  'claiming',
  'claimed',
  'items_listed',
  'planned',
  'completing',
  'done',
] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

/** True when `phase` is `target` or later (phases only move forward). */
export function phaseReached(phase: JobPhase, target: JobPhase): boolean {
  return JOB_PHASES.indexOf(phase) >= JOB_PHASES.indexOf(target);
}

export const ITEM_STATES = ['listed', 'skipped', 'planned', 'booking', 'booked', 'failed'] as const;
export type ItemState = (typeof ITEM_STATES)[number];

export interface JobRef {
  companyId: string;
  jobId: string;
}

/** A write permit for one job; see `fence` in the terminology above. */
export interface Fence extends JobRef {
  token: number;
  owner: string;
}

export interface JobSnapshot extends JobRef {
  createdAt: string;
  pleoStatus: ExportJobStatus;
  vendorBasedBookkeeping: boolean;
  numberOfItems: number;
}

export interface JobRecord extends JobSnapshot {
  phase: JobPhase;
  /** Last committed `endCursor` of the job-items listing (null: start from the first page). */
  listCursor: string | null;
  /** Last committed `endCursor` of the export-items listing. */
  dataCursor: string | null;
  finalEvent: ExportJobEventType | null;
  failureReason: string | null;
  failureReasonType: ExportJobFailureReasonType | null;
  leaseOwner: string | null;
  fenceToken: number;
  /** How many times a worker acquired the job (1 = never resumed). */
  runs: number;
  discoveredAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface JobPatch {
  phase?: JobPhase;
  pleoStatus?: ExportJobStatus;
  listCursor?: string | null;
  dataCursor?: string | null;
  finalEvent?: ExportJobEventType | null;
  failureReason?: string | null;
  failureReasonType?: ExportJobFailureReasonType | null;
  completedAt?: string | null;
}

/** A receipt downloaded and kept on disk (see adapters' StoredAttachment). */
export interface AttachmentRecord {
  key: string;
  path: string;
  name: string;
  contentType: string;
  size: number;
  /** SHA-256 (hex) of the bytes downloaded: a file found in place is trusted only with this hash. */
  sha256?: string;
  /**
   * Identity of the file as written (device, inode, size, change and modification times; see
   * `fileIdentity` in engine/attachments.ts): a file in place with this identity holds the bytes
   * hashed, and is used without being read again.
   */
  file?: string;
}

export interface ItemFailureFields {
  failureReasonType: ExportJobItemFailureReasonType;
  failureReason: string;
}

export interface ItemRecord extends JobRef {
  accountingEntryId: string;
  /** The item's status at Pleo, as last listed or as accepted from our report. */
  pleoStatus: ExportJobItemStatus;
  state: ItemState;
  seq: number | null;
  /** The data layer's `date` (ISO), once fetched. */
  date: string | null;
  attempt: number;
  externalId: string | null;
  externalUrl: string | null;
  exportedAt: string | null;
  failureReason: string | null;
  failureReasonType: ExportJobItemFailureReasonType | null;
  reported: boolean;
  reportAttempts: number;
  reportError: string | null;
  attachments: AttachmentRecord[] | null;
  /** A failure decided while fetching the data layer (e.g. a receipt that could not be downloaded). */
  prefailure: ItemFailureFields | null;
  /** The entry's amount in the wallet currency (minor units), once fetched. */
  amount: { value: number; currency: string } | null;
  updatedAt: string;
}

export interface ItemWithPayload extends ItemRecord {
  payload: ExportItem | null;
}

/** One control-layer row as listed from Pleo. */
export interface ListedItem {
  accountingEntryId: string;
  status: ExportJobItemStatus;
  externalId?: string | null;
  externalUrl?: string | null;
  exportedAt?: string | null;
  failureReason?: string | null;
  failureReasonType?: ExportJobItemFailureReasonType | null;
}

export interface SaveListedPageResult {
  /** Rows seen for the first time. */
  inserted: number;
  /** Local outcomes that Pleo already holds (their report was accepted before a crash). */
  reconciled: number;
}

/** One data-layer row, with its receipts already downloaded (or the reason they could not be). */
export interface FetchedItem {
  accountingEntryId: string;
  date: string;
  payload: ExportItem;
  attachments: AttachmentRecord[];
  prefailure: ItemFailureFields | null;
}

/**
 * A page of export items read while the job's items were still being listed, kept by the store
 * until the listing is complete and the page can be committed (`stageFetchedPage`). Its receipts
 * are already downloaded. Only the run that staged a page reads it back (by its fence and
 * position); pages a run left behind are deleted when the job is planned or done.
 */
export interface StagedPage {
  /** The page's place in its run's reading of the data layer (0, 1, …). */
  position: number;
  items: readonly FetchedItem[];
  /** The page's `endCursor` (null when Pleo gave none). */
  cursor: string | null;
  /** The last page of the data layer. */
  complete: boolean;
}

export interface SaveFetchedPageResult {
  /** Rows stored (in scope and not yet planned). */
  stored: number;
  /** Export items whose entry is not in the job's control layer (ignored). */
  unknown: string[];
}

export type ItemOutcome =
  | {
      status: 'booked';
      externalId: string;
      externalUrl: string | null;
      exportedAt: string;
      /**
       * How the booking was learned when it was not written by this attempt: `lookup` = the item was
       * found in `booking` (the answer to an earlier write was lost) and `findExisting` found it.
       */
      resolvedBy?: 'lookup';
    }
  | ({ status: 'failed' } & ItemFailureFields);

/** What the intent knows about the write it announces (kept in the audit trail only). */
export interface IntentDetail {
  /** The balanced entry about to be written (JSON-serialisable; shown as the postings booked). */
  entry?: unknown;
}

/** An intent: the next write to the accounting system for this item is attempt `attempt`. */
export interface IntentRecord {
  accountingEntryId: string;
  attempt: number;
  detail?: IntentDetail;
}

/** Intents and outcomes of several items, committed together (outcomes first). */
export interface ProgressBatch {
  outcomes: readonly { accountingEntryId: string; outcome: ItemOutcome }[];
  intents: readonly IntentRecord[];
}

export const AUDIT_STEPS = [
  'listed',
  'reconciled',
  'data_fetched',
  'receipts_stored',
  'intent',
  'booked',
  'failed',
  'reported',
  'report_rejected',
] as const;
/**
 * - `listed`: the item was stored from a job-items page (`detail.pleoStatus`; `detail.skipped` when
 *   it was already final at Pleo).
 * - `reconciled`: a re-listing found Pleo holding a final status for it (`detail.pleoStatus`).
 * - `data_fetched`: its export data was stored (`detail.date`, `detail.prefailure`).
 * - `receipts_stored`: its receipts were downloaded and kept (`detail.receipts`: name, type, size).
 * - `intent`: attempt `attempt` of the write to the accounting system is about to happen
 *   (`detail.entry`: the balanced entry).
 * - `booked`: `detail.externalId`, `detail.externalUrl`, `detail.resolvedBy` (`lookup`),
 *   `detail.bookedInJob` (an earlier job's booking was reused).
 * - `failed`: `detail.failureReasonType`, `detail.failureReason`.
 * - `reported`: Pleo accepted the outcome (`detail.pleoStatus`).
 * - `report_rejected`: Pleo refused it (`detail.message`, `detail.giveUp`).
 */
export type AuditStep = (typeof AUDIT_STEPS)[number];

export interface AuditEvent {
  companyId: string;
  jobId: string;
  accountingEntryId: string;
  /** ISO time of the store write that recorded the step. */
  at: string;
  step: AuditStep;
  /** The booking attempt the step belongs to (0 before the first intent). */
  attempt: number;
  detail: Record<string, unknown>;
}

export interface BookingRecord {
  companyId: string;
  accountingEntryId: string;
  jobId: string;
  externalId: string;
  externalUrl: string | null;
  exportedAt: string;
}

export interface ReportRejection {
  accountingEntryId: string;
  message: string;
  /** Stop re-sending: the rejection is surfaced (report_error) and the item counts as reported. */
  giveUp?: boolean;
}

export interface JobCounts {
  total: number;
  byState: Record<ItemState, number>;
  /** Items whose final outcome Pleo has accepted (or held before we started). */
  reported: number;
  unreported: number;
  /** Among all items of the job (including skipped ones): final outcome at Pleo or locally. */
  successful: number;
  failed: number;
  /** Items whose export data is stored (or was found missing), skipped items excluded. */
  fetched: number;
}

export interface FailureSummary {
  failureReasonType: ExportJobItemFailureReasonType;
  failureReason: string;
  count: number;
}

/** How many jobs are in each phase, across companies (queue depth and progress for operators). */
export interface JobStats {
  byPhase: Record<JobPhase, number>;
}

/** Which items `listItems` returns, in processing order. */
export interface ItemFilter {
  states?: readonly ItemState[];
  pleoStatus?: ExportJobItemStatus;
  failureReasonType?: ExportJobItemFailureReasonType;
  /** @default 1000 */
  limit?: number;
  offset?: number;
}

/** Creating and upgrading the schema, and letting go of the connection(s). */
export interface StoreLifecycle {
  /** Creates or upgrades the schema. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/**
 * (a) Progress: the engine's writes, each one transaction under the job's fence (a stale fence
 * throws `LeaseLostError` and changes nothing), and the reads that drive them. The rules these
 * writes apply (reconciliation, planning) are decided once, in `rules.ts`, for every dialect.
 */
export interface ProgressStore {
  /** Inserts the job if new; otherwise refreshes its Pleo status (the phase is never moved back). */
  upsertJob(snapshot: JobSnapshot): Promise<JobRecord>;
  getJob(ref: JobRef): Promise<JobRecord | null>;
  /** Takes the job for `owner`: bumps the fence token so every older fence becomes stale. */
  acquireJob(ref: JobRef, owner: string): Promise<Fence>;
  /** Fenced patch of the job. */
  updateJob(fence: Fence, patch: JobPatch): Promise<JobRecord>;

  /** Stores one page of job items and the page's cursor in one transaction (idempotent). */
  saveListedPage(
    fence: Fence,
    page: { items: readonly ListedItem[]; cursor: string | null; complete: boolean },
  ): Promise<SaveListedPageResult>;
  /**
   * Stores one page of export items and its cursor in one transaction. With `complete`, also plans
   * the job in the same transaction: assigns `seq` by (date, accountingEntryId) to every in-scope
   * item, fails in-scope items that got no data, and moves the job to `planned`. With `staged`, the
   * page staged at that position under this fence is deleted in the same transaction. Moving the
   * job to `planned` or `done` deletes every page staged for it.
   */
  saveFetchedPage(
    fence: Fence,
    page: { items: readonly FetchedItem[]; cursor: string | null; complete: boolean; staged?: number },
  ): Promise<SaveFetchedPageResult>;
  /**
   * Keeps a page of export items read before the job's items are all listed (fenced; replaces a
   * page staged at the same position). Nothing else changes: the page is committed later, with
   * `saveFetchedPage`, once the listing is.
   */
  stageFetchedPage(fence: Fence, page: StagedPage): Promise<void>;
  /** The page staged at `position` under this fence, or null. */
  stagedPage(fence: Fence, position: number): Promise<StagedPage | null>;
  /** Of `accountingEntryIds`, those still waiting for their data (state `listed`). */
  entriesAwaitingData(ref: JobRef, accountingEntryIds: readonly string[]): Promise<Set<string>>;

  /** In-scope items still to process (`planned` or `booking`), by seq, after `afterSeq`. */
  itemsToProcess(ref: JobRef, afterSeq: number, limit: number): Promise<ItemWithPayload[]>;
  /**
   * Intents and outcomes of several items in one transaction (group commit): each as
   * `recordOutcome` / `markBooking` (progress-writes.ts) write one, with its audit event; all or nothing.
   */
  recordProgress(fence: Fence, progress: ProgressBatch): Promise<void>;
  findBooking(companyId: string, accountingEntryId: string): Promise<BookingRecord | null>;

  /** Outcomes not yet accepted by Pleo, by seq; with `maxSeq`, only up to it. */
  unreportedOutcomes(ref: JobRef, limit: number, maxSeq?: number): Promise<ItemRecord[]>;
  markReported(
    fence: Fence,
    accepted: readonly { accountingEntryId: string; pleoStatus: ExportJobItemStatus }[],
  ): Promise<void>;
  /** Each rejection counts one report attempt of its item, however often the transaction ran. */
  markReportRejected(fence: Fence, rejections: readonly ReportRejection[]): Promise<void>;
  /** Lowest seq among items still `planned`/`booking` (null when none): reports never pass it. */
  lowestOpenSeq(ref: JobRef): Promise<number | null>;
  /** How the job's items add up (`countItems` in `rules.ts`). */
  counts(ref: JobRef): Promise<JobCounts>;
  topFailures(ref: JobRef, limit: number): Promise<FailureSummary[]>;
}

/** (b) Reads for operators (CLI, console, metrics): never written through, never fenced. */
export interface OperatorReads {
  listJobs(filter?: {
    companyId?: string;
    phases?: readonly JobPhase[];
    limit?: number;
  }): Promise<JobRecord[]>;
  /**
   * The job with this id, whatever its company (job ids are UUIDs); null when it is not in the
   * store. One indexed lookup.
   */
  findJob(jobId: string): Promise<JobRecord | null>;
  /** Counts of jobs per phase across all companies (every phase present, zero when empty). */
  jobStats(): Promise<JobStats>;
  listItems(ref: JobRef, filter?: ItemFilter): Promise<ItemRecord[]>;
  /** Every item record of an entry across jobs (newest first), for `pleo-export show`. */
  findItemsByEntry(accountingEntryId: string): Promise<ItemWithPayload[]>;
  /**
   * The audit trail of an entry, oldest first (in the order the steps were written), across the
   * jobs it came in (only `jobId`'s with a job; only `companyId`'s with a company).
   */
  auditTrail(
    accountingEntryId: string,
    filter?: { companyId?: string; jobId?: string },
  ): Promise<AuditEvent[]>;
  /** Deletes audit events written before `before` (ISO); returns how many. */
  pruneAudit(before: string): Promise<number>;
}

/** (c) Small durable key-value records (OAuth tokens, subscription ids, webhook ids). */
export interface KeyValueStore {
  /** Remembers a webhook id; false when it was seen before (replay). */
  rememberWebhook(id: string, receivedAt: string): Promise<boolean>;
  /** Small durable key-value records (OAuth tokens, subscription ids), written atomically. */
  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string | null): Promise<void>;
  /**
   * Replaces the value of `key` only while it still equals `expected` (compare and set); false when
   * it changed meanwhile (or is gone). Used to re-write a value in a new form without losing a
   * concurrent update, e.g. a plain secret migrated to its encrypted form.
   */
  replaceValue(key: string, expected: string, next: string): Promise<boolean>;
}

/**
 * The `Store` port: every dialect (SQLite via node:sqlite, PostgreSQL via pg) implements this one
 * list and passes one contract suite (test/store/contract.ts).
 */
export interface Store extends StoreLifecycle, ProgressStore, OperatorReads, KeyValueStore {}
