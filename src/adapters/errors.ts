/**
 * How an accounting-system failure is reported to Pleo. Adapters throw `AccountingSystemError`
 * (codes `ACCOUNTING_*`) for infrastructure faults; item-level refusals are returned as values.
 */
import type { ExportJobFailureReasonType } from '../client/index.js';
import { AccountingSystemError, type ExportError } from '../errors/index.js';

/**
 * The job (or item) failure type for an error thrown by an adapter. The `accounting_system_*`
 * values exist in both Pleo enums, so the engine can use the result for either.
 */
export function accountingFailureType(error: unknown): ExportJobFailureReasonType {
  if (!(error instanceof AccountingSystemError)) return 'accounting_system_unreachable';
  const e: ExportError = error;
  switch (e.code) {
    case 'ACCOUNTING_AUTH':
      return e.status === 403 ? 'authorization_failure' : 'accounting_system_authentication_failure';
    case 'ACCOUNTING_RATE_LIMITED':
      return 'accounting_system_rate_limit';
    case 'ACCOUNTING_TIMEOUT':
      return 'accounting_system_timeout';
    case 'ACCOUNTING_REJECTED':
      return 'validation_failure';
    default:
      return 'accounting_system_unreachable';
  }
}
