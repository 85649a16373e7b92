/**
 * One error taxonomy for the whole project (house style rule 4).
 *
 * Every error we throw on purpose is an {@link ExportError}: it has a stable `code` (scripts and
 * metrics key on it), an explicit `retryable` flag (the only thing retry loops look at), and
 * context (`status`, `method`, `path`, `requestId`, `itemId`). Subclasses follow what the caller
 * can *do*, not where the error came from.
 *
 * Messages never contain credentials: the client builds them from method, path (no query string
 * secrets are ever put in paths), status and Pleo's own `message`.
 */

/** Every code an `ExportError` can carry: stable, scripts and metrics key on them. */
export const ERROR_CODES = [
  // Pleo's documented error types (ExceptionInfo.type)
  'EXPORT_NOT_FOUND',
  'EXPORT_ENTRY_NOT_FOUND',
  'INVALID_EXPORT_JOB_STATUS_CHANGE',
  'EXPORT_JOB_STATUS_UNPROCESSABLE',
  'EXPORT_JOB_ITEMS_UPDATE_LIMIT',
  'MISSING_CONTRA_ACCOUNTS',
  'EXPORT_ALREADY_IN_PROGRESS',
  // HTTP classes without a more specific Pleo type
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_REQUEST',
  'CONFLICT',
  'UNPROCESSABLE',
  'RATE_LIMITED',
  'SERVER_ERROR',
  'UNEXPECTED_STATUS',
  // transport
  'TIMEOUT',
  'NETWORK',
  'ABORTED',
  // protocol
  'MALFORMED_RESPONSE',
  'PAGINATION_STUCK',
  // more job items or export items than the job's numberOfItems (plus slack): a listing that never ends
  'LISTING_OVERFLOW',
  // auth flows
  'TOKEN_REFRESH_FAILED',
  'REAUTHORIZATION_REQUIRED',
  // configuration and input
  'INVALID_CONFIG',
  'INVALID_ARGUMENT',
  // a Pleo API response body larger than the client's `maxResponseBytes`
  'RESPONSE_TOO_LARGE',
  // downloads (receipt files): bigger than the caller's `maxBytes`
  'FILE_TOO_LARGE',
  // downloads: not the size Pleo declared for the file
  'FILE_SIZE_MISMATCH',
  // downloads: the URL (or a redirect, or the address it resolves to) is not allowed
  'DOWNLOAD_REFUSED',
  // accounting system
  'ACCOUNTING_UNREACHABLE',
  'ACCOUNTING_AUTH',
  'ACCOUNTING_RATE_LIMITED',
  'ACCOUNTING_TIMEOUT',
  'ACCOUNTING_REJECTED',
  // the accounting system cannot be used as configured (damaged journal, wrong base URL)
  'ACCOUNTING_UNUSABLE',
  // store
  'LEASE_LOST',
  // engine: a run stopped for a later retry (a transient fault outlasted its retries); nothing failed
  'RUN_DEFERRED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ExportErrorOptions {
  code: ErrorCode;
  retryable: boolean;
  cause?: unknown;
  status?: number;
  method?: string;
  path?: string;
  requestId?: string;
  itemId?: string;
  /** Pleo's `ExceptionInfo.type`, verbatim, when the error came from Pleo. */
  pleoType?: string;
  /** Milliseconds the server asked us to wait (Retry-After), when it said so. */
  retryAfterMs?: number;
}

export class ExportError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly requestId: string | undefined;
  readonly itemId: string | undefined;
  readonly pleoType: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: ExportErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retryable = options.retryable;
    this.status = options.status;
    this.method = options.method;
    this.path = options.path;
    this.requestId = options.requestId;
    this.itemId = options.itemId;
    this.pleoType = options.pleoType;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** A plain object for logs and `--json` output (no stack, no cause chain with secrets). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      retryable: this.retryable,
      message: this.message,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.method === undefined ? {} : { method: this.method }),
      ...(this.path === undefined ? {} : { path: this.path }),
      ...(this.itemId === undefined ? {} : { itemId: this.itemId }),
    };
  }
}

/** Raised when Pleo (or the simulator) answered with an HTTP error status. */
export class PleoApiError extends ExportError {}
/** 401/403: credentials missing, wrong, expired or without the needed scope. Not retryable blindly. */
export class AuthError extends PleoApiError {}
/** 429: slow down. Retryable, honours `retryAfterMs`. */
export class RateLimitError extends PleoApiError {}
/** 404 `EXPORT_NOT_FOUND` and friends. */
export class NotFoundError extends PleoApiError {}
/** 409/422: the request conflicts with the resource's state (job final, already started…). */
export class ConflictError extends PleoApiError {}
/** 400/413 and other client mistakes: fix the request, do not retry. */
export class InvalidRequestError extends PleoApiError {}
/** 5xx: the server failed; retryable. */
export class ServerError extends PleoApiError {}
/** The request never got an HTTP answer: DNS, refused, reset, timeout. Retryable. */
export class TransportError extends ExportError {}
/** The server answered 2xx with a body that does not match the contract. */
export class MalformedResponseError extends ExportError {}
/** A cursor that does not advance or a page that repeats items. */
export class PaginationError extends ExportError {}
/**
 * A download (receipt file) is bigger than the caller allowed. Permanent for that file: the engine
 * reports the item as failed with `receipt_file_size_limit_exceeded`.
 */
export class FileTooLargeError extends ExportError {}
/**
 * A download's body is not the size Pleo declared for the file (`files[].size`): it was cut off
 * as soon as it passed that size. Permanent for that URL.
 */
export class FileSizeMismatchError extends ExportError {}
/**
 * A download was refused before any byte was read: not https, a host outside the allow-list, an
 * address that is not on the public internet (after DNS resolution), or too many redirects.
 * Permanent: the URL came from Pleo's data and is not one we fetch.
 */
export class DownloadRefusedError extends ExportError {}
/**
 * A Pleo API response body passed the client's `maxResponseBytes` while it streamed; it was cut
 * off, never buffered whole. Permanent: the same request would get the same answer.
 */
export class ResponseTooLargeError extends ExportError {}
/** Bad configuration or bad CLI input: a person must fix it. */
export class ConfigError extends ExportError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'INVALID_CONFIG', retryable: false, cause });
  }
}
/** The accounting system failed (unreachable, auth, rate limit, timeout, rejection). */
export class AccountingSystemError extends ExportError {}
/** A worker lost its lease on a job: another worker owns it now; stop writing. */
export class LeaseLostError extends ExportError {
  constructor(message: string) {
    super(message, { code: 'LEASE_LOST', retryable: false });
  }
}

export function isExportError(error: unknown): error is ExportError {
  return error instanceof ExportError;
}
export function isConflictError(error: unknown): error is ConflictError {
  return error instanceof ConflictError;
}
export function isNotFoundError(error: unknown): error is NotFoundError {
  return error instanceof NotFoundError;
}

/** A one-line, human message for any thrown value (CLI output; never a stack trace). */
export function describeError(error: unknown): string {
  if (error instanceof ExportError) return `${error.message} [${error.code}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}
