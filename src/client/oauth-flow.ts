/**
 * The OAuth 2.0 authorization-code flow with PKCE, as Pleo documents it (docs/decisions.md#w9):
 * S256 only (a 43-128 character verifier of `[A-Za-z0-9-._~]`), client authentication with HTTP
 * Basic on the token endpoint, the exact registered `redirect_uri`, and an opaque `state` checked
 * on the callback. The resulting tokens rotate on every refresh (`OAuthTokenProvider`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { AuthError, ConfigError, ExportError, TransportError } from '../errors/index.js';
import type { OAuthTokens } from './auth.js';
import { MAX_TOKEN_BODY_BYTES, readCappedText } from './body.js';
import type { FetchLike } from './options.js';

export interface AuthorizationRequest {
  /** Open this in a browser. */
  url: string;
  /** Keep secret until the code is exchanged. */
  codeVerifier: string;
  state: string;
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An S256 challenge for a verifier (RFC 7636 §4.2). */
export function pkceChallenge(verifier: string): string {
  return base64url(createHash('sha256').update(verifier, 'ascii').digest());
}

export function createAuthorizationRequest(options: {
  authorizeUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
  /** Extra query parameters (e.g. the simulator's `company_id`). */
  extra?: Record<string, string>;
  random?: (n: number) => Buffer;
}): AuthorizationRequest {
  const random = options.random ?? randomBytes;
  const codeVerifier = base64url(random(48)); // 64 characters of [A-Za-z0-9-_]
  const state = base64url(random(24));
  let url: URL;
  try {
    url = new URL(options.authorizeUrl);
  } catch {
    throw new ConfigError(`oauth.authorizeUrl is not a URL: ${options.authorizeUrl}`);
  }
  url.searchParams.set('client_id', options.clientId);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', options.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', pkceChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  for (const [k, v] of Object.entries(options.extra ?? {})) url.searchParams.set(k, v);
  return { url: url.toString(), codeVerifier, state };
}

/** Constant-time comparison of the callback's `state` with ours. */
export function stateMatches(expected: string, received: string | null): boolean {
  if (received === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface CallbackOptions {
  /** The registered redirect URI: a local `http://127.0.0.1`, `localhost` or `[::1]` address. */
  redirectUri: string;
  /** The `state` sent with the authorization request. */
  state: string;
  /** How long to wait for the right callback. */
  timeoutMs: number;
  /** Called once the listener accepts connections (print the authorize URL then). */
  onListening?: () => void;
  /** Told about each callback refused for its `state` (forged, stale or from another attempt). */
  onRejected?: (reason: string) => void;
}

/**
 * Receives the OAuth callback on a one-shot local listener at `redirectUri` and resolves with the
 * authorization code. A callback whose `state` is not ours — a stale tab, another attempt, a
 * forged link — is answered 400 and ignored: the listener keeps waiting for the right one, within
 * `timeoutMs` (issue 17: one bad request used to abort `connect`). A callback with our `state`
 * ends the wait: with its code, or with the refusal it carries.
 */
export function waitForAuthorizationCode(options: CallbackOptions): Promise<string> {
  const redirect = new URL(options.redirectUri);
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const finish = (server: Server, outcome: () => void): void => {
      if (settled) return;
      settled = true;
      server.close();
      server.closeAllConnections();
      outcome();
    };
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', options.redirectUri);
      if (url.pathname !== redirect.pathname || req.method !== 'GET') {
        res.writeHead(404).end();
        return;
      }
      const answer = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`pleo-export: ${text}\n`);
      };
      if (settled) return answer(410, 'this authorisation attempt is over');
      if (!stateMatches(options.state, url.searchParams.get('state'))) {
        options.onRejected?.('the callback state does not match this authorisation attempt');
        return answer(400, 'the callback state does not match this authorisation attempt; still waiting');
      }
      const refuse = (message: string): void => {
        answer(400, message);
        finish(server, () =>
          reject(
            new ExportError(`connect: ${message}`, { code: 'REAUTHORIZATION_REQUIRED', retryable: false }),
          ),
        );
      };
      const error = url.searchParams.get('error');
      if (error !== null) return refuse(`authorisation refused (${error.slice(0, 100)})`);
      const code = url.searchParams.get('code');
      if (code === null || code === '') return refuse('the callback carries no code');
      answer(200, 'connected. You can close this tab.');
      finish(server, () => resolve(code));
    });
    const timer = setTimeout(() => {
      finish(server, () =>
        reject(
          new ExportError('connect: no callback before the timeout', { code: 'TIMEOUT', retryable: false }),
        ),
      );
    }, options.timeoutMs);
    timer.unref();
    server.on('close', () => clearTimeout(timer));
    server.on('error', (e) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new ConfigError(`connect: cannot listen on ${options.redirectUri}: ${e.message}`));
    });
    server.listen(Number(redirect.port || 80), redirect.hostname.replace(/^\[|\]$/g, ''), () =>
      options.onListening?.(),
    );
  });
}

/** Exchanges the authorization code for tokens (Basic client authentication). */
export async function exchangeAuthorizationCode(options: {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  fetch?: FetchLike;
  now?: () => number;
  timeoutMs?: number;
}): Promise<OAuthTokens> {
  const doFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64');
  let response: Response;
  try {
    response = await doFetch(options.tokenUrl, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${basic}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: options.code,
        redirect_uri: options.redirectUri,
        code_verifier: options.codeVerifier,
      }).toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      redirect: 'manual',
    });
  } catch (error) {
    throw new TransportError(
      `POST ${new URL(options.tokenUrl).host}: ${error instanceof Error ? error.message : 'failed'}`,
      {
        code: 'NETWORK',
        retryable: true,
      },
    );
  }
  const text = await readCappedText(response, MAX_TOKEN_BODY_BYTES);
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    body = {};
  }
  if (!response.ok) {
    const error = typeof body['error'] === 'string' ? body['error'] : `HTTP ${response.status}`;
    throw new AuthError(`The token endpoint refused the authorization code (${error}); run connect again.`, {
      code: 'REAUTHORIZATION_REQUIRED',
      retryable: false,
      status: response.status,
    });
  }
  const accessToken = body['access_token'];
  const refreshToken = body['refresh_token'];
  if (
    typeof accessToken !== 'string' ||
    typeof refreshToken !== 'string' ||
    accessToken === '' ||
    refreshToken === ''
  ) {
    throw new AuthError('The token endpoint answered without an access and a refresh token.', {
      code: 'MALFORMED_RESPONSE',
      retryable: false,
    });
  }
  const expiresIn = typeof body['expires_in'] === 'number' ? body['expires_in'] : undefined;
  return {
    accessToken,
    refreshToken,
    ...(expiresIn === undefined ? {} : { expiresAt: (options.now ?? Date.now)() + expiresIn * 1000 }),
    ...(typeof body['scope'] === 'string' ? { scope: body['scope'] } : {}),
  };
}
