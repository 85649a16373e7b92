/**
 * One HTTP call, made resilient: adaptive pacing (rate-limit.ts), authentication (with one refresh-and-replay after
 * a 401 for OAuth), a per-attempt timeout covering the body, caller cancellation, bounded retries
 * per {@link RETRY_RULES}, and an `onRequest` event per attempt.
 *
 * A call goes through these states, one loop iteration per attempt:
 *
 *   pace (slot, pause, rate) → authorize → send + read (timeout) → success: return
 *                                                          → 401 + OAuth, first time: refresh → next attempt
 *                                                          → failure: decideRetry → sleep → next attempt
 *                                                                                 → throw
 *
 * Every attempt's outcome is fed back to its pacer (2xx: faster; 429/5xx: slower, `Retry-After`
 * pauses the client), and its slot is released before any retry sleep.
 */
import {
  type ExportError,
  isExportError,
  MalformedResponseError,
  ResponseTooLargeError,
  TransportError,
} from '../errors/index.js';
import type { AuthStrategy } from './authorization.js';
import { errorFromResponse, isConnectFailure, networkErrorCode, transportError } from './errors.js';
import type { CompiledClientOptions, PleoOperation, RequestEvent } from './options.js';
import { Pacer, type PaceOutcome, type Permit } from './rate-limit.js';
import { readBytes } from './body.js';
import type { Redactor } from './redact.js';
import { watchSent } from './sent.js';
import { type AttemptFailure, decideRetry, parseRetryAfter, type RetrySafety } from './retry.js';

export interface HttpCall<T> {
  operation: PleoOperation;
  method: 'GET' | 'POST' | 'PUT';
  url: URL;
  /** Shown in messages and events: pathname (foreign hosts: host + pathname). Never the query. */
  path: string;
  /** Serialised as JSON. */
  body?: unknown;
  /**
   * Send the Authorization header and go through the API's pacer. `false` for pre-signed receipt
   * downloads: no credentials, and the file host's own pacer (a 429/503 from the file host says
   * nothing about the API, and the other way round).
   */
  authenticated: boolean;
  safety: RetrySafety;
  signal: AbortSignal | undefined;
  /** Reads a 2xx response; runs under the attempt's timeout and signal. */
  read: (response: Response, signal: AbortSignal) => Promise<T>;
  /**
   * Sends the request instead of the client's `fetch` (receipt downloads: the checked transport
   * that follows redirects by hand). @default the client's `fetch`, redirects not followed
   */
  send?: (url: URL, init: RequestInit) => Promise<Response>;
  /**
   * Told once the request's headers are on the wire (sent.ts; the client's `fetch` only, and only
   * when it is Node's). Lets a caller that sent a request ahead start CPU work without holding the
   * request back.
   */
  onSent?: () => void;
}

type AttemptOutcome<T> =
  | { ok: true; value: T; status: number }
  | {
      ok: false;
      status: number | undefined;
      /** undefined: permanent, no rule applies (e.g. a malformed 2xx body). */
      failure: AttemptFailure | undefined;
      /** Builds the error; `unsafe` marks a failure left unretried because the request may have been applied. */
      error: (note: { attempt: number; unsafe: boolean }) => ExportError;
    };

/** Bytes of an error body we read to find Pleo's `ExceptionInfo`; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const JSON_MEDIA_TYPE = 'application/json;charset=UTF-8';

export { readBytes } from './body.js';

export class HttpTransport {
  /** Pacing of the Pleo API; `undefined` when pacing is off (`rateLimit: false`). */
  readonly apiPacer: Pacer | undefined;
  /** Pacing of the receipt file host: adaptive only, no ceiling, no concurrency cap of its own. */
  readonly filePacer: Pacer | undefined;
  private readonly options: CompiledClientOptions;
  private readonly auth: AuthStrategy;
  private readonly redactor: Redactor;

  constructor(options: CompiledClientOptions, auth: AuthStrategy, redactor: Redactor) {
    this.options = options;
    this.auth = auth;
    this.redactor = redactor;
    const { rateLimit, clock, sleep } = options;
    const maxPauseMs = options.retry.maxRetryAfterMs;
    if (rateLimit === false) {
      this.apiPacer = undefined;
      this.filePacer = undefined;
      return;
    }
    const { requestsPerSecond, burst, maxConcurrency } = rateLimit;
    this.apiPacer = new Pacer({
      maxConcurrency,
      ...(requestsPerSecond === undefined ? {} : { ceiling: { requestsPerSecond, burst: burst ?? 1 } }),
      maxPauseMs,
      clock,
      sleep,
    });
    // Downloads are already bounded by the engine's download pool (engine.downloadConcurrency).
    this.filePacer = new Pacer({ maxConcurrency: Infinity, maxPauseMs, clock, sleep });
  }

  async send<T>(call: HttpCall<T>): Promise<T> {
    const { clock, retry, random } = this.options;
    let attempt = 0;
    let budgetUsed = 0; // attempts counted against retry.maxAttempts (a post-401 replay is free)
    let refreshed = false;
    for (;;) {
      this.throwIfAborted(call);
      let authorization: { header: string; credential: string } | undefined;
      let permit: Permit | undefined;
      try {
        permit = await (call.authenticated ? this.apiPacer : this.filePacer)?.acquire(call.signal);
        if (call.authenticated) authorization = await this.auth.authorize(call.signal);
      } catch (error) {
        permit?.release({ kind: 'neutral' });
        this.throwIfAborted(call, error);
        throw error;
      }
      attempt += 1;
      budgetUsed += 1;
      const started = clock();
      let outcome: AttemptOutcome<T> | undefined;
      try {
        outcome = await this.attempt(call, authorization?.header);
      } finally {
        permit?.release(paceOutcome(outcome));
      }
      const durationMs = Math.max(0, clock() - started);

      if (outcome.ok) {
        this.emit(call, {
          attempt,
          durationMs,
          status: outcome.status,
          errorCode: undefined,
          retryInMs: undefined,
        });
        return outcome.value;
      }

      if (outcome.status === 401 && authorization !== undefined && this.auth.canRefresh && !refreshed) {
        // One forced refresh, then one replay: the token may have expired or been rotated by
        // another process sharing these credentials. A second 401 is final.
        refreshed = true;
        budgetUsed -= 1;
        this.emit(call, { attempt, durationMs, status: 401, errorCode: 'UNAUTHENTICATED', retryInMs: 0 });
        try {
          await this.auth.refresh(authorization.credential, call.signal);
        } catch (error) {
          this.throwIfAborted(call, error);
          throw error;
        }
        continue;
      }

      const decision =
        outcome.failure === undefined
          ? ({ retry: false, why: 'permanent' } as const)
          : decideRetry(outcome.failure, call.safety, budgetUsed, retry, random);
      const error = outcome.error({ attempt, unsafe: !decision.retry && decision.why === 'unsafe' });
      this.emit(call, {
        attempt,
        durationMs,
        status: outcome.status,
        errorCode: error.code,
        retryInMs: decision.retry ? decision.delayMs : undefined,
      });
      if (!decision.retry) throw error;
      try {
        await this.options.sleep(decision.delayMs, call.signal);
      } catch (sleepError) {
        this.throwIfAborted(call, sleepError);
        throw sleepError;
      }
    }
  }

  private async attempt<T>(call: HttpCall<T>, authorization: string | undefined): Promise<AttemptOutcome<T>> {
    const redact = (text: string): string => this.redactor.redact(text);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    const onAbort = (): void => controller.abort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    const unwatch =
      call.onSent === undefined || call.send !== undefined ? undefined : watchSent(call.url, call.onSent);

    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.options.userAgent,
    };
    if (authorization !== undefined) headers['Authorization'] = authorization;
    if (call.body !== undefined) headers['Content-Type'] = JSON_MEDIA_TYPE;
    const context = { method: call.method, path: call.path, redact };

    try {
      const init: RequestInit = {
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: controller.signal,
        // Redirects are never followed here: one could carry the Authorization header to another
        // host. Downloads follow them by hand, checking every hop (`call.send`, download.ts).
        redirect: 'manual',
      };
      const response = await (call.send
        ? call.send(call.url, init)
        : this.options.fetch(call.url.href, init));
      const status = response.status;
      if (status >= 200 && status <= 299) {
        const value = await call.read(response, controller.signal);
        return { ok: true, value, status };
      }
      const body = await readErrorBody(response);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.options.clock());
      const requestId = response.headers.get('x-request-id') ?? undefined;
      return {
        ok: false,
        status,
        failure: { kind: 'status', status, retryAfterMs },
        error: ({ attempt, unsafe }) =>
          errorFromResponse({
            ...context,
            status,
            body,
            requestId,
            retryAfterMs,
            ...noteFor(status, attempt, unsafe),
          }),
      };
    } catch (error) {
      if (timedOut) {
        return {
          ok: false,
          status: undefined,
          failure: { kind: 'timeout' },
          error: ({ unsafe }) =>
            withUnsafeNote(
              transportError('timeout', { ...context, detail: 'timeout', cause: error }),
              unsafe,
              redact,
            ),
        };
      }
      if (call.signal?.aborted === true) {
        return {
          ok: false,
          status: undefined,
          failure: undefined,
          error: () => transportError('aborted', { ...context, detail: 'aborted', cause: error }),
        };
      }
      // Our own protocol errors (malformed body, file too large) are permanent.
      if (isExportError(error))
        return { ok: false, status: undefined, failure: undefined, error: () => error };
      const code = networkErrorCode(error);
      return {
        ok: false,
        status: undefined,
        failure: { kind: 'network', unapplied: isConnectFailure(code) },
        error: ({ unsafe }) =>
          withUnsafeNote(
            transportError('network', { ...context, detail: code ?? describe(error), cause: error }),
            unsafe,
            redact,
          ),
      };
    } finally {
      unwatch?.();
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    }
  }

  private throwIfAborted(call: HttpCall<unknown>, cause?: unknown): void {
    if (call.signal?.aborted !== true) return;
    throw transportError('aborted', {
      method: call.method,
      path: call.path,
      detail: 'aborted',
      cause: cause ?? call.signal.reason,
      redact: (text) => this.redactor.redact(text),
    });
  }

  private emit(call: HttpCall<unknown>, event: Omit<RequestEvent, 'operation' | 'method' | 'path'>): void {
    const hook = this.options.onRequest;
    if (hook === undefined) return;
    try {
      hook({
        operation: call.operation,
        method: call.method,
        path: this.redactor.redact(call.path),
        ...event,
      });
    } catch {
      // A metrics/logging hook must not change the outcome of a request.
    }
  }
}

/** What an attempt tells the pacer: 2xx go faster, 429 and 5xx slow down, the rest is neither. */
function paceOutcome(outcome: AttemptOutcome<unknown> | undefined): PaceOutcome {
  if (outcome === undefined) return { kind: 'neutral' };
  if (outcome.ok) return { kind: 'success' };
  const { status, failure } = outcome;
  if (status === 429 || (status !== undefined && status >= 500)) {
    return {
      kind: 'congestion',
      retryAfterMs: failure?.kind === 'status' ? failure.retryAfterMs : undefined,
    };
  }
  return { kind: 'neutral' };
}

function noteFor(status: number, attempt: number, unsafe: boolean): { note?: string } {
  if (unsafe) return { note: 'not retried: the request may have been applied; check before repeating it' };
  if (attempt > 1 && (status === 409 || status === 422)) {
    return { note: `on attempt ${attempt}: an earlier attempt may have been applied` };
  }
  return {};
}

function withUnsafeNote(error: ExportError, unsafe: boolean, redact: (text: string) => string): ExportError {
  if (!unsafe) return error;
  return new TransportError(
    redact(`${error.message} (not retried: the request may have been applied; check before repeating it)`),
    {
      code: error.code,
      retryable: false,
      ...(error.method === undefined ? {} : { method: error.method }),
      ...(error.path === undefined ? {} : { path: error.path }),
      cause: error.cause,
    },
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.name === 'TypeError' ? 'fetch failed' : error.name;
  return 'error';
}

/** Reads at most MAX_ERROR_BODY_BYTES of an error body and parses it as JSON when it can. */
async function readErrorBody(response: Response): Promise<unknown> {
  let text: string;
  try {
    const bytes = await readBytes(response, MAX_ERROR_BODY_BYTES, 'truncate');
    text = new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Reads a 2xx body as JSON, at most `maxBytes` of it (counted while it streams: a larger body is
 * cut off, never buffered whole, and is a {@link ResponseTooLargeError}). An empty or unparsable
 * body is a {@link MalformedResponseError}.
 */
export async function readJson(
  response: Response,
  context: { operation: PleoOperation; method: string; path: string },
  maxBytes: number,
): Promise<unknown> {
  const text = await readText(response, context, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MalformedResponseError(
      `${context.method} ${context.path} (${context.operation}) returned ${response.status} with a body that is not JSON`,
      {
        code: 'MALFORMED_RESPONSE',
        retryable: false,
        status: response.status,
        method: context.method,
        path: context.path,
        cause: error,
      },
    );
  }
}

/** Reads a body as UTF-8 text, at most `maxBytes` (else {@link ResponseTooLargeError}). */
export async function readText(
  response: Response,
  context: { operation: PleoOperation; method: string; path: string },
  maxBytes: number,
): Promise<string> {
  const tooLarge = (): ResponseTooLargeError =>
    new ResponseTooLargeError(
      `${context.method} ${context.path} (${context.operation}) returned a body larger than ${maxBytes} bytes (maxResponseBytes); it was not read`,
      {
        code: 'RESPONSE_TOO_LARGE',
        retryable: false,
        status: response.status,
        method: context.method,
        path: context.path,
      },
    );
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  return new TextDecoder().decode(await readBytes(response, maxBytes, tooLarge));
}
