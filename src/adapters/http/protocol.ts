/**
 * The generic HTTP accounting protocol (documented in `openapi/accounting-http-adapter.openapi.yml`)
 * and the one function that maps an ERP's HTTP answer to an item failure or a thrown error.
 */
import type { AccountingEntry, ItemFailure } from '../../accounting/index.js';
import type { ExportJobFailureReasonType, ExportJobItemFailureReasonType } from '../../client/index.js';
import { AccountingSystemError } from '../../errors/index.js';

export const PROTOCOL_VERSION = 'v1';

export interface AttachmentRef {
  key: string;
  name: string;
  contentType: string;
  size: number;
}

/** Body of `POST /v1/entries`. */
export interface CreateEntryRequest {
  entry: AccountingEntry;
  attachments: AttachmentRef[];
}

/** Body of a 200/201 answer to `POST /v1/entries` and of `GET /v1/entries/{key}`. */
export interface EntryRecord {
  externalId: string;
  externalUrl?: string;
  recordedAt: string;
}

/** Body of every 4xx/5xx answer. */
export interface ErrorBody {
  type?: string;
  message?: string;
}

const ITEM_TYPES = new Set<ExportJobItemFailureReasonType>([
  'receipt_upload_failure',
  'receipt_download_failure',
  'receipt_file_size_limit_exceeded',
  'receipt_conversion_failure',
  'invalid_configuration',
  'missing_configuration',
  'validation_failure',
  'accounting_system_validation_failure',
  'vendor_unknown',
  'account_unknown',
  'tax_code_unknown',
  'tag_unknown',
]);

const JOB_TYPES = new Set<ExportJobFailureReasonType>([
  'invalid_configuration',
  'missing_configuration',
  'accounting_system_authentication_failure',
  'accounting_system_rate_limit',
  'accounting_system_unreachable',
  'validation_failure',
  'authorization_failure',
  'integration_unusable',
  'accounting_system_timeout',
]);

export function isJobFailureType(type: unknown): type is ExportJobFailureReasonType {
  return typeof type === 'string' && JOB_TYPES.has(type as ExportJobFailureReasonType);
}

export function isItemFailureType(type: unknown): type is ExportJobItemFailureReasonType {
  return typeof type === 'string' && ITEM_TYPES.has(type as ExportJobItemFailureReasonType);
}

/** Milliseconds from a `Retry-After` header (seconds or HTTP date), capped at 10 minutes. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, 600_000);
}

/**
 * Maps an error status to what the caller does with it:
 * - 400/422 (and other unlisted 4xx): the ERP refused this entry → item failure, with the ERP's
 *   `type` when it is one of Pleo's item failure types, else `accounting_system_validation_failure`;
 * - 413/415 on an attachment → `receipt_file_size_limit_exceeded` / `receipt_conversion_failure`;
 * - 401/403 → thrown, not retryable (the job fails: credentials or permissions);
 * - 404 on the API itself → thrown `ACCOUNTING_UNUSABLE`, not retryable (wrong base URL);
 * - 408/504 → thrown timeout, retryable; 429 → thrown rate limit, retryable (Retry-After honoured);
 * - other 5xx → thrown, retryable (the entry key makes the retry safe).
 */
export function classifyHttpError(
  status: number,
  body: ErrorBody,
  request: { method: string; path: string; retryAfter: string | null; attachment?: boolean },
): ItemFailure {
  const where = `${request.method} ${request.path} → HTTP ${status}`;
  const detail = body.message ? `: ${body.message}` : '';
  const fail = (
    code:
      | 'ACCOUNTING_AUTH'
      | 'ACCOUNTING_UNREACHABLE'
      | 'ACCOUNTING_UNUSABLE'
      | 'ACCOUNTING_TIMEOUT'
      | 'ACCOUNTING_RATE_LIMITED',
    retryable: boolean,
  ): never => {
    const wait = retryAfterMs(request.retryAfter);
    throw new AccountingSystemError(`The accounting system answered ${where}${detail}`, {
      code,
      retryable,
      status,
      method: request.method,
      path: request.path,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  };
  if (status === 401 || status === 403) return fail('ACCOUNTING_AUTH', false);
  if (status === 404 && !body.type) return fail('ACCOUNTING_UNUSABLE', false);
  if (status === 408 || status === 504) return fail('ACCOUNTING_TIMEOUT', true);
  if (status === 429) return fail('ACCOUNTING_RATE_LIMITED', true);
  if (status >= 500) return fail('ACCOUNTING_UNREACHABLE', true);
  if (request.attachment && status === 413) {
    return {
      failureReasonType: 'receipt_file_size_limit_exceeded',
      failureReason: body.message ?? 'The accounting system refused the receipt because it is too large.',
    };
  }
  if (request.attachment && status === 415) {
    return {
      failureReasonType: 'receipt_conversion_failure',
      failureReason: body.message ?? 'The accounting system does not accept this receipt format.',
    };
  }
  const type = isItemFailureType(body.type)
    ? body.type
    : request.attachment
      ? 'receipt_upload_failure'
      : 'accounting_system_validation_failure';
  return {
    failureReasonType: type,
    failureReason: body.message ?? `The accounting system refused the entry (HTTP ${status}).`,
  };
}
