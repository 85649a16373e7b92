/**
 * From an HTTP answer (or the lack of one) to the project's error taxonomy (`src/errors`).
 *
 * {@link errorFromResponse} is the ONE place that maps an HTTP status plus Pleo's
 * `ExceptionInfo {type, message}` body to an error class, a stable code and a retryability
 * (house style rule 4, after stripe's `generateV1Error`). Messages name the method, the path
 * (never the query string: it may carry a pre-signed URL's signature), the status and Pleo's own
 * message, and pass through the client's redactor.
 */
import {
  AuthError,
  ConflictError,
  type ErrorCode,
  type ExportError,
  InvalidRequestError,
  NotFoundError,
  PleoApiError,
  RateLimitError,
  ServerError,
  TransportError,
} from '../errors/index.js';

export interface ResponseErrorContext {
  method: string;
  /** Pathname (or host + pathname for foreign URLs), no query string. */
  path: string;
  status: number;
  /** The parsed JSON body, when there was one. */
  body: unknown;
  requestId: string | undefined;
  retryAfterMs: number | undefined;
  /** Extra sentence appended to the message (e.g. "this was a retry…"). */
  note?: string;
  redact: (text: string) => string;
}

type ApiErrorClass = new (...args: ConstructorParameters<typeof PleoApiError>) => PleoApiError;

interface Mapping {
  cls: ApiErrorClass;
  code: ErrorCode;
  retryable: boolean;
}

/**
 * Pleo's documented `ExceptionInfo.type` values (docs/decisions.md#w4). The type wins
 * over the status when both are present, except for 401/403/429/5xx which always map by status.
 */
const PLEO_TYPES: Readonly<Record<string, Mapping>> = {
  // 404: the job (or entry) does not exist for these credentials. Permanent.
  EXPORT_NOT_FOUND: { cls: NotFoundError, code: 'EXPORT_NOT_FOUND', retryable: false },
  EXPORT_ENTRY_NOT_FOUND: { cls: NotFoundError, code: 'EXPORT_ENTRY_NOT_FOUND', retryable: false },
  // 422 on an event: illegal transition (e.g. `started` on a started or final job). After a
  // retried event this usually means our first attempt was applied: read the job to decide.
  INVALID_EXPORT_JOB_STATUS_CHANGE: {
    cls: ConflictError,
    code: 'INVALID_EXPORT_JOB_STATUS_CHANGE',
    retryable: false,
  },
  // 422 on item reads/updates: the job is finished; nothing more can be written to it.
  EXPORT_JOB_STATUS_UNPROCESSABLE: {
    cls: ConflictError,
    code: 'EXPORT_JOB_STATUS_UNPROCESSABLE',
    retryable: false,
  },
  // 413: more than 100 updates in one PUT. The client batches, so this is a programming error.
  EXPORT_JOB_ITEMS_UPDATE_LIMIT: {
    cls: InvalidRequestError,
    code: 'EXPORT_JOB_ITEMS_UPDATE_LIMIT',
    retryable: false,
  },
  // 400: the company has no contra accounts configured; a person must fix the configuration
  // (fail the job, or let it expire: docs/decisions.md#w17).
  MISSING_CONTRA_ACCOUNTS: { cls: InvalidRequestError, code: 'MISSING_CONTRA_ACCOUNTS', retryable: false },
  // 409: one unfinished job per company.
  EXPORT_ALREADY_IN_PROGRESS: { cls: ConflictError, code: 'EXPORT_ALREADY_IN_PROGRESS', retryable: false },
};

function byStatus(status: number): Mapping {
  if (status === 401) return { cls: AuthError, code: 'UNAUTHENTICATED', retryable: false };
  if (status === 403) return { cls: AuthError, code: 'FORBIDDEN', retryable: false };
  if (status === 429) return { cls: RateLimitError, code: 'RATE_LIMITED', retryable: true };
  // 501 Not Implemented / 505 HTTP Version Not Supported will not change on a retry.
  if (status === 501 || status === 505) return { cls: ServerError, code: 'SERVER_ERROR', retryable: false };
  if (status >= 500 && status <= 599) return { cls: ServerError, code: 'SERVER_ERROR', retryable: true };
  if (status === 408) return { cls: ServerError, code: 'TIMEOUT', retryable: true };
  if (status === 404 || status === 410) return { cls: NotFoundError, code: 'NOT_FOUND', retryable: false };
  if (status === 409) return { cls: ConflictError, code: 'CONFLICT', retryable: false };
  if (status === 422) return { cls: ConflictError, code: 'UNPROCESSABLE', retryable: false };
  if (status >= 400 && status <= 499)
    return { cls: InvalidRequestError, code: 'BAD_REQUEST', retryable: false };
  return { cls: PleoApiError, code: 'UNEXPECTED_STATUS', retryable: false };
}

/** Reads `ExceptionInfo {type, message}` out of an error body, tolerating anything else. */
export function exceptionInfo(body: unknown): { type: string | undefined; message: string | undefined } {
  if (typeof body !== 'object' || body === null) return { type: undefined, message: undefined };
  const record = body as Record<string, unknown>;
  const type = typeof record['type'] === 'string' ? record['type'] : undefined;
  const message = typeof record['message'] === 'string' ? record['message'] : undefined;
  return { type, message };
}

/** Maps a non-2xx answer to the taxonomy. See {@link PLEO_TYPES} and `byStatus` for the table. */
export function errorFromResponse(ctx: ResponseErrorContext): PleoApiError {
  const { type, message } = exceptionInfo(ctx.body);
  const statusWins = ctx.status === 401 || ctx.status === 403 || ctx.status === 429 || ctx.status >= 500;
  const known = type === undefined ? undefined : PLEO_TYPES[type.toUpperCase()];
  const mapping = !statusWins && known !== undefined ? known : byStatus(ctx.status);
  const text =
    `${ctx.method} ${ctx.path} failed with ${ctx.status}` +
    (type === undefined ? '' : ` ${type}`) +
    (message === undefined ? '' : `: ${message}`) +
    (ctx.note === undefined ? '' : ` (${ctx.note})`);
  return new mapping.cls(ctx.redact(text), {
    code: mapping.code,
    retryable: mapping.retryable,
    status: ctx.status,
    method: ctx.method,
    path: ctx.path,
    ...(ctx.requestId === undefined ? {} : { requestId: ctx.requestId }),
    ...(type === undefined ? {} : { pleoType: type }),
    ...(ctx.retryAfterMs === undefined ? {} : { retryAfterMs: ctx.retryAfterMs }),
  });
}

export type TransportFailureKind = 'timeout' | 'network' | 'aborted';

/**
 * An attempt that got no HTTP answer. `detail` is a short, credential-free description such as
 * an errno code (`ECONNREFUSED`); `cause` keeps the original error for debugging.
 */
export function transportError(
  kind: TransportFailureKind,
  ctx: { method: string; path: string; detail: string; cause: unknown; redact: (text: string) => string },
): ExportError {
  const what =
    kind === 'timeout' ? 'timed out' : kind === 'aborted' ? 'was aborted' : `failed (network: ${ctx.detail})`;
  return new TransportError(ctx.redact(`${ctx.method} ${ctx.path} ${what}`), {
    code: kind === 'timeout' ? 'TIMEOUT' : kind === 'aborted' ? 'ABORTED' : 'NETWORK',
    // An abort is the caller's decision: never retry it. Timeouts and network errors are transient.
    retryable: kind !== 'aborted',
    method: ctx.method,
    path: ctx.path,
    cause: sanitizeCause(ctx.cause, ctx.redact),
  });
}

/**
 * A copy of a low-level error that is safe to keep as `cause`: message and stack redacted, the
 * errno `code` kept, the rest of the chain dropped (a custom fetch may have put a header in it).
 */
export function sanitizeCause(cause: unknown, redact: (text: string) => string): unknown {
  if (cause === undefined) return undefined;
  if (!(cause instanceof Error)) {
    return new Error(redact(typeof cause === 'string' ? cause : Object.prototype.toString.call(cause)));
  }
  const copy = new Error(redact(cause.message));
  copy.name = cause.name;
  copy.stack = redact(cause.stack ?? `${cause.name}: ${cause.message}`);
  const code = networkErrorCode(cause);
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

/**
 * errno-style codes that prove the connection was never established, so the request cannot have
 * reached the server (used to allow retrying a non-idempotent create).
 */
const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Finds the first errno-style `code` in an error's cause chain (undici wraps it in `cause`). */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isConnectFailure(code: string | undefined): boolean {
  return code !== undefined && CONNECT_FAILURE_CODES.has(code);
}
