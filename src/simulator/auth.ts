/**
 * Credentials for the Pleo paths. Either scheme of the spec is accepted (docs/decisions.md#w1):
 * - HTTP Basic with the company's API key as the user name and an **empty** password;
 * - `Bearer <access token>`, issued by the OAuth endpoints (oauth.ts) or minted by the admin API.
 * Each credential is bound to one company. Missing, malformed, unknown, revoked or expired
 * credentials → 401 `unauthorized` with a `WWW-Authenticate` challenge. Scopes are recorded on
 * tokens but not enforced (Pleo's scope names differ between its pages; docs/decisions.md#w2).
 */
import { ApiError } from './errors.js';
import { tag } from './ids.js';
import type { Company, SimulatorState } from './state.js';

export interface AccessToken {
  companyId: string;
  clientId: string | undefined;
  scope: string;
  issuedAt: number;
  expiresAt: number;
  /** The OAuth grant (authorization) the token descends from, for revocation on code reuse. */
  grantId: string | undefined;
}

const CHALLENGE = 'Basic realm="Pleo", Bearer realm="Pleo"';

function unauthorized(message: string, bearerError?: string): ApiError {
  return new ApiError(401, 'unauthorized', message, {
    'www-authenticate': bearerError ? `Bearer realm="Pleo", error="${bearerError}"` : CHALLENGE,
  });
}

/** Access tokens in force. Tokens look like JWTs (the spec's `bearerFormat`) but are checked by lookup. */
export class TokenStore {
  readonly #tokens = new Map<string, AccessToken>();
  #n = 0;
  readonly #secret: string;
  constructor(secret: string) {
    this.#secret = secret;
  }

  issue(record: AccessToken): string {
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const body = b64({
      sub: record.companyId,
      company_id: record.companyId,
      client_id: record.clientId,
      scope: record.scope,
      iat: Math.floor(record.issuedAt / 1000),
      exp: Math.floor(record.expiresAt / 1000),
      jti: `${++this.#n}`,
    });
    const token = `${head}.${body}.${tag(this.#secret, `${head}.${body}`, 32)}`;
    this.#tokens.set(token, record);
    return token;
  }

  get(token: string): AccessToken | undefined {
    return this.#tokens.get(token);
  }

  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  revokeGrant(grantId: string): void {
    for (const [token, rec] of this.#tokens) if (rec.grantId === grantId) this.#tokens.delete(token);
  }
}

/** The company an `Authorization` header is bound to, or a 401. */
export function authenticate(header: string | undefined, state: SimulatorState, tokens: TokenStore): Company {
  if (!header) throw unauthorized('Missing credentials');
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorized('Malformed Basic credentials');
    const key = decoded.slice(0, colon);
    if (decoded.slice(colon + 1) !== '') {
      throw unauthorized('Use the API key as the user name and an empty password');
    }
    const company = state.companyByApiKey(key);
    if (!company) throw unauthorized('Invalid API key');
    return company;
  }
  if (/^bearer$/i.test(scheme)) {
    const rec = tokens.get(value);
    if (!rec) throw unauthorized('Invalid access token', 'invalid_token');
    if (state.now() >= rec.expiresAt) throw unauthorized('Access token expired', 'invalid_token');
    const company = state.companies.get(rec.companyId);
    if (!company) throw unauthorized('Invalid access token', 'invalid_token');
    return company;
  }
  throw unauthorized(`Unsupported authorization scheme '${scheme}'`);
}
