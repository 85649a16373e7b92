/**
 * Authentication: the per-request `Authorization` header (API key or OAuth bearer) and the
 * OAuth refresh-token flow (docs/decisions.md#w9).
 *
 * OAuth refresh rules implemented by {@link OAuthTokenProvider}:
 * - refresh *before* expiry (`refreshSkewMs` ahead of `expiresAt`), and on demand after a 401;
 * - single flight: concurrent callers share one refresh promise, so 20 parallel 401s cost one
 *   refresh; a caller's abort signal abandons its wait, never the shared refresh;
 * - rotation: every refresh may return a new refresh token and invalidates the old one, so the new
 *   pair is handed to `persist()` BEFORE the new access token is used. If `persist` fails, the
 *   pair is kept in memory and persisting is retried on the next call (no second refresh: the old
 *   refresh token is already dead);
 * - `invalid_grant` (revoked/expired refresh token) → `REAUTHORIZATION_REQUIRED`, permanent: the
 *   provider stops calling the token endpoint and `onReauthorizationRequired` lets the host wipe
 *   the tokens and ask the user to re-authorise;
 * - transient failures (network, timeout, 429, 5xx) are retried with bounded backoff.
 */
import { AuthError, type ExportError, TransportError } from '../errors/index.js';
import { MAX_TOKEN_BODY_BYTES, readCappedText } from './body.js';
import { exceptionInfo, networkErrorCode } from './errors.js';
import { type Clock, defaultSleep, type FetchLike, type Sleep, type TokenProvider } from './options.js';
import { redact } from './redact.js';
import {
  compileRetryPolicy,
  decideRetry,
  parseRetryAfter,
  type RetryPolicy,
  type AttemptFailure,
} from './retry.js';

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in epoch milliseconds. Unknown → refreshed only after a 401. */
  expiresAt?: number;
  /** Granted scopes, space separated, as the token endpoint returned them. */
  scope?: string;
}

/** Logged per refresh attempt; never contains a token or the client secret. */
export interface TokenRefreshEvent {
  outcome: 'refreshed' | 'transient-failure' | 'failed' | 'reauthorization-required' | 'persist-failed';
  attempt: number;
  durationMs: number;
  status: number | undefined;
  /** Why: token about to expire, a 401 for it, `refreshNow()`, or persisting a rotated pair again. */
  reason: 'expiring' | 'rejected' | 'forced' | 'retry-persist';
}

export interface OAuthTokenProviderOptions {
  clientId: string;
  clientSecret: string;
  /** @default 'https://auth.pleo.io/oauth/token' (staging: 'https://auth.staging.pleo.io/oauth/token') */
  tokenUrl?: string;
  /** The tokens as last persisted. */
  tokens: OAuthTokens;
  /** Stores a rotated pair atomically. Awaited before the new access token is used. */
  persist: (tokens: OAuthTokens) => Promise<void>;
  /** Called once when the refresh token is rejected (`invalid_grant`): wipe tokens, ask the user. */
  onReauthorizationRequired?: (error: ExportError) => void | Promise<void>;
  /** Refresh this long before `expiresAt`. @default 60000 */
  refreshSkewMs?: number;
  /** Backoff for transient token-endpoint failures. @default {maxAttempts: 3} */
  retry?: RetryPolicy;
  /** Per-attempt timeout of the token request. @default 30000 */
  timeoutMs?: number;
  onRefresh?: (event: TokenRefreshEvent) => void;
  fetch?: FetchLike;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
}

export const DEFAULT_TOKEN_URL = 'https://auth.pleo.io/oauth/token';

type RefreshReason = TokenRefreshEvent['reason'];

/**
 * OAuth access tokens with refresh-token rotation. Implements {@link TokenProvider}.
 *
 * @example
 * const tokens = new OAuthTokenProvider({
 *   clientId, clientSecret, tokens: await store.loadTokens(companyId),
 *   persist: (t) => store.saveTokens(companyId, t),
 * });
 * const client = createPleoClient({ companyId, auth: { kind: 'oauth', tokens } });
 */
export class OAuthTokenProvider implements TokenProvider {
  private current: OAuthTokens;
  /** Tokens the server issued that `persist` has not accepted yet. */
  private unpersisted: OAuthTokens | undefined;
  private inflight: Promise<OAuthTokens> | undefined;
  private dead: ExportError | undefined;
  private readonly options: OAuthTokenProviderOptions;
  private readonly fetch: FetchLike;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly tokenUrl: string;
  private readonly skewMs: number;
  private readonly timeoutMs: number;
  private readonly retry;

  constructor(options: OAuthTokenProviderOptions) {
    if (options.clientId === '' || options.clientSecret === '') {
      throw new AuthError('OAuthTokenProvider: clientId and clientSecret are required', {
        code: 'INVALID_CONFIG',
        retryable: false,
      });
    }
    this.options = options;
    this.current = { ...options.tokens };
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.tokenUrl = options.tokenUrl ?? DEFAULT_TOKEN_URL;
    this.skewMs = options.refreshSkewMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = compileRetryPolicy({ maxAttempts: 3, ...options.retry }, 'OAuthTokenProvider: retry');
  }

  async getAccessToken(options: { signal?: AbortSignal; rejected?: string } = {}): Promise<string> {
    if (this.dead !== undefined) throw this.dead;
    let pending = this.inflight;
    if (pending === undefined && this.unpersisted !== undefined)
      pending = this.share(() => this.persistPending('retry-persist'));
    if (pending === undefined) {
      const { rejected } = options;
      // A 401 for a token we no longer hold means someone refreshed meanwhile: use the new one.
      const stale = rejected !== undefined && rejected === this.current.accessToken;
      const expiring =
        this.current.expiresAt !== undefined && this.clock() >= this.current.expiresAt - this.skewMs;
      if (!stale && !expiring) return this.current.accessToken;
      pending = this.share(() => this.refresh(stale ? 'rejected' : 'expiring'));
    }
    return (await waitWithSignal(pending, options.signal)).accessToken;
  }

  /** Forces a refresh now (e.g. on an operator's request). Shares an in-flight refresh. */
  async refreshNow(): Promise<OAuthTokens> {
    if (this.dead !== undefined) throw this.dead;
    return { ...(await this.share(() => this.refresh('forced'))) };
  }

  private share(run: () => Promise<OAuthTokens>): Promise<OAuthTokens> {
    this.inflight ??= run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async persistPending(reason: RefreshReason): Promise<OAuthTokens> {
    const pending = this.unpersisted;
    if (pending === undefined) return this.current;
    const started = this.clock();
    try {
      await this.options.persist({ ...pending });
    } catch (error) {
      this.emit({
        outcome: 'persist-failed',
        attempt: 1,
        durationMs: this.clock() - started,
        status: undefined,
        reason,
      });
      throw new AuthError(
        'OAuth tokens were rotated but could not be persisted; the previous refresh token is no longer valid. ' +
          'Persisting will be retried on the next request.',
        { code: 'TOKEN_REFRESH_FAILED', retryable: true, cause: this.scrub(error) },
      );
    }
    this.current = pending;
    this.unpersisted = undefined;
    return pending;
  }

  private async refresh(reason: RefreshReason): Promise<OAuthTokens> {
    for (let attempt = 1; ; attempt++) {
      const started = this.clock();
      const result = await this.requestTokens();
      const durationMs = this.clock() - started;
      if (result.ok) {
        this.unpersisted = result.tokens;
        this.emit({ outcome: 'refreshed', attempt, durationMs, status: result.status, reason });
        return this.persistPending(reason);
      }
      if (result.invalidGrant) {
        this.emit({
          outcome: 'reauthorization-required',
          attempt,
          durationMs,
          status: result.status,
          reason,
        });
        this.dead = new AuthError(
          `OAuth refresh token rejected (${result.detail}): the user must re-authorise the Pleo connection`,
          {
            code: 'REAUTHORIZATION_REQUIRED',
            retryable: false,
            method: 'POST',
            path: this.path(),
            ...(result.status === undefined ? {} : { status: result.status }),
          },
        );
        try {
          await this.options.onReauthorizationRequired?.(this.dead);
        } catch {
          // The hook's failure must not hide the real problem: the user has to re-authorise.
        }
        throw this.dead;
      }
      const decision =
        result.failure === undefined
          ? ({ retry: false } as const)
          : decideRetry(result.failure, 'idempotent', attempt, this.retry, this.random);
      this.emit({
        outcome: decision.retry ? 'transient-failure' : 'failed',
        attempt,
        durationMs,
        status: result.status,
        reason,
      });
      if (!decision.retry) {
        throw new AuthError(`OAuth token refresh failed: POST ${this.path()} ${result.detail}`, {
          code: 'TOKEN_REFRESH_FAILED',
          retryable: result.failure !== undefined,
          method: 'POST',
          path: this.path(),
          ...(result.status === undefined ? {} : { status: result.status }),
          cause: result.cause,
        });
      }
      await this.sleep(decision.delayMs);
    }
  }

  private async requestTokens(): Promise<
    | { ok: true; tokens: OAuthTokens; status: number }
    | {
        ok: false;
        invalidGrant: boolean;
        /** undefined → permanent */
        failure: AttemptFailure | undefined;
        status: number | undefined;
        detail: string;
        cause?: unknown;
      }
  > {
    const body = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: this.current.refreshToken,
    });
    const basic = Buffer.from(
      `${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`,
    ).toString('base64');
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const response = await this.fetch(this.tokenUrl, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${basic}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: body.toString(),
        signal: controller.signal,
        redirect: 'manual',
      });
      const text = await readCappedText(response, MAX_TOKEN_BODY_BYTES);
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (response.ok) {
        const tokens = this.parseTokens(json);
        if (tokens === undefined) {
          return {
            ok: false,
            invalidGrant: false,
            failure: undefined,
            status: response.status,
            detail: 'returned a malformed token response',
          };
        }
        return { ok: true, tokens, status: response.status };
      }
      const record = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
      const oauthError = typeof record['error'] === 'string' ? record['error'] : exceptionInfo(json).type;
      const detail = this.scrubText(
        `failed with ${response.status}${oauthError === undefined ? '' : ` ${oauthError}`}`,
      );
      if (oauthError === 'invalid_grant') {
        return {
          ok: false,
          invalidGrant: true,
          failure: undefined,
          status: response.status,
          detail: 'invalid_grant',
        };
      }
      const transient = response.status === 429 || response.status === 408 || response.status >= 500;
      return {
        ok: false,
        invalidGrant: false,
        failure: transient
          ? {
              kind: 'status',
              status: response.status,
              retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.clock()),
            }
          : undefined,
        status: response.status,
        detail,
      };
    } catch (error) {
      const code = networkErrorCode(error);
      return {
        ok: false,
        invalidGrant: false,
        failure: timedOut ? { kind: 'timeout' } : { kind: 'network', unapplied: false },
        status: undefined,
        detail: timedOut ? 'timed out' : `failed (network: ${code ?? 'error'})`,
        cause: new TransportError(this.scrubText(error instanceof Error ? error.message : String(error)), {
          code: timedOut ? 'TIMEOUT' : 'NETWORK',
          retryable: true,
        }),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private parseTokens(json: unknown): OAuthTokens | undefined {
    if (typeof json !== 'object' || json === null) return undefined;
    const r = json as Record<string, unknown>;
    const accessToken = r['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') return undefined;
    const refreshToken =
      typeof r['refresh_token'] === 'string' && r['refresh_token'] !== '' ? r['refresh_token'] : undefined;
    const expiresIn =
      typeof r['expires_in'] === 'number' && r['expires_in'] > 0 ? r['expires_in'] : undefined;
    return {
      accessToken,
      // Pleo rotates on every refresh; a server that does not keeps the old refresh token valid.
      refreshToken: refreshToken ?? this.current.refreshToken,
      ...(expiresIn === undefined ? {} : { expiresAt: this.clock() + expiresIn * 1000 }),
      ...(typeof r['scope'] === 'string' ? { scope: r['scope'] } : {}),
    };
  }

  private path(): string {
    try {
      const url = new URL(this.tokenUrl);
      return `${url.host}${url.pathname}`;
    } catch {
      return 'token endpoint';
    }
  }

  private secrets(): string[] {
    const list = [this.options.clientSecret, this.current.accessToken, this.current.refreshToken];
    if (this.unpersisted !== undefined)
      list.push(this.unpersisted.accessToken, this.unpersisted.refreshToken);
    return list;
  }

  private scrubText(text: string): string {
    return redact(text, this.secrets());
  }

  /** A persist callback's error may quote the tokens it tried to store: keep only a redacted message. */
  private scrub(error: unknown): Error {
    return new Error(this.scrubText(error instanceof Error ? error.message : String(error)));
  }

  private emit(event: TokenRefreshEvent): void {
    try {
      this.options.onRefresh?.(event);
    } catch {
      // A logging hook must not break authentication.
    }
  }
}

/** Resolves with `promise`, or rejects as soon as `signal` aborts (the promise keeps running). */
function waitWithSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError');
}
