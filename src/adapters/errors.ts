/**
 * What an accounting-system failure means for the export: the one mapping from an error thrown by
 * an adapter to the engine's three courses (the fault policy, README "Fault policy"). The engine's
 * retry loop, its pre-export validation, the adapters' own `validate` and `check` all decide
 * through it, so one error never has two meanings.
 *
 * - `transient`: a retry in a minute may well succeed (network, timeout, 429, 5xx, a locked
 *   journal). Retried with the same idempotency key, bounded and jittered, honouring Retry-After;
 *   when the retries run out the run stops for a later one, and nothing is failed.
 * - `item`: this entry was refused (`ACCOUNTING_REJECTED`: unbalanced, a 4xx about this entry):
 *   the item is reported failed with the Pleo failure type and the accounting system's reason.
 * - `job`: nothing this job could still do would help until a person acts (credentials revoked,
 *   `ACCOUNTING_AUTH`; the system unusable as configured, `ACCOUNTING_UNUSABLE`): the job fails.
 *
 * The `ACCOUNTING_*` codes decide by themselves, whatever `retryable` flag they carry: a refusal is
 * never retried, revoked credentials never wait for a later run, an unreachable system never fails
 * an entry. Any other code follows its `retryable` flag (retryable → transient, else this entry's
 * failure). Adapters throw `AccountingSystemError` (codes `ACCOUNTING_*`) for infrastructure faults
 * and return item-level refusals as values; an error an adapter did not classify (a bug) fails only
 * its item.
 */
import type { ExportJobFailureReasonType, ExportJobItemFailureReasonType } from '../client/index.js';
import { AccountingSystemError, describeError, ExportError } from '../errors/index.js';

export type AccountingFault =
  | {
      kind: 'transient';
      error: ExportError;
      /** The job failure type it stands for where it must be reported at once (`check`). */
      failureReasonType: ExportJobFailureReasonType;
    }
  | { kind: 'item'; failureReasonType: ExportJobItemFailureReasonType; failureReason: string }
  | { kind: 'job'; failureReasonType: ExportJobFailureReasonType; failureReason: string };

/** The job failure type of a transient fault, by what kept the accounting system from answering. */
function transientType(error: ExportError): ExportJobFailureReasonType {
  if (error.code === 'ACCOUNTING_TIMEOUT') return 'accounting_system_timeout';
  if (error.code === 'ACCOUNTING_RATE_LIMITED') return 'accounting_system_rate_limit';
  return 'accounting_system_unreachable';
}

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
  const transient = (): AccountingFault => ({
    kind: 'transient',
    error,
    failureReasonType: transientType(error),
  });
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
      return transient();
    // A refusal of this entry: the same request gets the same answer, whatever flag it carries.
    case 'ACCOUNTING_REJECTED':
      return refused();
    default:
      // Any other code (a file the adapter could not read, a client error…): its flag decides.
      return error.retryable ? transient() : refused();
  }
}

/**
 * The job failure a fault stands for when there is no entry to blame: pre-export validation
 * (the engine's and an adapter's own `validate`) and `check`. A refusal there means the accounting
 * system cannot take this company's export as configured (`invalid_configuration`); a transient
 * fault keeps its type (the engine defers the run instead; `check` reports it as it is).
 */
export function jobFailureOf(error: unknown): {
  failureReasonType: ExportJobFailureReasonType;
  failureReason: string;
} {
  const fault = classifyAccountingError(error);
  switch (fault.kind) {
    case 'job':
      return { failureReasonType: fault.failureReasonType, failureReason: fault.failureReason };
    case 'transient':
      return { failureReasonType: fault.failureReasonType, failureReason: describeError(error) };
    case 'item':
      return { failureReasonType: 'invalid_configuration', failureReason: describeError(error) };
  }
}
