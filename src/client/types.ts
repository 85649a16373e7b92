/**
 * Pleo Export API (v3) types, as the rest of pleo-export sees them.
 *
 * Everything here is derived from `src/generated/export-v3.ts` (generated from Pleo's OpenAPI file).
 * Where the spec types a field as a plain `string` but documents an enum in its description
 * (NOTES.md §11.3), the field is narrowed to the union of the enum schema the spec ships.
 * Where the spec marks a field non-nullable but real responses may carry `null` (NOTES.md §11.4),
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
/** Items the integration still has to process (workflow doc §5). */
export function isOpenItemStatus(status: ExportJobItemStatus): boolean {
  return status === 'pending' || status === 'in_progress';
}

type Narrow<T, K extends keyof T, V> = Omit<T, K> & { [P in K]: V };

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
  type: ExportJobItemUpdateErrorType | string;
}

/** What `updateJobItems` returns across all batches: accepted items and per-item rejections. */
export interface ItemUpdateResult {
  accepted: ExportJobItem[];
  rejected: ItemUpdateRejection[];
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
  listJobs(
    query: { statuses?: ExportJobStatus[] },
    options?: PageOptions,
  ): AsyncIterable<Page<ExportJob>>;
  getJob(jobId: string, options?: { signal?: AbortSignal }): Promise<ExportJob>;
  createJob(request: CreateJobRequest, options?: { signal?: AbortSignal }): Promise<ExportJob>;
  /** 202 → resolves. 422 → throws ConflictError with code INVALID_EXPORT_JOB_STATUS_CHANGE. */
  sendJobEvent(event: JobEvent, options?: { signal?: AbortSignal }): Promise<void>;
  listJobItems(
    jobId: string,
    query: { status?: ExportJobItemStatus },
    options?: PageOptions,
  ): AsyncIterable<Page<ExportJobItem>>;
  /** Any number of updates, sent in batches of at most 100, in order. */
  updateJobItems(
    jobId: string,
    updates: readonly ItemUpdate[],
    options?: { signal?: AbortSignal },
  ): Promise<ItemUpdateResult>;
  listExportItems(jobId: string, options?: PageOptions): AsyncIterable<Page<ExportItem>>;
  /** Downloads a receipt (`files[].url`). Returns the bytes, or throws (expired URL → NotFoundError/AuthError). */
  downloadFile(url: string, options?: { signal?: AbortSignal; maxBytes?: number }): Promise<Uint8Array>;
}
