/**
 * Every Pleo API response body is counted while it streams and refused past `maxResponseBytes`
 * (issue 16, item 7: a 400 MB page took 1.76 GB): a clear, permanent RESPONSE_TOO_LARGE, never a
 * buffered body.
 */
import type { ServerResponse } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import { DEFAULT_MAX_RESPONSE_BYTES, OAuthTokenProvider } from '../../src/client/index.js';
import { ResponseTooLargeError } from '../../src/errors/index.js';
import {
  ACCESS_TOKEN,
  CLIENT_SECRET,
  checkNoSecretsLeak,
  collect,
  failure,
  fakeTime,
  makeClient,
  makeJob,
  page,
  REFRESH_TOKEN,
} from './helpers.js';
import { type Handler, sendJson, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A page that never ends: `{"data":[` then job after job, 64 KiB at a time, up to `total` bytes. */
function hugePage(total: number, written: { bytes: number }): Handler {
  return (_request, response: ServerResponse) => {
    response.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8' });
    const job = JSON.stringify(makeJob(1));
    const chunk = Buffer.from(`${job},`.repeat(Math.floor((64 * 1024) / (job.length + 1))));
    response.write('{"data":[');
    const pump = (): void => {
      while (written.bytes < total) {
        written.bytes += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end(`${job}],"pagination":{"hasNextPage":false}}`);
    };
    pump();
  };
}

describe('maxResponseBytes', () => {
  it('refuses a huge page while it streams, without retrying or buffering it', async () => {
    const written = { bytes: 0 };
    const total = 400 * 1024 * 1024;
    server = await startServer(hugePage(total, written));
    const { client } = makeClient(server.url, { maxResponseBytes: 1024 * 1024 });
    const error = await failure(collect(client.listJobs({})));
    expect(error).toMatchObject({ code: 'RESPONSE_TOO_LARGE', retryable: false, status: 200 });
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error.message).toContain('GET /v3/export-jobs (listJobs)');
    expect(error.message).toContain('maxResponseBytes');
    expect(server.requests).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.bytes).toBeLessThan(total / 8);
  });

  it('refuses a declared Content-Length above the limit before reading', async () => {
    // A page above the smallest accepted limit (64 KiB, the configuration's `pleo.maxResponseBytes`).
    const jobs = Array.from({ length: 300 }, (_, i) => makeJob(i + 1));
    const body = page(jobs);
    server = await startServer((_request, response) => sendJson(response, 200, body));
    const size = Buffer.byteLength(JSON.stringify(body));
    expect(size).toBeGreaterThan(64 * 1024);
    const { client } = makeClient(server.url, { maxResponseBytes: size - 1 });
    expect(await failure(collect(client.listJobs({})))).toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    const { client: roomy } = makeClient(server.url, { maxResponseBytes: size });
    expect((await collect(roomy.listJobs({}))).items).toHaveLength(300);
  });

  it('defaults to 32 MiB and is validated', () => {
    expect(DEFAULT_MAX_RESPONSE_BYTES).toBe(32 * 1024 * 1024);
    expect(() => makeClient('https://external.pleo.io', { maxResponseBytes: 0 })).toThrow('maxResponseBytes');
    // The configuration's lower limit (64 KiB) holds for the client too.
    expect(() => makeClient('https://external.pleo.io', { maxResponseBytes: 64 * 1024 - 1 })).toThrow(
      'maxResponseBytes must be an integer from 65536 to 2147483648, got 65535',
    );
    expect(makeClient('https://external.pleo.io', { maxResponseBytes: 64 * 1024 }).client).toBeDefined();
  });
});

describe('token endpoint answers', () => {
  it('reads at most 1 MiB of a token answer: a huge one is a failed refresh, not a buffered body', async () => {
    const written = { bytes: 0 };
    const total = 400 * 1024 * 1024;
    server = await startServer(hugePage(total, written));
    const { clock, sleep } = fakeTime();
    const provider = new OAuthTokenProvider({
      clientId: 'client',
      clientSecret: CLIENT_SECRET,
      tokenUrl: `${server.url}/oauth/token`,
      tokens: { accessToken: ACCESS_TOKEN, refreshToken: REFRESH_TOKEN, expiresAt: clock() - 1 },
      persist: () => Promise.resolve(),
      retry: { maxAttempts: 1 },
      clock,
      sleep,
    });
    const error = await failure(provider.getAccessToken());
    expect(error).toMatchObject({ code: 'TOKEN_REFRESH_FAILED' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.bytes).toBeLessThan(total / 8);
  });
});
