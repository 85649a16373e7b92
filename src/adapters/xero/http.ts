/**
 * One HTTP call to Xero's Accounting API, with the fault policy applied in one place.
 *
 * | Answer | What happens |
 * | --- | --- |
 * | 2xx | parsed JSON body |
 * | 400 `ValidationException` | an item refusal (value, not thrown) with Xero's messages, typed by `refusalFor` |
 * | 401 | one token refresh, then the call again; a second 401 is a job failure (reconnect) |
 * | 403 | job failure: the tenant is not connected to the app, or the user lost access |
 * | 429 minute/concurrent limit | wait Retry-After (capped, jittered), whole tenant paused, then again |
 * | 429 daily limit | thrown at once as retryable `ACCOUNTING_RATE_LIMITED` with `retryAfterMs`: the run stops for later, no item fails |
 * | 5xx, network error, timeout | capped exponential backoff with jitter, `maxAttempts` in all |
 *
 * Retrying a create is safe because every create carries an `Idempotency-Key` (Xero answers the
 * first response again for a repeated key); reads are idempotent by nature.
 */
import type { ExportJobItemFailureReasonType } from '../../client/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import type { ItemRefusal } from '../types.js';
import type { LimiterClock, TenantLimiter } from './limiter.js';
import { authError, RECONNECT_HINT, type TokenSource } from './oauth.js';

export interface XeroRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** Path below the base URL, e.g. `/BankTransactions`. */
  path: string;
  query?: Record<string, string>;
  json?: unknown;
  /** Raw bytes (attachments), sent with `contentType`. */
  bytes?: Uint8Array;
  contentType?: string;
  idempotencyKey?: string;
  signal?: AbortSignal | undefined;
}

export type XeroAnswer<T> = { ok: true; body: T } | ({ ok: false } & ItemRefusal);

export interface XeroHttpOptions {
  baseUrl: string;
  tenantId: string;
  tokens: TokenSource;
  limiter: TenantLimiter;
  clock: LimiterClock;
  fetch: typeof fetch;
  timeoutMs: number;
  maxAttempts: number;
  maxDelayMs: number;
  /** 0..1; tests pass a fixed value. @default Math.random */
  random?: () => number;
}

export interface XeroHttp {
  call<T>(request: XeroRequest): Promise<XeroAnswer<T>>;
}

interface XeroErrorBody {
  Type?: string;
  Message?: string;
  Detail?: string;
  Title?: string;
  Elements?: { ValidationErrors?: { Message?: string }[] }[];
}

const BASE_DELAY_MS = 500;

/** The Pleo item failure type for Xero's validation messages (first match wins). */
export function refusalFor(messages: readonly string[]): ItemRefusal {
  const text = messages.join(' ');
  const typed = (failureReasonType: ExportJobItemFailureReasonType, failureReason: string): ItemRefusal => ({
    status: 'failed',
    failureReasonType,
    failureReason: failureReason.slice(0, 1000),
  });
  if (/lock date|locked period|period lock/i.test(text)) {
    return typed(
      'accounting_system_validation_failure',
      `Xero refused the entry: ${text} The period is closed in Xero: move the lock date (Xero → Settings → Advanced → Financial settings), or set accounting.lockDate with closedPeriod: move so entries of closed periods are booked on the first open day.`,
    );
  }
  if (/account code|AccountCode|account .*(not valid|does not exist|archived)/i.test(text)) {
    return typed(
      'account_unknown',
      `Xero refused an account: ${text} Check the category's account code in Xero's chart of accounts.`,
    );
  }
  if (/tax ?type|tax rate/i.test(text)) {
    return typed(
      'tax_code_unknown',
      `Xero refused a tax rate: ${text} Check adapter.taxTypes against Xero → Settings → Tax rates.`,
    );
  }
  if (/tracking/i.test(text)) {
    return typed(
      'tag_unknown',
      `Xero refused a tracking option: ${text} Add the option to the tracking category in Xero or check adapter.tracking.`,
    );
  }
  if (/contact/i.test(text)) {
    return typed('vendor_unknown', `Xero refused the contact: ${text}`);
  }
  return typed('accounting_system_validation_failure', `Xero refused the entry: ${text}`);
}

function retryAfterMs(headers: Headers, now: number): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function createXeroHttp(options: XeroHttpOptions): XeroHttp {
  const random = options.random ?? Math.random;
  const base = options.baseUrl.replace(/\/+$/, '');

  const backoff = (attempt: number): number => {
    const cap = Math.min(options.maxDelayMs, BASE_DELAY_MS * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (random() * cap) / 2);
  };

  async function once(request: XeroRequest, token: string): Promise<Response> {
    const url = new URL(base + request.path);
    for (const [k, v] of Object.entries(request.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'xero-tenant-id': options.tenantId,
      accept: 'application/json',
    };
    let body: string | Uint8Array | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.bytes !== undefined) {
      headers['content-type'] = request.contentType ?? 'application/octet-stream';
      body = request.bytes;
    }
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    return options.fetch(url, {
      method: request.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
    });
  }

  const describe = (request: XeroRequest): string => `${request.method} ${request.path}`;

  return {
    async call<T>(request: XeroRequest): Promise<XeroAnswer<T>> {
      let token = await options.tokens.accessToken(request.signal);
      let refreshed = false;
      let lastError: AccountingSystemError | undefined;
      for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
        request.signal?.throwIfAborted();
        let response: Response;
        let text: string;
        try {
          ({ response, text } = await options.limiter.run(async () => {
            const r = await once(request, token);
            return { response: r, text: await r.text() };
          }, request.signal));
        } catch (error) {
          if (request.signal?.aborted) throw error;
          const timedOut = (error as Error).name === 'TimeoutError';
          lastError = new AccountingSystemError(
            `Xero ${describe(request)} ${timedOut ? 'timed out' : `failed: ${(error as Error).message}`}`,
            {
              code: timedOut ? 'ACCOUNTING_TIMEOUT' : 'ACCOUNTING_UNREACHABLE',
              retryable: true,
              cause: error,
            },
          );
          if (attempt < options.maxAttempts) await options.clock.sleep(backoff(attempt), request.signal);
          continue;
        }
        const status = response.status;
        if (status >= 200 && status < 300) {
          return { ok: true, body: (text === '' ? {} : JSON.parse(text)) as T };
        }
        let err: XeroErrorBody = {};
        try {
          err = JSON.parse(text) as XeroErrorBody;
        } catch {
          // a non-JSON error page: the status decides
        }
        if (status === 400 && err.Type === 'ValidationException') {
          const messages = (err.Elements ?? [])
            .flatMap((e) => e.ValidationErrors ?? [])
            .map((v) => v.Message ?? '')
            .filter(Boolean);
          return {
            ok: false,
            ...refusalFor(messages.length > 0 ? messages : [err.Message ?? 'validation failed']),
          };
        }
        if (status === 401) {
          if (!refreshed) {
            refreshed = true;
            token = await options.tokens.refreshAfterRejection(token, request.signal);
            attempt--;
            continue;
          }
          throw authError(
            `Xero refused the access token for ${describe(request)} (401). ${RECONNECT_HINT}`,
            401,
          );
        }
        if (status === 403) {
          throw authError(
            `Xero refused access to tenant ${options.tenantId} (403 ${err.Detail ?? err.Title ?? ''}): the organisation is not connected to this app or the connecting user lost access. Check adapter.tenantId (GET https://api.xero.com/connections lists the connected ones). ${RECONNECT_HINT}`,
            403,
          );
        }
        if (status === 429) {
          const wait = retryAfterMs(response.headers, options.clock.now()) ?? backoff(attempt);
          const problem = response.headers.get('x-rate-limit-problem')?.toLowerCase();
          const daily = problem === 'day' || response.headers.get('x-daylimit-remaining') === '0';
          const error = new AccountingSystemError(
            daily
              ? `Xero's daily API limit for tenant ${options.tenantId} is used up: the run stops and resumes after ${Math.ceil(wait / 60_000)} min`
              : `Xero rate limit (${problem ?? 'unknown'}) on ${describe(request)}`,
            { code: 'ACCOUNTING_RATE_LIMITED', retryable: true, status, retryAfterMs: wait },
          );
          if (daily || wait > options.maxDelayMs) throw error;
          lastError = error;
          const jittered = wait + Math.round(random() * 250);
          options.limiter.pauseUntil(options.clock.now() + jittered);
          continue;
        }
        if (status >= 500 || status === 408) {
          const wait = retryAfterMs(response.headers, options.clock.now());
          lastError = new AccountingSystemError(`Xero ${describe(request)} answered HTTP ${status}`, {
            code: 'ACCOUNTING_UNREACHABLE',
            retryable: true,
            status,
          });
          if (attempt < options.maxAttempts) {
            await options.clock.sleep(Math.min(options.maxDelayMs, wait ?? backoff(attempt)), request.signal);
          }
          continue;
        }
        const detail = err.Message ?? err.Detail ?? err.Title ?? text.slice(0, 300);
        if (status === 400) {
          return { ok: false, ...refusalFor([detail]) };
        }
        throw new AccountingSystemError(`Xero ${describe(request)} answered HTTP ${status}: ${detail}`, {
          code: 'ACCOUNTING_REJECTED',
          retryable: false,
          status,
        });
      }
      throw (
        lastError ??
        new AccountingSystemError(`Xero ${describe(request)} failed`, {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
        })
      );
    },
  };
}
