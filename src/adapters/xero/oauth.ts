/**
 * Xero OAuth 2.0 tokens with refresh-token rotation.
 *
 * Xero's refresh tokens are single-use: a refresh answers a new access token (30 minutes) and a new
 * refresh token, and the old refresh token stops working. So:
 * 1. the new pair is written to the store (`deps.kv`, one atomic value) BEFORE the new access token
 *    is used: a crash after the refresh never leaves us holding only a spent token;
 * 2. refreshes in one process are serialised (one in flight; every caller waits for it);
 * 3. `invalid_grant` (token spent, revoked, or unused for 60 days) is a job failure with a
 *    "reconnect Xero" message: no retry can fix it.
 *
 * The seed refresh token from the configuration is used when the store holds none, or when the
 * seed differs from the one the stored pair descends from (the operator reconnected and put a new
 * seed in place). The store records only a SHA-256 of the seed, never the seed itself.
 */
import { createHash } from 'node:crypto';

import { AccountingSystemError } from '../../errors/index.js';
import type { AdapterKeyValue } from '../descriptor.js';

export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** Ms since the epoch when the access token expires. */
  expiresAt: number;
  /** SHA-256 (hex) of the configured seed this chain of tokens started from. */
  seed?: string;
}

export interface TokenSourceOptions {
  clientId: string;
  clientSecret: string;
  seedRefreshToken: string | undefined;
  tokenUrl: string;
  kv: AdapterKeyValue;
  /** The store key, e.g. `oauth:<clientId>:<tenantId>`. */
  key: string;
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
}

export interface TokenSource {
  /** A valid access token (refreshing first when it expires within a minute). */
  accessToken(signal?: AbortSignal): Promise<string>;
  /** Forces a refresh unless another caller already replaced `rejected` (after a 401). */
  refreshAfterRejection(rejected: string, signal?: AbortSignal): Promise<string>;
}

const EARLY_MS = 60_000;

export const RECONNECT_HINT =
  'Reconnect Xero: run the consent flow for the app again (README → Xero → Setup), put the new refresh token in adapter.refreshToken/refreshTokenEnv/refreshTokenFile, and start the export again.';

export function authError(message: string, status?: number): AccountingSystemError {
  return new AccountingSystemError(message, {
    code: 'ACCOUNTING_AUTH',
    retryable: false,
    ...(status === undefined ? {} : { status }),
  });
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function parseStored(raw: string | null): StoredTokens | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredTokens>;
    if (
      typeof v.accessToken === 'string' &&
      typeof v.refreshToken === 'string' &&
      typeof v.expiresAt === 'number'
    ) {
      return {
        accessToken: v.accessToken,
        refreshToken: v.refreshToken,
        expiresAt: v.expiresAt,
        ...(typeof v.seed === 'string' ? { seed: v.seed } : {}),
      };
    }
  } catch {
    // fall through: an unreadable record is treated as absent (the seed takes over)
  }
  return null;
}

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const seedHash = options.seedRefreshToken === undefined ? undefined : sha256(options.seedRefreshToken);
  let current: StoredTokens | null = null;
  let refreshing: Promise<StoredTokens> | null = null;

  async function load(): Promise<StoredTokens | null> {
    return parseStored(await options.kv.getValue(options.key));
  }

  /** The refresh token to spend next, and the seed lineage it belongs to. */
  async function startingPoint(): Promise<{ refreshToken: string; seed: string | undefined }> {
    const stored = await load();
    if (stored !== null && (seedHash === undefined || stored.seed === seedHash)) {
      return { refreshToken: stored.refreshToken, seed: stored.seed };
    }
    if (options.seedRefreshToken !== undefined) {
      return { refreshToken: options.seedRefreshToken, seed: seedHash };
    }
    throw authError(
      `Xero is not connected: no refresh token in the store and none configured. ${RECONNECT_HINT}`,
    );
  }

  async function refresh(signal?: AbortSignal): Promise<StoredTokens> {
    const { refreshToken, seed } = await startingPoint();
    const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64');
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    try {
      response = await options.fetch(options.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new AccountingSystemError(
        `Xero token endpoint ${options.tokenUrl} unreachable: ${(error as Error).message}`,
        { code: 'ACCOUNTING_UNREACHABLE', retryable: true, cause: error },
      );
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: handled below by status
    }
    if (response.status === 400 || response.status === 401) {
      const code = typeof body['error'] === 'string' ? body['error'] : `HTTP ${response.status}`;
      if (code === 'invalid_client' || code === 'unauthorized_client') {
        throw authError(
          `Xero refused the app's credentials (${code}): check adapter.clientId and adapter.clientSecret against developer.xero.com → My Apps.`,
          response.status,
        );
      }
      throw authError(`Xero refused the refresh token (${code}). ${RECONNECT_HINT}`, response.status);
    }
    if (!response.ok) {
      throw new AccountingSystemError(`Xero token endpoint answered HTTP ${response.status}`, {
        code: response.status === 429 ? 'ACCOUNTING_RATE_LIMITED' : 'ACCOUNTING_UNREACHABLE',
        retryable: true,
        status: response.status,
      });
    }
    const access = body['access_token'];
    const next = body['refresh_token'];
    const expiresIn = body['expires_in'];
    if (typeof access !== 'string' || typeof next !== 'string' || typeof expiresIn !== 'number') {
      throw new AccountingSystemError('Xero token endpoint answered without access_token/refresh_token', {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
      });
    }
    const tokens: StoredTokens = {
      accessToken: access,
      refreshToken: next,
      expiresAt: options.now() + expiresIn * 1000,
      ...(seed === undefined ? {} : { seed }),
    };
    // Persist before use: the old refresh token is spent now; only this record can continue.
    await options.kv.setValue(options.key, JSON.stringify(tokens));
    return tokens;
  }

  function refreshOnce(signal?: AbortSignal): Promise<StoredTokens> {
    if (refreshing === null) {
      refreshing = refresh(signal).then(
        (tokens) => {
          current = tokens;
          refreshing = null;
          return tokens;
        },
        (error: unknown) => {
          refreshing = null;
          throw error;
        },
      );
    }
    return refreshing;
  }

  const fresh = (t: StoredTokens | null): t is StoredTokens =>
    t !== null && t.expiresAt - EARLY_MS > options.now() && (seedHash === undefined || t.seed === seedHash);

  return {
    async accessToken(signal) {
      if (fresh(current)) return current.accessToken;
      if (refreshing !== null) return (await refreshing).accessToken;
      const stored = await load();
      if (fresh(stored)) {
        current = stored;
        return stored.accessToken;
      }
      return (await refreshOnce(signal)).accessToken;
    },
    async refreshAfterRejection(rejected, signal) {
      if (refreshing !== null) return (await refreshing).accessToken;
      if (current !== null && current.accessToken !== rejected && fresh(current)) return current.accessToken;
      return (await refreshOnce(signal)).accessToken;
    },
  };
}
