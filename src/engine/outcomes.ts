/**
 * Pure decisions about outcomes: the job failure a fatal error maps to, the job type matching item
 * failures, what Pleo's answers mean. No I/O.
 */
import type { RecordOutcome } from '../adapters/index.js';
import type {
  ExportJobFailureReasonType,
  ExportJobItemFailureReasonType,
  ExportJobStatus,
} from '../client/index.js';
import { describeError, ExportError } from '../errors/index.js';

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

/** Maps an accounting-system failure that ends the job to Pleo's job failure type and a message. */
export function fatalFromError(error: unknown): Fatal {
  const detail = describeError(error);
  if (error instanceof ExportError) {
    switch (error.code) {
      case 'ACCOUNTING_UNREACHABLE':
        return {
          failureReasonType: 'accounting_system_unreachable',
          failureReason: `Failed to reach the Accounting System. ${detail}`,
        };
      case 'ACCOUNTING_AUTH':
        return {
          failureReasonType: 'accounting_system_authentication_failure',
          failureReason: `The accounting system rejected the integration's credentials: reconnect it, then export again. ${detail}`,
        };
      case 'ACCOUNTING_RATE_LIMITED':
        return {
          failureReasonType: 'accounting_system_rate_limit',
          failureReason: `The accounting system kept rate-limiting the export. ${detail}`,
        };
      case 'ACCOUNTING_TIMEOUT':
        return {
          failureReasonType: 'accounting_system_timeout',
          failureReason: `The accounting system did not answer in time. ${detail}`,
        };
      default:
        break;
    }
  }
  return { failureReasonType: 'integration_unusable', failureReason: `The integration failed: ${detail}` };
}
