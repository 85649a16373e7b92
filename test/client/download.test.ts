import { afterEach, describe, expect, it } from 'vitest';
import { FileTooLargeError } from '../../src/errors/index.js';
import { checkNoSecretsLeak, failure, makeClient } from './helpers.js';
import { type Handler, reply, script, startServer, type TestServer } from './server.js';

const SIGNATURE = 'X-Amz-Signature=5ec2e7a1b9d04f6c';
checkNoSecretsLeak([SIGNATURE]);

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function serve(handler: Handler): Promise<TestServer> {
  server = await startServer(handler);
  return server;
}

const bytes = (n: number): Buffer => Buffer.alloc(n, 7);
const file =
  (body: Buffer, chunked = false): Handler =>
  (_request, response) => {
    response.writeHead(200, {
      'Content-Type': 'application/pdf',
      ...(chunked ? {} : { 'Content-Length': String(body.length) }),
    });
    if (!chunked) return void response.end(body);
    for (let i = 0; i < body.length; i += 1000) response.write(body.subarray(i, i + 1000));
    response.end();
  };

describe('downloadFile', () => {
  it('downloads the bytes and sends no credentials', async () => {
    const s = await serve(file(bytes(5000)));
    const { client } = makeClient(s.url);
    const data = await client.downloadFile(`${s.url}/receipts/r1.pdf?${SIGNATURE}`);
    expect(data.byteLength).toBe(5000);
    expect(s.requests[0]?.headers.authorization).toBeUndefined();
    expect(s.requests[0]?.url.search).toBe(`?${SIGNATURE}`);
  });

  it('refuses a file whose Content-Length exceeds maxBytes', async () => {
    const s = await serve(file(bytes(5000)));
    const { client } = makeClient(s.url);
    const error = await failure(
      client.downloadFile(`${s.url}/receipts/big.pdf?${SIGNATURE}`, { maxBytes: 4096 }),
    );
    expect(error).toBeInstanceOf(FileTooLargeError);
    expect(error).toMatchObject({ code: 'FILE_TOO_LARGE', retryable: false });
    expect(error.message).toContain('/receipts/big.pdf');
    expect(s.requests).toHaveLength(1);
  });

  it('enforces maxBytes while streaming when no Content-Length is sent', async () => {
    const s = await serve(file(bytes(50_000), true));
    const { client } = makeClient(s.url, { maxDownloadBytes: 10_000 });
    const error = await failure(client.downloadFile(`${s.url}/receipts/stream.pdf`));
    expect(error).toMatchObject({ code: 'FILE_TOO_LARGE' });
  });

  it('accepts a streamed file exactly at maxBytes', async () => {
    const s = await serve(file(bytes(10_000), true));
    const { client } = makeClient(s.url);
    expect((await client.downloadFile(`${s.url}/r.pdf`, { maxBytes: 10_000 })).byteLength).toBe(10_000);
  });

  it.each([
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [410, 'NOT_FOUND'],
  ])('%i (expired or missing URL) is permanent and not retried', async (status, code) => {
    const s = await serve(reply(status, undefined));
    const { client } = makeClient(s.url);
    const error = await failure(client.downloadFile(`${s.url}/receipts/r.pdf?${SIGNATURE}`));
    expect(error).toMatchObject({ code, retryable: false, status });
    expect(error.message).not.toContain('Signature');
    expect(s.requests).toHaveLength(1);
  });

  it('retries 503 like any GET, and is paced by its own pacer, not by the API rate limiter', async () => {
    const s = await serve(script(reply(503), file(bytes(10))));
    const { client, time } = makeClient(s.url, { rateLimit: { requestsPerSecond: 1, burst: 1 } });
    await client.downloadFile(`${s.url}/r.pdf`);
    await client.downloadFile(`${s.url}/r.pdf`);
    // 250: the retry's backoff. 140: the file host's 503 turned its pacing on (0.7 × the 10/s
    // measured over the first 100 ms, +1/7 after the success); the API's ceiling (one request per
    // 1000 s) would have waited 1,000,000 ms.
    expect(time.delays).toEqual([250, 140]);
  });

  it('rejects plain http to a foreign host and URLs with credentials', async () => {
    const { client } = makeClient('https://external.pleo.io');
    expect(await failure(client.downloadFile('http://files.example.com/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
      retryable: false,
    });
    expect(await failure(client.downloadFile('https://user:pw@files.pleo.io/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    expect(await failure(client.downloadFile('not a url'))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
