/**
 * The `Authorization` header of API requests, for both schemes (docs/decisions.md#w1):
 * - API key: HTTP Basic with the key as user name and an empty password;
 * - OAuth: `Bearer <access token>` from a {@link TokenProvider}; after a 401 the transport asks
 *   the provider once for a fresh token (passing the rejected one) and replays the request once.
 *
 * Every credential handed out is registered with the client's {@link Redactor}.
 */
import { AuthError, isExportError } from '../errors/index.js';
import type { ClientAuth } from './options.js';
import type { Redactor } from './redact.js';

/** The `Authorization` side of the client: current header, and a refresh after a 401. */
export interface AuthStrategy {
  /** The header value and the raw credential it carries (to tell the provider which one was rejected). */
  authorize(signal: AbortSignal | undefined): Promise<{ header: string; credential: string }>;
  /** True when a 401 is worth one refresh and replay (OAuth); false for API keys. */
  readonly canRefresh: boolean;
  /** Asks for a fresh credential after `rejected` got a 401. */
  refresh(rejected: string, signal: AbortSignal | undefined): Promise<void>;
}

export function createAuthStrategy(auth: ClientAuth, redactor: Redactor): AuthStrategy {
  if (auth.kind === 'apiKey') {
    // HTTP Basic: the API key is the user name, the password is empty (docs/decisions.md#w1).
    const header = `Basic ${Buffer.from(`${auth.apiKey}:`).toString('base64')}`;
    redactor.add(auth.apiKey);
    redactor.add(header.slice('Basic '.length));
    return {
      canRefresh: false,
      authorize: () => Promise.resolve({ header, credential: auth.apiKey }),
      refresh: () => Promise.resolve(),
    };
  }
  const provider = auth.tokens;
  const wrap = (error: unknown): never => {
    if (isExportError(error)) throw error;
    throw new AuthError(
      redactor.redact(
        `Could not obtain an access token: ${error instanceof Error ? error.message : String(error)}`,
      ),
      { code: 'TOKEN_REFRESH_FAILED', retryable: false },
    );
  };
  const get = async (options: { signal?: AbortSignal; rejected?: string }): Promise<string> => {
    let token: string;
    try {
      token = await provider.getAccessToken(options);
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      return wrap(error);
    }
    if (typeof token !== 'string' || token === '') return wrap(new Error('token provider returned no token'));
    redactor.add(token);
    return token;
  };
  return {
    canRefresh: true,
    async authorize(signal) {
      const token = await get(signal === undefined ? {} : { signal });
      return { header: `Bearer ${token}`, credential: token };
    },
    async refresh(rejected, signal) {
      await get(signal === undefined ? { rejected } : { signal, rejected });
    },
  };
}
