import { afterEach, describe, expect, it } from 'vitest';
import {
  createPleoClient,
  OAuthTokenProvider,
  type OAuthTokenProviderOptions,
  type OAuthTokens,
  type TokenRefreshEvent,
} from '../../src/client/index.js';
import { AuthError } from '../../src/errors/index.js';
import {
  ACCESS_TOKEN,
  API_KEY,
  checkNoSecretsLeak,
  CLIENT_SECRET,
  COMPANY_ID,
  failure,
  fakeTime,
  makeClient,
  makeJob,
  recordError,
  REFRESH_TOKEN,
  uuid,
} from './helpers.js';
import { type Handler, type RecordedRequest, sendJson, startServer, type TestServer } from './server.js';

const access = (n: number): string => `eyJhbGciOiJIUzI1NiJ9.rotated-access-${n}.sig`;
const refresh = (n: number): string => `rotated-refresh-${n}-c0ffee`;
checkNoSecretsLeak([1, 2, 3, 4, 5].flatMap((n) => [access(n), refresh(n)]));

const JOB_ID = uuid(1, 'b');
const CLIENT_ID = 'pleo-export-test-client';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Fake {
  server: TestServer;
  tokenRequests: RecordedRequest[];
  apiRequests: RecordedRequest[];
  /** Access tokens the API accepts. */
  valid: Set<string>;
  /** The API answers 401 to every token. */
  rejectAll: boolean;
  /** What the token endpoint does next; default: rotate. */
  tokenScript: ((request: RecordedRequest) => { status: number; body: unknown } | undefined)[];
}

/** One server playing both Pleo's API (/v3/…) and the OAuth token endpoint (/oauth/token). */
async function fakePleo(): Promise<Fake> {
  const fake = {
    tokenRequests: [],
    apiRequests: [],
    valid: new Set<string>(),
    tokenScript: [],
  } as unknown as Fake;
  let issued = 0;
  const refreshTokens = new Set([REFRESH_TOKEN]);
  const handler: Handler = (request, response) => {
    if (request.url.pathname === '/oauth/token') {
      fake.tokenRequests.push(request);
      const scripted = fake.tokenScript.shift()?.(request);
      if (scripted !== undefined) return sendJson(response, scripted.status, scripted.body);
      const form = new URLSearchParams(request.body);
      const presented = form.get('refresh_token') ?? '';
      if (form.get('grant_type') !== 'refresh_token' || !refreshTokens.delete(presented)) {
        return sendJson(response, 400, {
          error: 'invalid_grant',
          error_description: `unknown token ${presented}`,
        });
      }
      issued += 1;
      refreshTokens.add(refresh(issued));
      fake.valid.clear(); // rotation invalidates the old access token
      fake.valid.add(access(issued));
      return sendJson(response, 200, {
        access_token: access(issued),
        refresh_token: refresh(issued),
        token_type: 'bearer',
        expires_in: 3600,
        scope: 'export-jobs:read export-jobs:write',
      });
    }
    fake.apiRequests.push(request);
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (fake.rejectAll || !fake.valid.has(token))
      return sendJson(response, 401, { type: 'UNAUTHORIZED', message: 'Invalid token' });
    return sendJson(response, 200, { data: makeJob(1) });
  };
  fake.server = await startServer(handler);
  server = fake.server;
  return fake;
}

function provider(
  fake: Fake,
  overrides: Partial<OAuthTokenProviderOptions> = {},
): { tokens: OAuthTokenProvider; persisted: OAuthTokens[]; events: TokenRefreshEvent[]; delays: number[] } {
  const persisted: OAuthTokens[] = [];
  const events: TokenRefreshEvent[] = [];
  const { time, clock, sleep } = fakeTime();
  const tokens = new OAuthTokenProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    tokenUrl: `${fake.server.url}/oauth/token`,
    tokens: { accessToken: ACCESS_TOKEN, refreshToken: REFRESH_TOKEN, expiresAt: clock() + 3_600_000 },
    persist: (t) => {
      persisted.push(t);
      return Promise.resolve();
    },
    onRefresh: (e) => events.push(e),
    clock,
    sleep,
    random: () => 0,
    ...overrides,
  });
  return { tokens, persisted, events, delays: time.delays };
}

describe('API key auth', () => {
  it('sends HTTP Basic with the key as user name and an empty password', async () => {
    server = await startServer((_req, res) => sendJson(res, 200, { data: makeJob(1) }));
    const { client } = makeClient(server.url);
    await client.getJob(JOB_ID);
    expect(server.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}`,
    );
    expect(server.requests[0]?.headers['user-agent']).toBe('pleo-export');
  });

  it('a 401 is an AuthError UNAUTHENTICATED, not retried and not refreshed', async () => {
    server = await startServer((_req, res) =>
      sendJson(res, 401, { type: 'UNAUTHORIZED', message: 'Bad key' }),
    );
    const { client } = makeClient(server.url);
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false, status: 401 });
    expect(server.requests).toHaveLength(1);
  });

  it('a 403 is an AuthError FORBIDDEN (missing scope)', async () => {
    server = await startServer((_req, res) =>
      sendJson(res, 403, { type: 'FORBIDDEN', message: 'Missing scope' }),
    );
    const { client } = makeClient(server.url);
    expect(await failure(client.getJob(JOB_ID))).toMatchObject({ code: 'FORBIDDEN', retryable: false });
  });
});

describe('OAuth bearer auth', () => {
  it('sends the access token as a Bearer header', async () => {
    const fake = await fakePleo();
    fake.valid.add(ACCESS_TOKEN);
    const { tokens } = provider(fake);
    const { client } = makeClient(fake.server.url, { auth: { kind: 'oauth', tokens } });
    await client.getJob(JOB_ID);
    expect(fake.apiRequests[0]?.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(fake.tokenRequests).toHaveLength(0);
  });

  it('20 concurrent calls that all get 401 share ONE refresh, then each replays once', async () => {
    const fake = await fakePleo(); // ACCESS_TOKEN is not valid: every first attempt gets 401
    const { tokens, persisted } = provider(fake);
    const { client } = makeClient(fake.server.url, { auth: { kind: 'oauth', tokens } });
    const jobs = await Promise.all(Array.from({ length: 20 }, () => client.getJob(JOB_ID)));
    expect(jobs).toHaveLength(20);
    expect(fake.tokenRequests).toHaveLength(1);
    expect(persisted).toEqual([
      expect.objectContaining({ accessToken: access(1), refreshToken: refresh(1) }),
    ]);
    const headers = fake.apiRequests.map((r) => r.headers.authorization);
    expect(headers.filter((h) => h === `Bearer ${ACCESS_TOKEN}`)).toHaveLength(20);
    expect(headers.filter((h) => h === `Bearer ${access(1)}`)).toHaveLength(20);
  });

  it('refreshes before expiry (with skew), single-flight under 20 concurrent calls', async () => {
    const fake = await fakePleo();
    const { clock } = fakeTime();
    const { tokens, events } = provider(fake, {
      tokens: { accessToken: ACCESS_TOKEN, refreshToken: REFRESH_TOKEN, expiresAt: clock() + 30_000 },
      refreshSkewMs: 60_000,
    });
    const { client } = makeClient(fake.server.url, { auth: { kind: 'oauth', tokens } });
    await Promise.all(Array.from({ length: 20 }, () => client.getJob(JOB_ID)));
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.apiRequests).toHaveLength(20);
    expect(fake.apiRequests.every((r) => r.headers.authorization === `Bearer ${access(1)}`)).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({ outcome: 'refreshed', reason: 'expiring', attempt: 1 }),
    ]);
  });

  it('authenticates to the token endpoint with client_id:client_secret and rotates refresh tokens', async () => {
    const fake = await fakePleo();
    const { tokens, persisted } = provider(fake);
    await tokens.refreshNow();
    await tokens.refreshNow();
    const first = fake.tokenRequests[0];
    expect(first?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    );
    expect(first?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(first?.body).get('refresh_token')).toBe(REFRESH_TOKEN);
    expect(new URLSearchParams(fake.tokenRequests[1]?.body).get('refresh_token')).toBe(refresh(1));
    expect(persisted.map((t) => t.refreshToken)).toEqual([refresh(1), refresh(2)]);
  });

  it('persists rotated tokens BEFORE the new access token is used', async () => {
    const fake = await fakePleo();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const apiCountAtPersist: number[] = [];
    const { tokens } = provider(fake, {
      persist: async () => {
        apiCountAtPersist.push(fake.apiRequests.length);
        await gate;
      },
    });
    const { client } = makeClient(fake.server.url, { auth: { kind: 'oauth', tokens } });
    const call = client.getJob(JOB_ID);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // The 401 happened and the refresh ran, but nothing used the new token while persist is pending.
    expect(fake.tokenRequests).toHaveLength(1);
    expect(fake.apiRequests.map((r) => r.headers.authorization)).toEqual([`Bearer ${ACCESS_TOKEN}`]);
    release();
    await call;
    expect(apiCountAtPersist).toEqual([1]);
    expect(fake.apiRequests.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${ACCESS_TOKEN}`,
      `Bearer ${access(1)}`,
    ]);
  });

  it('when persist fails, keeps the new pair and retries persisting (not refreshing) on the next call', async () => {
    const fake = await fakePleo();
    let fail = true;
    const stored: OAuthTokens[] = [];
    const { tokens } = provider(fake, {
      persist: (t) => {
        if (fail) return Promise.reject(new Error(`disk full while writing ${t.refreshToken}`));
        stored.push(t);
        return Promise.resolve();
      },
    });
    const first = await failure(tokens.refreshNow());
    expect(first).toMatchObject({ code: 'TOKEN_REFRESH_FAILED', retryable: true });
    fail = false;
    await expect(tokens.getAccessToken()).resolves.toBe(access(1));
    expect(fake.tokenRequests).toHaveLength(1);
    expect(stored.map((t) => t.refreshToken)).toEqual([refresh(1)]);
  });

  it('invalid_grant → REAUTHORIZATION_REQUIRED: permanent, hook called once, no more token requests', async () => {
    const fake = await fakePleo();
    const revoked: string[] = [];
    const { tokens } = provider(fake, {
      tokens: { accessToken: ACCESS_TOKEN, refreshToken: 'revoked-refresh-token-000' },
      onReauthorizationRequired: (e) => void revoked.push(e.code),
    });
    const { client } = makeClient(fake.server.url, { auth: { kind: 'oauth', tokens } });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'REAUTHORIZATION_REQUIRED', retryable: false });
    expect(error.message).not.toContain('revoked-refresh-token-000');
    const again = await failure(client.getJob(JOB_ID));
    expect(again).toMatchObject({ code: 'REAUTHORIZATION_REQUIRED' });
    expect(fake.tokenRequests).toHaveLength(1);
    expect(revoked).toEqual(['REAUTHORIZATION_REQUIRED']);
  });

  it('retries transient token-endpoint failures with bounded backoff', async () => {
    const fake = await fakePleo();
    fake.tokenScript.push(
      () => ({ status: 503, body: { error: 'temporarily_unavailable' } }),
      () => ({ status: 502, body: undefined }),
    );
    const { tokens, events, delays } = provider(fake, { retry: { initialDelayMs: 100, jitter: 0 } });
    await tokens.refreshNow();
    expect(fake.tokenRequests).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
    expect(events.map((e) => e.outcome)).toEqual(['transient-failure', 'transient-failure', 'refreshed']);
  });

  it('gives up after the refresh retry budget with a retryable TOKEN_REFRESH_FAILED', async () => {
    const fake = await fakePleo();
    fake.tokenScript.push(...Array.from({ length: 5 }, () => () => ({ status: 500, body: {} })));
    const { tokens } = provider(fake, { retry: { maxAttempts: 2 } });
    const error = await failure(tokens.refreshNow());
    expect(error).toMatchObject({ code: 'TOKEN_REFRESH_FAILED', retryable: true, status: 500 });
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it('a second 401 after the refresh is final (one refresh, one replay)', async () => {
    const fake = await fakePleo();
    fake.rejectAll = true;
    const { tokens } = provider(fake);
    const client = createPleoClient({
      baseUrl: fake.server.url,
      companyId: COMPANY_ID,
      auth: { kind: 'oauth', tokens },
      rateLimit: false,
    });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false });
    expect(fake.apiRequests).toHaveLength(2);
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it('a caller abort does not cancel the shared refresh for the others', async () => {
    const fake = await fakePleo();
    const { tokens } = provider(fake);
    const controller = new AbortController();
    const aborted = failure(tokens.getAccessToken({ signal: controller.signal, rejected: ACCESS_TOKEN }));
    const other = tokens.getAccessToken({ rejected: ACCESS_TOKEN });
    controller.abort();
    recordError(await aborted);
    await expect(other).resolves.toBe(access(1));
    expect(fake.tokenRequests).toHaveLength(1);
  });
});
