/**
 * Engine options, events and results.
 *
 * Terminology (see also `src/store/types.ts`):
 * - **run**: one invocation of `runJob` for one job; a job may take several runs (crash, restart).
 * - **resumed run**: a run of a job some earlier run already acquired. It re-lists the job's items
 *   once to reconcile local state with Pleo's, and never re-sends `started`.
 * - **fatal**: a failure that ends the job at Pleo with a `failed` event (accounting system down
 *   for good, revoked credentials). Item-level failures are never fatal.
 */
import type { MappingResult } from '../accounting/index.js';
import type { ReceiptPolicy } from './attachments.js';
import type { EngineNumbers } from './compile.js';
import type { AccountingAdapter } from '../adapters/index.js';
import type {
  CompiledRetryPolicy,
  ExportItem,
  ExportJobEventType,
  ExportJobFailureReasonType,
  ExportJobItemFailureReasonType,
  PleoClient,
} from '../client/index.js';
import type { FailureSummary, JobCounts, Store } from '../store/index.js';

export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type EngineEvent =
  | { kind: 'job_discovered'; jobId: string; status: string; numberOfItems: number }
  | { kind: 'job_claimed'; jobId: string; resumed: boolean }
  /**
   * This run acquired the job's lease (a new fence). `previousOwner` held it before (null: nobody,
   * a job seen for the first time); another owner than `owner` means a lease takeover: that worker
   * died, stalled or stopped mid-job and this one resumes the job.
   */
  | { kind: 'lease_acquired'; jobId: string; owner: string; previousOwner: string | null }
  | { kind: 'job_skipped'; jobId: string; reason: string }
  | { kind: 'items_listed'; jobId: string; listed: number; total: number }
  | { kind: 'items_fetched'; jobId: string; fetched: number; total: number }
  | { kind: 'job_planned'; jobId: string; toProcess: number }
  | {
      kind: 'item_recorded';
      jobId: string;
      accountingEntryId: string;
      outcome: 'booked' | 'failed';
      /** The failure type of a failed item (null when booked): the daemon's item metrics key on it. */
      failureReasonType: ExportJobItemFailureReasonType | null;
      reused: boolean;
    }
  | { kind: 'items_reported'; jobId: string; accepted: number; rejected: number }
  | { kind: 'job_completed'; jobId: string; result: JobResult };

/** Step boundaries of a run; `onStep` fires at each (crash tests kill the process there). */
export type EngineStep =
  | 'claimed'
  | 'listed_page'
  | 'fetched_page'
  /** A page of export items staged while the job's items are still being listed (data-layer.ts). */
  | 'staged_page'
  | 'intent_recorded'
  | 'receipts_staged'
  | 'entry_written'
  | 'outcome_recorded'
  /** A group commit of intents and outcomes (progress.ts). */
  | 'progress_committed'
  | 'report_sent'
  | 'before_complete'
  | 'event_sent';

export interface EngineOptions extends EngineNumbers {
  store: Store;
  client: PleoClient;
  adapter: AccountingAdapter;
  /** Maps one export item to a balanced entry or an item failure (pure). */
  mapItem: (item: ExportItem, ctx: { jobId: string; companyId: string }) => MappingResult;
  /** Where receipts are kept (deterministic names), or null to not download them. */
  attachmentsDir: string | null;
  /** Size limit, accepted types and whether a receipt problem fails the item (accounting config). */
  receiptPolicy: ReceiptPolicy;
  /** Identifies this worker in the store's lease columns. @default `${hostname}:${pid}` */
  owner?: string;
  /** Retries of accounting-system calls that failed with a retryable error. */
  adapterRetry?: CompiledRetryPolicy;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  logger?: EngineLogger;
  onEvent?: (event: EngineEvent) => void;
  /** Called synchronously at every step boundary (tracing; crash tests). */
  onStep?: (step: EngineStep) => void;
}

export interface JobResult {
  companyId: string;
  jobId: string;
  /** What this run did with the job. */
  /**
   * - `completed`: our final event reached Pleo (`event` says which);
   * - `skipped`: Pleo refused `started` (422) and the job is still pending: the next poll tries again;
   * - `already_final` / `expired`: Pleo shows the job final (someone else ended it, or it expired);
   * - `interrupted`: stopped by a signal; the next run resumes it;
   * - `deferred`: a transient fault outlasted its retries (`deferredReason`): nothing failed, and
   *   the next run resumes where this one stopped.
   */
  disposition: 'completed' | 'skipped' | 'already_final' | 'expired' | 'interrupted' | 'deferred';
  /** Why the run was deferred (`disposition: 'deferred'`), else null. */
  deferredReason: string | null;
  event: ExportJobEventType | null;
  failureReason: string | null;
  failureReasonType: ExportJobFailureReasonType | null;
  counts: JobCounts | null;
  topFailures: FailureSummary[];
}
