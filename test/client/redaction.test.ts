/**
 * Credentials never appear in error messages, error JSON, causes or onRequest events, even when
 * the server or a custom fetch echoes them back. (Every other test file also runs the same leak
 * check over every error and event it produced: `checkNoSecretsLeak`.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redact, redactDeep, type RequestEvent, type TokenProvider } from '../../src/client/index.js';
import { ACCESS_TOKEN, API_KEY, checkNoSecretsLeak, failure, makeClient, SECRETS, uuid } from './helpers.js';
import { reply, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

const BASIC = Buffer.from(`${API_KEY}:`).toString('base64');
const JOB_ID = uuid(1, 'b');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function everything(error: Error, events: RequestEvent[] = []): string {
  const parts: string[] = [error.message, error.stack ?? '', JSON.stringify(error)];
  let cause: unknown = error.cause;
  while (cause instanceof Error) {
    parts.push(cause.message, cause.stack ?? '');
    cause = cause.cause;
  }
  return parts.join('\n') + JSON.stringify(events);
}

describe('redact()', () => {
  it.each([
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y', 'Authorization: [REDACTED]'],
    ['header was Bearer eyJhbGciOiJIUzI1NiJ9.x.y', 'header was Bearer [REDACTED]'],
    [`got Basic ${BASIC}`, 'got Basic [REDACTED]'],
    ['grant_type=refresh_token&refresh_token=abc123def', 'grant_type=refresh_token&refresh_token=[REDACTED]'],
    ['{"access_token":"tok-123456","expires_in":3600}', '{"access_token":"[REDACTED]","expires_in":3600}'],
    ['client_secret: s3cr3t-value', 'client_secret: [REDACTED]'],
    ['nothing to hide here', 'nothing to hide here'],
    // URL credentials and secret-like query parameters (issue 17)
    ['postgres://app:hunter2@db:5432/x', 'postgres://app:[REDACTED]@db:5432/x'],
    ['https://:only-pass@h/x', 'https://:[REDACTED]@h/x'],
    ['GET https://tok3n@files.example/r.pdf', 'GET https://[REDACTED]@files.example/r.pdf'],
    [
      'https://f.example/r.pdf?X-Amz-Credential=AKIA1&X-Amz-Signature=abc&x=1',
      'https://f.example/r.pdf?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&x=1',
    ],
    [
      'https://h/p?token=t1&key=k1&secret=s1&sig=g1&apikey=a1&password=p1&page=2',
      'https://h/p?token=[REDACTED]&key=[REDACTED]&secret=[REDACTED]&sig=[REDACTED]&apikey=[REDACTED]&password=[REDACTED]&page=2',
    ],
    ['https://h/p?design=1&monkeys=2#sig', 'https://h/p?design=1&monkeys=2#sig'],
    ['mail user@example.com about it', 'mail user@example.com about it'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('redactDeep masks every string of a record, keeping its keys', () => {
    expect(
      redactDeep({ url: 'https://u:p@h/x', list: ['?sig=abc', 3], token: null, n: { m: 'fine' } }),
    ).toEqual({
      url: 'https://u:[REDACTED]@h/x',
      list: ['?sig=[REDACTED]', 3],
      token: null,
      n: { m: 'fine' },
    });
  });

  it('replaces known secrets verbatim, anywhere', () => {
    expect(redact(`key=${API_KEY}; again ${API_KEY}`, [API_KEY])).toBe('key=[REDACTED]; again [REDACTED]');
  });
});

describe('the client never leaks credentials', () => {
  it('redacts an API key that the server echoes in its error message', async () => {
    server = await startServer(
      reply(401, { type: 'UNAUTHORIZED', message: `API key ${API_KEY} (Basic ${BASIC}) is not valid` }),
    );
    const events: RequestEvent[] = [];
    const { client } = makeClient(server.url, { onRequest: (e) => events.push(e) });
    const error = await failure(client.getJob(JOB_ID));
    const text = everything(error, events);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(error.message).toContain('[REDACTED]');
    expect(error.message).toMatch(
      /^GET \/v3\/export-jobs\/\S+ failed with 401 UNAUTHORIZED: API key \[REDACTED\]/,
    );
  });

  it('redacts a bearer token echoed by the server', async () => {
    server = await startServer(
      reply(403, { type: 'FORBIDDEN', message: `token ${ACCESS_TOKEN} lacks export-jobs:write` }),
    );
    const tokens: TokenProvider = { getAccessToken: () => Promise.resolve(ACCESS_TOKEN) };
    const { client } = makeClient(server.url, { auth: { kind: 'oauth', tokens } });
    const error = await failure(client.sendJobEvent({ jobId: JOB_ID, event: 'started' }));
    expect(everything(error)).not.toContain(ACCESS_TOKEN);
    expect(error.message).toContain('lacks export-jobs:write');
  });

  it('redacts credentials from a custom fetch error and its cause chain', async () => {
    const { client, events } = makeClient('http://127.0.0.1:9', {
      retry: { maxAttempts: 2 },
      fetch: (_url, init) => {
        const auth = (init.headers as Record<string, string>)['Authorization'];
        return Promise.reject(
          Object.assign(new TypeError(`proxy refused request with Authorization: ${auth}`), {
            cause: Object.assign(new Error(`socket hang up (${API_KEY})`), { code: 'ECONNRESET' }),
          }),
        );
      },
    });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    const text = everything(error, events);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(error.cause).toMatchObject({ code: 'ECONNRESET' });
  });

  it('wraps a failing custom token provider without leaking what it said', async () => {
    const tokens: TokenProvider = {
      getAccessToken: () => Promise.reject(new Error(`vault returned ${ACCESS_TOKEN} in an error`)),
    };
    server = await startServer(reply(200, {}));
    const { client } = makeClient(server.url, { auth: { kind: 'oauth', tokens } });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toMatchObject({ code: 'TOKEN_REFRESH_FAILED', retryable: false });
    expect(everything(error)).not.toContain(ACCESS_TOKEN);
    expect(server.requests).toHaveLength(0);
  });

  it('onRequest events carry no headers, query strings or bodies', async () => {
    server = await startServer(
      reply(200, {
        data: [],
        pagination: {
          hasNextPage: false,
          hasPreviousPage: false,
          currentRequestPagination: { parameters: {} },
        },
      }),
    );
    const { client, events } = makeClient(server.url);
    for await (const _page of client.listJobs({ statuses: ['pending'] })) {
      // drain
    }
    expect(events).toEqual([
      {
        operation: 'listJobs',
        method: 'GET',
        path: '/v3/export-jobs',
        status: 200,
        durationMs: expect.any(Number) as number,
        attempt: 1,
        errorCode: undefined,
        retryInMs: undefined,
      },
    ]);
  });
});
