/**
 * Pure decisions about outcomes: the job type matching item failures, what Pleo's answers mean.
 * No I/O. (What an accounting-system error means is decided once, in `adapters/errors.ts`.)
 */
import type { RecordOutcome } from '../adapters/index.js';
import type {
  ExportJobFailureReasonType,
  ExportJobItemFailureReasonType,
  ExportJobStatus,
} from '../client/index.js';
import { ExportError } from '../errors/index.js';

/** What ends a job with a `failed` event. */
export interface Fatal {
  failureReasonType: ExportJobFailureReasonType;
  failureReason: string;
}

export function unexpected(failureReason: string): RecordOutcome {
  return { status: 'failed', failureReasonType: 'unexpected_failure', failureReason };
}

/** Pleo answers 422 EXPORT_JOB_STATUS_UNPROCESSABLE (or 404) once a job is final or gone. */
export function isJobFinalError(error: unknown): boolean {
  return error instanceof ExportError && error.code === 'EXPORT_JOB_STATUS_UNPROCESSABLE';
}

export function eventStatus(event: string): ExportJobStatus {
  return event === 'completed' || event === 'completed_with_errors' || event === 'failed'
    ? event
    : 'in_progress';
}

export function normaliseDate(date: string): string {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? '9999-12-31T23:59:59.999Z' : new Date(ms).toISOString();
}

/** The job-level failure type matching an item failure type, when every item failed the same way. */
export function jobTypeFor(type: ExportJobItemFailureReasonType | undefined): ExportJobFailureReasonType {
  switch (type) {
    case 'invalid_configuration':
    case 'missing_configuration':
    case 'validation_failure':
    case 'authorization_failure':
    case 'accounting_system_authentication_failure':
    case 'accounting_system_rate_limit':
    case 'accounting_system_unreachable':
    case 'accounting_system_timeout':
      return type;
    case 'vendor_unknown':
    case 'account_unknown':
    case 'tax_code_unknown':
    case 'tag_unknown':
      return 'invalid_configuration';
    default:
      return 'validation_failure';
  }
}
