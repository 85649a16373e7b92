import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/client/index.js';
import { ConflictError, RateLimitError, ServerError, TransportError } from '../../src/errors/index.js';
import {
  checkNoSecretsLeak,
  collect,
  COMPANY_ID,
  failure,
  fakeTime,
  makeClient,
  makeJob,
  page,
  uuid,
} from './helpers.js';
import { hang, type Handler, reply, script, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function serve(handler: Handler): Promise<TestServer> {
  server = await startServer(handler);
  return server;
}

const JOB_ID = uuid(1, 'b');
const okJob = reply(200, { data: makeJob(1) });
const createRequest = { companyId: COMPANY_ID, accountingEntryIds: [uuid(1, 'c')] };

/** A port with nothing listening on it: connections are refused. */
async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

describe('retries', () => {
  it('honours Retry-After in seconds on 429, then succeeds', async () => {
    const s = await serve(script(reply(429, { type: 'RATE_LIMITED' }, { 'Retry-After': '3' }), okJob));
    const { client, time, events } = makeClient(s.url);
    await expect(client.getJob(JOB_ID)).resolves.toMatchObject({ id: JOB_ID });
    expect(time.delays).toEqual([3000]);
    expect(events.map((e) => [e.status, e.attempt, e.retryInMs, e.errorCode])).toEqual([
      [429, 1, 3000, 'RATE_LIMITED'],
      [200, 2, undefined, undefined],
    ]);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    const { clock } = fakeTime();
    const at = new Date(clock() + 7000).toUTCString();
    const s = await serve(script(reply(429, undefined, { 'Retry-After': at }), okJob));
    const { client, time } = makeClient(s.url);
    await client.getJob(JOB_ID);
    expect(time.delays).toEqual([7000]);
  });

  it('does not wait longer than maxRetryAfterMs: throws RateLimitError with retryAfterMs instead', async () => {
    const s = await serve(
      reply(429, { type: 'RATE_LIMITED', message: 'slow down' }, { 'Retry-After': '3600' }),
    );
    const { client, time } = makeClient(s.url, { retry: { maxRetryAfterMs: 60_000 } });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3_600_000,
      status: 429,
    });
    expect(time.delays).toEqual([]);
    expect(s.requests).toHaveLength(1);
  });

  it('rides out a 5xx burst with capped exponential backoff', async () => {
    const s = await serve(script(reply(502), reply(503), reply(500), reply(504), okJob));
    const { client, time } = makeClient(s.url, {
      retry: { maxAttempts: 6, initialDelayMs: 100, multiplier: 3, maxDelayMs: 1000, jitter: 0 },
    });
    await client.getJob(JOB_ID);
    expect(time.delays).toEqual([100, 300, 900, 1000]);
  });

  it('applies jitter within [delay * (1 - jitter), delay]', async () => {
    const s = await serve(script(reply(500), reply(500), okJob));
    const { client, time } = makeClient(s.url, {
      random: () => 1,
      retry: { initialDelayMs: 1000, multiplier: 2, jitter: 0.5 },
    });
    await client.getJob(JOB_ID);
    expect(time.delays).toEqual([500, 1000]);
  });

  it('gives up after maxAttempts with a retryable ServerError naming method, path and Pleo message', async () => {
    const s = await serve(reply(503, { type: 'UNAVAILABLE', message: 'down for maintenance' }));
    const { client, time } = makeClient(s.url, { retry: { maxAttempts: 3 } });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'SERVER_ERROR', retryable: true, status: 503, method: 'GET' });
    expect(error.message).toBe(
      `GET /v3/export-jobs/${JOB_ID} failed with 503 UNAVAILABLE: down for maintenance`,
    );
    expect(s.requests).toHaveLength(3);
    expect(time.delays).toHaveLength(2);
  });

  it('does not retry permanent errors (404 EXPORT_NOT_FOUND)', async () => {
    const s = await serve(reply(404, { type: 'EXPORT_NOT_FOUND', message: 'Export job not found' }));
    const { client } = makeClient(s.url);
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toMatchObject({
      name: 'NotFoundError',
      code: 'EXPORT_NOT_FOUND',
      retryable: false,
      pleoType: 'EXPORT_NOT_FOUND',
    });
    expect(s.requests).toHaveLength(1);
  });

  it('retries pages mid-iteration without losing or repeating items', async () => {
    const s = await serve(
      script(
        reply(200, page([makeJob(1)], 'CURB')),
        reply(500),
        reply(429, undefined, { 'Retry-After': '1' }),
        reply(200, page([makeJob(2)])),
      ),
    );
    const { client } = makeClient(s.url);
    const { items } = await collect(client.listJobs({}));
    expect(items.map((j) => j.id)).toEqual([makeJob(1).id, makeJob(2).id]);
    expect(s.requests.slice(1).map((r) => r.url.searchParams.get('after'))).toEqual(['CURB', 'CURB', 'CURB']);
  });
});

describe('write safety', () => {
  it('createJob is NOT retried on a 500 (it may have been applied)', async () => {
    const s = await serve(reply(500, { type: 'INTERNAL', message: 'boom' }));
    const { client } = makeClient(s.url);
    const error = await failure(client.createJob(createRequest));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ retryable: true });
    expect(error.message).toMatch(/not retried: the request may have been applied/);
    expect(s.requests).toHaveLength(1);
  });

  it('createJob is NOT retried after a timeout, and the error says so (retryable: false)', async () => {
    const s = await serve(hang);
    const { client } = makeClient(s.url, { timeoutMs: 20 });
    const error = await failure(client.createJob(createRequest));
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: false });
    expect(s.requests).toHaveLength(1);
  });

  it('createJob IS retried on 429 and on 503 with Retry-After (provably not applied)', async () => {
    const s = await serve(
      script(reply(429), reply(503, undefined, { 'Retry-After': '2' }), reply(201, { data: makeJob(3) })),
    );
    const { client, time } = makeClient(s.url);
    await expect(client.createJob(createRequest)).resolves.toMatchObject({ id: makeJob(3).id });
    expect(s.requests).toHaveLength(3);
    expect(time.delays).toEqual([250, 2000]);
  });

  it('createJob IS retried when the connection is refused', async () => {
    const refused = await closedPort();
    const { client } = makeClient(refused, { retry: { maxAttempts: 3 } });
    const error = await failure(client.createJob(createRequest));
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true });
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('sendJobEvent is retried; a 422 on the replay is a ConflictError that mentions the earlier attempt', async () => {
    const s = await serve(
      script(
        reply(502),
        reply(422, { type: 'INVALID_EXPORT_JOB_STATUS_CHANGE', message: 'Job is already in progress' }),
      ),
    );
    const { client } = makeClient(s.url);
    const error = await failure(client.sendJobEvent({ jobId: JOB_ID, event: 'started' }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'INVALID_EXPORT_JOB_STATUS_CHANGE', retryable: false, status: 422 });
    expect(error.message).toMatch(
      /POST \/v3\/export-job-events failed with 422 .*attempt 2: an earlier attempt may have been applied/,
    );
  });

  it('maps 409 EXPORT_ALREADY_IN_PROGRESS and 400 MISSING_CONTRA_ACCOUNTS', async () => {
    const s = await serve(
      script(
        reply(409, { type: 'EXPORT_ALREADY_IN_PROGRESS', message: 'An export is already in progress' }),
        reply(400, { type: 'MISSING_CONTRA_ACCOUNTS', message: 'Contra accounts missing' }),
      ),
    );
    const { client } = makeClient(s.url);
    expect(await failure(client.createJob(createRequest))).toMatchObject({
      name: 'ConflictError',
      code: 'EXPORT_ALREADY_IN_PROGRESS',
    });
    expect(await failure(collect(client.listExportItems(JOB_ID)))).toMatchObject({
      name: 'InvalidRequestError',
      code: 'MISSING_CONTRA_ACCOUNTS',
      retryable: false,
    });
  });
});

describe('timeouts, aborts, network errors', () => {
  it('times out an attempt that never answers and retries it (GET)', async () => {
    const s = await serve(script(hang, okJob));
    const { client, events } = makeClient(s.url, { timeoutMs: 20 });
    await expect(client.getJob(JOB_ID)).resolves.toMatchObject({ id: JOB_ID });
    expect(events.map((e) => e.errorCode)).toEqual(['TIMEOUT', undefined]);
  });

  it('after maxAttempts timeouts: TransportError TIMEOUT, retryable', async () => {
    const s = await serve(hang);
    const { client } = makeClient(s.url, { timeoutMs: 20, retry: { maxAttempts: 2 } });
    const error = await failure(client.getJob(JOB_ID));
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(error.message).toBe(`GET /v3/export-jobs/${JOB_ID} timed out`);
  });

  it('aborts an in-flight request through the caller signal, without retrying', async () => {
    const s = await serve(hang);
    const { client } = makeClient(s.url);
    const controller = new AbortController();
    const pending = failure(client.getJob(JOB_ID, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 10);
    const error = await pending;
    expect(error).toMatchObject({ code: 'ABORTED', retryable: false });
    expect(s.requests).toHaveLength(1);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const s = await serve(okJob);
    const { client } = makeClient(s.url);
    const error = await failure(client.getJob(JOB_ID, { signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(s.requests).toHaveLength(0);
  });

  it('retries a network error for reads and reports it in onRequest', async () => {
    let calls = 0;
    const flaky: FetchLike = async (url, init) => {
      calls += 1;
      if (calls === 1) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
      return fetch(url, init);
    };
    const s = await serve(okJob);
    const { client, events } = makeClient(s.url, { fetch: flaky });
    await client.getJob(JOB_ID);
    expect(events[0]).toMatchObject({
      status: undefined,
      errorCode: 'NETWORK',
      attempt: 1,
      operation: 'getJob',
    });
    expect(events[1]).toMatchObject({ status: 200, attempt: 2 });
  });
});

describe('rate limiter', () => {
  it('paces requests with a token bucket on the injected clock', async () => {
    const s = await serve(okJob);
    const { client, time } = makeClient(s.url, { rateLimit: { requestsPerSecond: 4, burst: 2 } });
    for (let i = 0; i < 6; i++) await client.getJob(JOB_ID);
    // Two from the burst, then one every 250 ms.
    expect(time.delays).toEqual([250, 250, 250, 250]);
  });

  it('serves concurrent callers in order without polling', async () => {
    const s = await serve(okJob);
    // All four arrive at the same instant: the clock does not move while they wait.
    const delays: number[] = [];
    const { client } = makeClient(s.url, {
      rateLimit: { requestsPerSecond: 10, burst: 1 },
      clock: () => 1_000_000,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
    });
    await Promise.all(Array.from({ length: 4 }, () => client.getJob(JOB_ID)));
    expect(delays).toEqual([100, 200, 300]);
  });
});
