/**
 * Pleo Export API (v3) types, as the rest of pleo-export sees them.
 *
 * Everything here is derived from `src/generated/export-v3.ts` (generated from Pleo's OpenAPI file).
 * Where the spec types a field as a plain `string` but documents an enum in its description
 * (docs/decisions.md#s3), the field is narrowed to the union of the enum schema the spec ships.
 * Where the spec marks a field non-nullable but real responses may carry `null` (docs/decisions.md#s4),
 * the field accepts `null` too.
 *
 * Terminology:
 * - **job**: an Export Job (`/v3/export-jobs`), one batch a bookkeeper sent to export.
 * - **job item**: the control layer (`/v3/export-jobs/{id}/items`): per entry status and tracking fields.
 * - **export item**: the data layer (`/v3/export-items?job_id=`): the accounting payload.
 * - **entry id**: `accountingEntryId`, the key of everything.
 */
import type { components } from '../generated/export-v3.js';

type Schemas = components['schemas'];

export type ExportJobStatus = Schemas['ExportJobStatus'];
export type ExportJobEventType = Schemas['ExportJobEventType'];
export type ExportJobFailureReasonType = Schemas['ExportJobFailureReasonType'];
export type ExportJobItemStatus = Schemas['ExportJobItemStatus'];
export type ExportJobItemFailureReasonType = Schemas['ExportJobItemFailureReasonType'];
export type ExportJobItemUpdateErrorType = Schemas['ExportJobItemUpdateErrorType'];
export type ExportItemType = Schemas['ExportItemTypeV3'];
export type ExportItemSubType = Schemas['ExportItemSubTypeV3'];
export type TaxType = Schemas['TaxTypeV3'];
export type BookkeepingMethod = Schemas['BookkeepingMethodV3'];
export type InvoiceStatus = Schemas['InvoiceInformationStatusV3'];
export type PageOrder = Schemas['PageOrder'];

export const JOB_STATUSES = [
  'pending',
  'in_progress',
  'failed',
  'completed',
  'completed_with_errors',
] as const satisfies readonly ExportJobStatus[];
export const FINAL_JOB_STATUSES = [
  'failed',
  'completed',
  'completed_with_errors',
] as const satisfies readonly ExportJobStatus[];
export const ITEM_STATUSES = [
  'pending',
  'in_progress',
  'failed',
  'successful',
  'abandoned',
] as const satisfies readonly ExportJobItemStatus[];

export function isFinalJobStatus(status: ExportJobStatus): boolean {
  return status === 'failed' || status === 'completed' || status === 'completed_with_errors';
}
/** Items the integration still has to process (docs/decisions.md#w16). */
export function isOpenItemStatus(status: ExportJobItemStatus): boolean {
  return status === 'pending' || status === 'in_progress';
}

/** Replaces the type of `K` in `T` by `V`, keeping `K` optional when the spec made it optional. */
type Narrow<T, K extends keyof T, V> = Omit<T, K> &
  (Record<never, never> extends Pick<T, K> ? { [P in K]?: V } : { [P in K]: V });

export type ExportJob = Narrow<
  Narrow<Schemas['ExportJobV3'], 'status', ExportJobStatus>,
  'failureReasonType',
  ExportJobFailureReasonType | null | undefined
>;

export type ExportJobItem = Narrow<
  Narrow<Schemas['ExportJobItemV3'], 'status', ExportJobItemStatus>,
  'failureReasonType',
  ExportJobItemFailureReasonType | null | undefined
>;

export type ExportItemTax = Narrow<Schemas['TaxV3'] & object, 'type', TaxType>;
export type ExportItemLine = Narrow<Schemas['ExportItemLineV3'], 'tax', ExportItemTax | null | undefined>;
export type ExportItemBookkeeping = { method: BookkeepingMethod };

/** One export item (data layer), with the documented enums narrowed. */
export type ExportItem = Omit<
  Schemas['ExportItemV3'],
  'type' | 'subType' | 'accountingEntryLines' | 'bookkeeping'
> & {
  type: ExportItemType;
  subType?: ExportItemSubType | null;
  accountingEntryLines: ExportItemLine[];
  bookkeeping?: ExportItemBookkeeping | null;
};

export type Money = Schemas['MoneyModel'];
export type CursorPageInfo = Schemas['CursorPageInfo'];
export interface Page<T> {
  data: T[];
  pagination: CursorPageInfo;
}

/** Request element of `PUT /v3/export-jobs/{jobId}/items`. Optional fields are omitted, never null. */
export interface ItemUpdate {
  accountingEntryId: string;
  status: ExportJobItemStatus;
  exportedAt?: string;
  externalId?: string;
  externalUrl?: string;
  failureReason?: string;
  failureReasonType?: ExportJobItemFailureReasonType;
}

export interface ItemUpdateRejection {
  accountingEntryId: string;
  message: string;
  /** One of ExportJobItemUpdateErrorType, or a value Pleo added later (a plain string in the spec). */
  type: ExportJobItemUpdateErrorType | (string & Record<never, never>);
}

/** What `updateJobItems` returns across all batches: accepted items and per-item rejections. */
export interface ItemUpdateResult {
  accepted: ExportJobItem[];
  rejected: ItemUpdateRejection[];
}

/** One PUT of `updateJobItems` (at most 100 updates), reported through `onBatch` once Pleo answered 200. */
export interface ItemUpdateBatch extends ItemUpdateResult {
  /** 0-based batch number within the call. */
  index: number;
  /** The updates this batch sent, as sent. */
  updates: readonly ItemUpdate[];
}

export interface UpdateItemsOptions {
  signal?: AbortSignal;
  /**
   * Awaited after each batch Pleo accepted, in order, before the next batch is sent: lets the
   * engine record progress per batch, so a failure in batch 3 does not make it re-send 1 and 2.
   */
  onBatch?: (batch: ItemUpdateBatch) => void | Promise<void>;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Larger files throw FileTooLargeError (code FILE_TOO_LARGE). @default the client's maxDownloadBytes */
  maxBytes?: number;
  /**
   * The size Pleo declared for the file (`files[].size`). When given, a body of any other size is
   * refused with FileSizeMismatchError (code FILE_SIZE_MISMATCH), and a longer one is cut off as
   * soon as it passes this size: nothing past it is buffered.
   */
  expectedBytes?: number;
}

/** A downloaded receipt: its bytes, their count, and their SHA-256 (computed while streaming). */
export interface DownloadedFile {
  readonly bytes: Uint8Array;
  readonly byteLength: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

export interface JobEvent {
  jobId: string;
  event: ExportJobEventType;
  failureReason?: string;
  failureReasonType?: ExportJobFailureReasonType;
}

export interface CreateJobRequest {
  companyId: string;
  accountingEntryIds: string[];
  employeeId?: string;
  isInteractive?: boolean;
  vendorBasedBookkeeping?: boolean;
}

export interface PageOptions {
  /** Page size (`limit`). @default 100 */
  pageSize?: number;
  /** Resume after this cursor (a previously stored `endCursor`). */
  after?: string;
  signal?: AbortSignal;
}

/**
 * The port the engine depends on: one instance is bound to one company's credentials.
 * Implemented by `createPleoClient`; tests and benchmarks may provide their own.
 */
export interface PleoClient {
  readonly companyId: string;
  listJobs(query: { statuses?: ExportJobStatus[] }, options?: PageOptions): AsyncIterable<Page<ExportJob>>;
  getJob(jobId: string, options?: { signal?: AbortSignal }): Promise<ExportJob>;
  createJob(request: CreateJobRequest, options?: { signal?: AbortSignal }): Promise<ExportJob>;
  /** 202 → resolves. 422 → throws ConflictError with code INVALID_EXPORT_JOB_STATUS_CHANGE. */
  sendJobEvent(event: JobEvent, options?: { signal?: AbortSignal }): Promise<void>;
  listJobItems(
    jobId: string,
    query: { status?: ExportJobItemStatus },
    options?: PageOptions,
  ): AsyncIterable<Page<ExportJobItem>>;
  /**
   * Any number of updates, sent in batches of at most 100, in order. Per-item rejections from the
   * 200 answer's `errors[]` are returned in `rejected`, not thrown. A thrown error means the
   * failing batch and those after it were not (known to be) applied; earlier batches were
   * (see `onBatch`).
   */
  updateJobItems(
    jobId: string,
    updates: readonly ItemUpdate[],
    options?: UpdateItemsOptions,
  ): Promise<ItemUpdateResult>;
  listExportItems(jobId: string, options?: PageOptions): AsyncIterable<Page<ExportItem>>;
  /**
   * Downloads a receipt (`files[].url`, pre-signed, valid 24 h). Sends no credentials. Returns the
   * bytes, or throws (expired URL → AuthError FORBIDDEN / NotFoundError; too big → FileTooLargeError).
   */
  downloadFile(url: string, options?: DownloadOptions): Promise<Uint8Array>;
  /**
   * {@link downloadFile}, also returning the byte count and the SHA-256 of the content. Refused
   * (DownloadRefusedError, code DOWNLOAD_REFUSED) before any byte is read when the URL, a
   * redirect or an address it resolves to is not allowed (see the client's `downloads` option).
   */
  download(url: string, options?: DownloadOptions): Promise<DownloadedFile>;
}
