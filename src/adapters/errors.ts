/**
 * What an accounting-system failure means for the export: the one mapping from an error thrown by
 * an adapter to the engine's three courses (the fault policy, README "Fault policy"):
 *
 * - `transient`: a retry in a minute may well succeed (network, timeout, 429, 5xx, a locked
 *   journal). Retried with the same idempotency key, bounded and jittered, honouring Retry-After;
 *   when the retries run out the run stops for a later one, and nothing is failed.
 * - `item`: this entry was refused (`ACCOUNTING_REJECTED`: unbalanced, a 4xx about this entry):
 *   the item is reported failed with the Pleo failure type and the accounting system's reason.
 * - `job`: nothing this job could still do would help until a person acts (credentials revoked,
 *   `ACCOUNTING_AUTH`; the system unusable as configured, `ACCOUNTING_UNUSABLE`): the job fails.
 *
 * Adapters throw `AccountingSystemError` (codes `ACCOUNTING_*`) for infrastructure faults and return
 * item-level refusals as values; an error an adapter did not classify (a bug) fails only its item.
 */
import type { ExportJobFailureReasonType, ExportJobItemFailureReasonType } from '../client/index.js';
import { AccountingSystemError, describeError, ExportError } from '../errors/index.js';

export type AccountingFault =
  | { kind: 'transient'; error: ExportError }
  | { kind: 'item'; failureReasonType: ExportJobItemFailureReasonType; failureReason: string }
  | { kind: 'job'; failureReasonType: ExportJobFailureReasonType; failureReason: string };

export function classifyAccountingError(error: unknown): AccountingFault {
  const detail = describeError(error);
  const refused = (): AccountingFault =>
    error instanceof AccountingSystemError
      ? {
          kind: 'item',
          failureReasonType: 'accounting_system_validation_failure',
          failureReason: `The accounting system refused this entry: ${detail}`,
        }
      : {
          kind: 'item',
          failureReasonType: 'unexpected_failure',
          failureReason: `The accounting adapter failed on this entry: ${detail}`,
        };
  if (!(error instanceof ExportError)) return refused();
  if (error.retryable) return { kind: 'transient', error };
  switch (error.code) {
    case 'ACCOUNTING_AUTH':
      return {
        kind: 'job',
        failureReasonType:
          error.status === 403 ? 'authorization_failure' : 'accounting_system_authentication_failure',
        failureReason: `The accounting system rejected the integration's credentials: reconnect it, then export again. ${detail}`,
      };
    case 'ACCOUNTING_UNUSABLE':
    case 'INVALID_CONFIG':
      return {
        kind: 'job',
        failureReasonType: 'invalid_configuration',
        failureReason: `The accounting system cannot be used as configured: ${detail}`,
      };
    // Unreachable, timeouts and rate limits are transient by nature, whatever flag they carry.
    case 'ACCOUNTING_UNREACHABLE':
    case 'ACCOUNTING_TIMEOUT':
    case 'ACCOUNTING_RATE_LIMITED':
    case 'ABORTED':
      return { kind: 'transient', error };
    default:
      // ACCOUNTING_REJECTED and any other code an adapter raised: this entry's refusal.
      return refused();
  }
}
