/**
 * Errors the simulator answers with. Every error body is the spec's `ExceptionInfo`
 * (`{type, message}`); `type` uses Pleo's spellings where Pleo documents one (the spec's
 * examples, docs/decisions.md#w4) and lower-case generic names otherwise.
 */

export type ErrorType =
  // documented by the spec's examples
  | 'EXPORT_NOT_FOUND'
  | 'EXPORT_ENTRY_NOT_FOUND'
  | 'EXPORT_ALREADY_IN_PROGRESS'
  | 'MISSING_CONTRA_ACCOUNTS'
  | 'EXPORT_JOB_ITEMS_UPDATE_LIMIT'
  | 'EXPORT_JOB_STATUS_UNPROCESSABLE'
  | 'INVALID_EXPORT_JOB_STATUS_CHANGE'
  // generic (Pleo's error-type list names `bad_request`, `required_parameter_missing`)
  | 'bad_request'
  | 'required_parameter_missing'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'url_expired'
  | 'internal_error'
  // injected faults; `rate_limited` also from the opt-in rate limit (rate-limit.ts)
  | 'rate_limited'
  | 'bad_gateway'
  | 'service_unavailable';

/** Thrown by handlers; the server turns it into `status` + `{type, message}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly type: ErrorType;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    type: ErrorType,
    message: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.headers = headers;
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);
export const jobNotFound = (): ApiError => new ApiError(404, 'EXPORT_NOT_FOUND', 'Export job not found.');
