/**
 * OAuth 2.0 as Pleo documents it (docs/decisions.md#w9): authorization code with PKCE (S256 only),
 * client authentication with HTTP Basic on the token endpoint, short-lived access tokens and
 * rotating refresh tokens.
 *
 * - `GET /oauth/authorize`: validates `client_id`, exact `redirect_uri`, `response_type=code`,
 *   `code_challenge_method=S256`, `code_challenge`; auto-approves and 302-redirects to
 *   `redirect_uri?code=…&state=…`. An unknown client or redirect URI gets a 400 page instead of a
 *   redirect (RFC 6749 §4.1.2.1); other errors are redirected as `error=…`. The company the grant
 *   is bound to is the `company_id` query parameter (a simulator extension), else the client's
 *   configured company, else the only company of the simulator.
 * - `POST /oauth/token` (form-encoded): `grant_type=authorization_code` (single-use code, 10 min,
 *   `redirect_uri` must repeat the authorize one, `code_verifier` checked against the S256
 *   challenge) or `grant_type=refresh_token`. Every refresh rotates both tokens; the old access
 *   token stops working at once. Presenting a used refresh token or code again is treated as a
 *   replay: 400 `invalid_grant`, and every token of that grant is revoked (RFC 9700 §4.14.2).
 * - Errors follow RFC 6749 §5.2: `{error, error_description}`; bad client credentials → 401
 *   `invalid_client`. Access-token and refresh-token lifetimes use the simulator clock.
 */
import { createHash } from 'node:crypto';
import type { TokenStore } from './auth.js';
import type { Reply, RequestContext, Route } from './http.js';
import { randomToken } from './ids.js';
import type { SimulatorState } from './state.js';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Registered redirect URIs; `redirect_uri` must equal one exactly. */
  redirectUris: string[];
  /** Company granted when the authorize request names none. */
  companyId?: string;
}

export interface OAuthConfig {
  /** @default 3_600_000 (1 hour) */
  accessTokenTtlMs: number;
  /** @default 2_592_000_000 (30 days) */
  refreshTokenTtlMs: number;
  /** @default 600_000 (10 minutes) */
  codeTtlMs: number;
}

interface Grant {
  grantId: string;
  clientId: string;
  companyId: string;
  scope: string;
}
interface CodeRecord extends Grant {
  redirectUri: string;
  challenge: string;
  expiresAt: number;
  used: boolean;
}
interface RefreshRecord extends Grant {
  expiresAt: number;
  accessToken: string;
  used: boolean;
}

const DEFAULT_SCOPE = 'export-jobs:read export-jobs:write export-items:read';
const VERIFIER_RE = /^[A-Za-z0-9._~-]{43,128}$/;
const CHALLENGE_RE = /^[A-Za-z0-9_-]{43}$/;

function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    json: { error, error_description: description },
    contentType: 'application/json',
    headers: { 'cache-control': 'no-store', ...headers },
  };
}

export class OAuthServer {
  readonly clients = new Map<string, OAuthClient>();
  readonly #codes = new Map<string, CodeRecord>();
  readonly #refresh = new Map<string, RefreshRecord>();
  #grants = 0;

  private readonly state: SimulatorState;
  private readonly tokens: TokenStore;
  readonly config: OAuthConfig;
  constructor(state: SimulatorState, tokens: TokenStore, config: OAuthConfig) {
    this.state = state;
    this.tokens = tokens;
    this.config = config;
  }

  addClient(client: OAuthClient): void {
    this.clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }

  routes(): Route[] {
    return [
      {
        method: 'GET',
        path: '/oauth/authorize',
        operation: 'oauthAuthorize',
        auth: 'none',
        write: true,
        handler: (c) => this.#authorize(c),
      },
      {
        method: 'POST',
        path: '/oauth/token',
        operation: 'oauthToken',
        auth: 'none',
        write: true,
        handler: (c) => this.#token(c),
      },
    ];
  }

  #authorize(ctx: RequestContext): Reply {
    const q = ctx.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    if (!client) return oauthError(400, 'invalid_request', 'Unknown client_id');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri)) {
      return oauthError(400, 'invalid_request', 'redirect_uri does not match a registered redirect URI');
    }
    const redirect = (params: Record<string, string>): Reply => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const state = q.get('state');
      if (state !== null) url.searchParams.set('state', state);
      return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store' } };
    };
    const fail = (error: string, description: string): Reply =>
      redirect({ error, error_description: description });
    if (q.get('response_type') !== 'code')
      return fail('unsupported_response_type', 'response_type must be code');
    if (q.get('code_challenge_method') !== 'S256') {
      return fail('invalid_request', 'PKCE is required with code_challenge_method=S256');
    }
    const challenge = q.get('code_challenge') ?? '';
    if (!CHALLENGE_RE.test(challenge))
      return fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 chars)');
    const companyId = q.get('company_id') ?? client.companyId ?? this.#onlyCompany();
    if (!companyId || !this.state.companies.has(companyId)) {
      return fail(
        'invalid_request',
        'Unknown company; pass company_id (the simulator has several companies)',
      );
    }
    const code = randomToken(24);
    this.#codes.set(code, {
      grantId: `g${++this.#grants}`,
      clientId: client.clientId,
      companyId,
      scope: q.get('scope') ?? DEFAULT_SCOPE,
      redirectUri,
      challenge,
      expiresAt: this.state.now() + this.config.codeTtlMs,
      used: false,
    });
    return redirect({ code });
  }

  #onlyCompany(): string | undefined {
    return this.state.companies.size === 1 ? [...this.state.companies.keys()][0] : undefined;
  }

  #clientFrom(ctx: RequestContext): OAuthClient | undefined {
    const header = ctx.req.headers.authorization ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    const client = this.clients.get(id);
    return client && client.clientSecret === secret ? client : undefined;
  }

  #token(ctx: RequestContext): Reply {
    const client = this.#clientFrom(ctx);
    if (!client) {
      return oauthError(
        401,
        'invalid_client',
        'Client authentication failed (use HTTP Basic with client_id:client_secret)',
        {
          'www-authenticate': 'Basic realm="Pleo"',
        },
      );
    }
    if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.req.headers['content-type'] ?? '')) {
      return oauthError(
        400,
        'invalid_request',
        'The token request must be application/x-www-form-urlencoded',
      );
    }
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    const grantType = form.get('grant_type');
    const now = this.state.now();
    if (grantType === 'authorization_code') {
      const code = this.#codes.get(form.get('code') ?? '');
      if (!code || code.clientId !== client.clientId)
        return oauthError(400, 'invalid_grant', 'Unknown authorization code');
      if (code.used) {
        this.#revokeGrant(code.grantId);
        return oauthError(
          400,
          'invalid_grant',
          'Authorization code already used; tokens of this grant were revoked',
        );
      }
      code.used = true;
      if (now >= code.expiresAt) return oauthError(400, 'invalid_grant', 'Authorization code expired');
      if (form.get('redirect_uri') !== code.redirectUri)
        return oauthError(400, 'invalid_grant', 'redirect_uri mismatch');
      const verifier = form.get('code_verifier') ?? '';
      if (!VERIFIER_RE.test(verifier))
        return oauthError(400, 'invalid_grant', 'code_verifier must be 43-128 chars of [A-Za-z0-9-._~]');
      const expected = createHash('sha256').update(verifier).digest('base64url');
      if (expected !== code.challenge)
        return oauthError(400, 'invalid_grant', 'code_verifier does not match code_challenge');
      return this.#issue(code, now);
    }
    if (grantType === 'refresh_token') {
      const rec = this.#refresh.get(form.get('refresh_token') ?? '');
      if (!rec || rec.clientId !== client.clientId)
        return oauthError(400, 'invalid_grant', 'Unknown refresh token');
      if (rec.used) {
        this.#revokeGrant(rec.grantId);
        return oauthError(
          400,
          'invalid_grant',
          'Refresh token already used (rotated); tokens of this grant were revoked',
        );
      }
      if (now >= rec.expiresAt) return oauthError(400, 'invalid_grant', 'Refresh token expired');
      rec.used = true;
      this.tokens.revoke(rec.accessToken);
      return this.#issue(rec, now);
    }
    return oauthError(400, 'unsupported_grant_type', `Unsupported grant_type '${grantType ?? ''}'`);
  }

  #issue(grant: Grant, now: number): Reply {
    const accessToken = this.tokens.issue({
      companyId: grant.companyId,
      clientId: grant.clientId,
      scope: grant.scope,
      issuedAt: now,
      expiresAt: now + this.config.accessTokenTtlMs,
      grantId: grant.grantId,
    });
    const refreshToken = randomToken(32);
    this.#refresh.set(refreshToken, {
      grantId: grant.grantId,
      clientId: grant.clientId,
      companyId: grant.companyId,
      scope: grant.scope,
      expiresAt: now + this.config.refreshTokenTtlMs,
      accessToken,
      used: false,
    });
    return {
      status: 200,
      contentType: 'application/json',
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      json: {
        access_token: accessToken,
        refresh_token: refreshToken,
        token_type: 'Bearer',
        expires_in: Math.floor(this.config.accessTokenTtlMs / 1000),
        scope: grant.scope,
      },
    };
  }

  #revokeGrant(grantId: string): void {
    this.tokens.revokeGrant(grantId);
    for (const rec of this.#refresh.values()) if (rec.grantId === grantId) rec.used = true;
  }
}
