/**
 * Receipt downloads treat the URL from Pleo's data as hostile (issue 17, finding 2): scheme, host
 * allow-list, addresses after DNS resolution (an injected lookup; no traffic ever leaves loopback),
 * redirects checked hop by hop, and the body counted against the declared size while it streams.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import type { HostLookup, PleoClientOptions } from '../../src/client/index.js';
import { blockedRange, createPleoClient, parseIPv4 } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { clientOptions } from '../../src/runtime/index.js';
import { createSqliteStore } from '../../src/store/index.js';
import { checkNoSecretsLeak, failure, makeClient } from './helpers.js';
import { type Handler, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}
const portOf = (s: TestServer): string => new URL(s.url).port;

const pdf =
  (body: Buffer, headers: Record<string, string> = {}): Handler =>
  (_request, response) => {
    response.writeHead(200, {
      'Content-Type': 'application/pdf',
      'Content-Length': String(body.length),
      ...headers,
    });
    response.end(body);
  };
const redirect =
  (location: string): Handler =>
  (_request, response) => {
    response.writeHead(302, { Location: location, 'Content-Length': '0' });
    response.end();
  };

/** A lookup from a fixed table, recording what it was asked. */
function fakeLookup(table: Record<string, string[]>): HostLookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = (hostname: string): Promise<{ address: string; family: number }[]> => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined)
      return Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return Object.assign(lookup, { asked });
}

/** A client whose API is elsewhere (so the test server is not the API origin). */
function client(downloads: PleoClientOptions['downloads']) {
  return makeClient('https://external.pleo.io', { ...(downloads ? { downloads } : {}) }).client;
}

describe('receipt download policy: scheme and host', () => {
  it('refuses a host outside the allow-list before resolving it', async () => {
    const lookup = fakeLookup({ 'files.example.com': ['127.0.0.1'] });
    const c = client({ lookup });
    const error = await failure(c.downloadFile('https://files.example.com/r.pdf'));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
    expect(error.message).toContain('attachments.allowedHosts');
    // The default list is *.pleo.io: a look-alike suffix and the bare domain do not match.
    expect(await failure(c.downloadFile('https://files.pleo.io.evil.com/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    expect(await failure(c.downloadFile('https://evilpleo.io/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    expect(lookup.asked).toEqual([]);
  });

  it('refuses plain http even to an allowed host, and another port of an allowed host', async () => {
    const lookup = fakeLookup({});
    const c = client({ lookup });
    const http = await failure(c.downloadFile('http://files.pleo.io/r.pdf'));
    expect(http).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(http.message).toContain('plain http');
    expect(await failure(c.downloadFile('https://files.pleo.io:8443/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    expect(await failure(c.downloadFile('file:///etc/passwd'))).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(lookup.asked).toEqual([]);
  });

  it('refuses plain http to another port of the loopback API host (only the API origin itself is trusted)', async () => {
    const internal = await serve(pdf(Buffer.from('internal secret')));
    const api = await serve(pdf(Buffer.from('x')));
    const { client: c } = makeClient(api.url);
    expect(await failure(c.downloadFile(`${internal.url}/secret`))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    expect(internal.requests).toHaveLength(0);
  });

  it.each([
    ['0x7f000001', 'loopback'],
    ['2130706433', 'loopback'],
    ['017700000001', 'loopback'],
    ['127.1', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::1]', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['10.0.0.5', 'private'],
    ['[fe80::1]', 'link-local'],
    ['[fc00::1]', 'unique-local'],
    ['[fd00:ec2::254]', 'unique-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
  ])('refuses the IP literal %s even when it is on the allow-list (%s)', async (host, range) => {
    const internal = await serve(pdf(Buffer.from('internal secret')));
    const port = portOf(internal);
    // Allow the host outright: the address check must still refuse it.
    const canonical = new URL(`https://${host}:${port}/`).host;
    const c = client({ allowedHosts: [canonical] });
    const error = await failure(c.downloadFile(`https://${host}:${port}/latest/meta-data`));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
    expect(error.message).toContain(range);
    expect(internal.requests).toHaveLength(0);
  });
});

describe('receipt download policy: addresses after DNS resolution', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['fe80::1', 'link-local'],
  ])(
    'refuses a name that resolves to %s, without connecting and without retrying',
    async (address, range) => {
      const lookup = fakeLookup({ 'receipts.pleo.io': [address] });
      const { client: c, events } = makeClient('https://external.pleo.io', { downloads: { lookup } });
      const error = await failure(c.downloadFile('https://receipts.pleo.io/r.pdf'));
      expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED', retryable: false });
      expect(error.message).toContain(`resolves to ${address}`);
      expect(error.message).toContain(range);
      expect(lookup.asked).toEqual(['receipts.pleo.io']);
      expect(events).toHaveLength(1);
    },
  );

  it('refuses a name when any of its addresses is not public', async () => {
    const lookup = fakeLookup({ 'receipts.pleo.io': ['93.184.216.34', '127.0.0.1'] });
    const c = client({ lookup });
    expect(await failure(c.downloadFile('https://receipts.pleo.io/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
  });

  it('connects to the address the lookup returned (a host allowed insecure, here loopback)', async () => {
    const body = Buffer.from('%PDF-1.4 receipt');
    const files = await serve(pdf(body));
    const lookup = fakeLookup({ 'files.test': ['127.0.0.1'] });
    const c = client({ allowInsecureHosts: [`files.test:${portOf(files)}`], lookup });
    const file = await c.download(`http://files.test:${portOf(files)}/r.pdf`);
    expect(Buffer.from(file.bytes).toString()).toBe(body.toString());
    expect(file.byteLength).toBe(body.length);
    expect(file.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(lookup.asked).toEqual(['files.test']);
    expect(files.requests[0]?.headers.host).toBe(`files.test:${portOf(files)}`);
    // The insecure allowance is per host and port: another port of the same host is refused.
    expect(await failure(c.downloadFile('http://files.test:1/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
  });
});

describe('receipt download policy: redirects', () => {
  it('re-checks every hop: a redirect to an internal service is refused and never reaches it', async () => {
    const internal = await serve(pdf(Buffer.from('internal secret')));
    const api = await serve(redirect(`${internal.url}/admin/secret`));
    const { client: c } = makeClient(api.url);
    const error = await failure(c.downloadFile(`${api.url}/r.pdf`));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses a redirect to the metadata service and to a name resolving to a private address', async () => {
    const lookup = fakeLookup({ 'evil.pleo.io': ['10.0.0.7'] });
    const api = await serve(
      (() => {
        let n = 0;
        return (request: Parameters<Handler>[0], response: Parameters<Handler>[1]) => {
          n += 1;
          void redirect(n === 1 ? 'https://169.254.169.254/latest/meta-data/' : 'https://evil.pleo.io/x')(
            request,
            response,
          );
        };
      })(),
    );
    const { client: c } = makeClient(api.url, { downloads: { lookup } });
    expect(await failure(c.downloadFile(`${api.url}/a.pdf`))).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(await failure(c.downloadFile(`${api.url}/b.pdf`))).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(lookup.asked).toEqual(['evil.pleo.io']);
  });

  it('follows allowed redirects, at most maxRedirects of them', async () => {
    const body = Buffer.from('receipt');
    const api = await serve((request, response) => {
      const n = Number(request.url.pathname.slice(1));
      if (n > 0) void redirect(`/${n - 1}`)(request, response);
      else void pdf(body)(request, response);
    });
    const { client: c } = makeClient(api.url, { downloads: { maxRedirects: 2 } });
    expect(Buffer.from(await c.downloadFile(`${api.url}/2`)).toString()).toBe('receipt');
    const before = api.requests.length;
    const error = await failure(c.downloadFile(`${api.url}/3`));
    expect(error).toMatchObject({ code: 'DOWNLOAD_REFUSED' });
    expect(error.message).toContain('more than 2 redirects');
    expect(api.requests.length - before).toBe(3);
  });
});

describe('receipt download size', () => {
  /** Streams `total` bytes in 64 KiB chunks without Content-Length; records how much it wrote. */
  function endless(total: number, written: { bytes: number; aborted: boolean }): Handler {
    return (_request, response: ServerResponse) => {
      response.writeHead(200, { 'Content-Type': 'application/pdf' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      response.on('close', () => {
        written.aborted = written.bytes < total;
      });
      const pump = (): void => {
        while (written.bytes < total) {
          written.bytes += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end();
      };
      pump();
    };
  }

  it('cuts a body longer than the declared size off at that size (never buffers the rest)', async () => {
    const written = { bytes: 0, aborted: false };
    const total = 200 * 1024 * 1024;
    const api = await serve(endless(total, written));
    const { client: c } = makeClient(api.url);
    const error = await failure(c.download(`${api.url}/r.pdf`, { expectedBytes: 10, maxBytes: total }));
    expect(error).toMatchObject({ code: 'FILE_SIZE_MISMATCH', retryable: false });
    expect(error.message).toContain('not the 10 bytes Pleo declared');
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.bytes).toBeLessThan(total / 4);
    expect(api.requests).toHaveLength(1);
  });

  it('refuses a Content-Length other than the declared size before reading, and a short body after it', async () => {
    const api = await serve(
      (() => {
        let n = 0;
        return (request: Parameters<Handler>[0], response: Parameters<Handler>[1]) => {
          n += 1;
          if (n === 1) void pdf(Buffer.alloc(100))(request, response);
          else {
            response.writeHead(200, { 'Content-Type': 'application/pdf' });
            response.end(Buffer.alloc(5));
          }
        };
      })(),
    );
    const { client: c } = makeClient(api.url);
    expect(await failure(c.download(`${api.url}/a.pdf`, { expectedBytes: 10 }))).toMatchObject({
      code: 'FILE_SIZE_MISMATCH',
    });
    const short = await failure(c.download(`${api.url}/b.pdf`, { expectedBytes: 10 }));
    expect(short).toMatchObject({ code: 'FILE_SIZE_MISMATCH' });
    expect(short.message).toContain('5 bytes');
  });

  it('a connection cut before the body ends fails the download (never a short file, never a hang)', async () => {
    const api = await serve((_request, response: ServerResponse) => {
      response.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': '100000' });
      response.write(Buffer.alloc(1000, 7), () => response.socket?.destroy());
    });
    const { client: c } = makeClient(api.url);
    const error = await failure(c.download(`${api.url}/r.pdf`, { expectedBytes: 100_000 }));
    expect(error).toMatchObject({ code: 'NETWORK' });
    expect(api.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('a body streamed in many chunks arrives whole, in order', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(16 * 1024, i));
    const whole = Buffer.concat(chunks);
    const api = await serve((_request, response: ServerResponse) => {
      response.writeHead(200, { 'Content-Type': 'application/pdf' });
      const next = (i: number): void => {
        if (i === chunks.length) return void response.end();
        response.write(chunks[i], () => setImmediate(() => next(i + 1)));
      };
      next(0);
    });
    const { client: c } = makeClient(api.url);
    const file = await c.download(`${api.url}/r.pdf`);
    expect(Buffer.from(file.bytes).equals(whole)).toBe(true);
    expect(file.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
  });

  it('accepts exactly the declared size and returns its hash', async () => {
    const body = Buffer.alloc(70_000, 3);
    const api = await serve(pdf(body));
    const { client: c } = makeClient(api.url);
    const file = await c.download(`${api.url}/r.pdf`, { expectedBytes: body.length });
    expect(file.byteLength).toBe(body.length);
    expect(file.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('refuses a declared size above maxBytes without sending anything', async () => {
    const api = await serve(pdf(Buffer.alloc(10)));
    const { client: c } = makeClient(api.url);
    expect(
      await failure(c.download(`${api.url}/r.pdf`, { expectedBytes: 5000, maxBytes: 4096 })),
    ).toMatchObject({
      code: 'FILE_TOO_LARGE',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('download policy configuration', () => {
  it.each([
    [{ allowedHosts: ['*.com'] }, 'allowedHosts'],
    [{ allowedHosts: ['https://files.pleo.io'] }, 'allowedHosts'],
    [{ allowedHosts: ['files.pleo.io:99999'] }, 'allowedHosts'],
    [{ allowInsecureHosts: ['*.local'] }, 'allowInsecureHosts'],
    [{ maxRedirects: -1 }, 'maxRedirects'],
    [{ allowedHost: ['x'] }, 'unknown option'],
  ])('refuses %j', (downloads, key) => {
    expect(() => makeClient('https://external.pleo.io', { downloads: downloads as never })).toThrow(key);
  });
});

describe('address classification', () => {
  it('reads the odd IPv4 spellings', () => {
    for (const s of ['0x7f000001', '2130706433', '017700000001', '127.1', '0x7f.1', '127.0.0.1'])
      expect(parseIPv4(s)).toBe(0x7f000001);
    expect(parseIPv4('files.pleo.io')).toBeNull();
    expect(parseIPv4('256.0.0.1')).toBeNull();
  });

  it('knows public from not public', () => {
    expect(blockedRange('93.184.216.34')).toBeNull();
    expect(blockedRange('2606:4700::1111')).toBeNull();
    expect(blockedRange('::ffff:169.254.169.254')).toContain('link-local');
    expect(blockedRange('64:ff9b::a00:1')).toBe('private'); // NAT64 of 10.0.0.1
    expect(blockedRange('2002:7f00:1::')).toBe('loopback'); // 6to4 of 127.0.0.1
    expect(blockedRange('::')).toBe('unspecified');
    expect(blockedRange('ff02::1')).toBe('multicast');
    expect(blockedRange('not-an-ip')).toBe('not an IP address');
  });
});

describe('download policy from the configuration file', () => {
  const company = { id: '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b', apiKey: 'pleo-test-api-key-7f3a91c4e2' };
  const clientFor = async (attachments: Record<string, unknown>, pleo: Record<string, unknown> = {}) => {
    const config = loadConfig({
      env: {},
      raw: { pleo, companies: [{ ...company, accounting: { attachments } }] },
    });
    const store = createSqliteStore({ path: ':memory:' });
    try {
      return createPleoClient(await clientOptions(config, config.companies[0]!, store));
    } finally {
      await store.close();
    }
  };

  it('accounting.attachments.allowInsecureHosts allows exactly that host and port', async () => {
    const files = await serve(pdf(Buffer.from('receipt')));
    const refused = await clientFor({});
    expect(await failure(refused.downloadFile(`${files.url}/r.pdf`))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
    const allowed = await clientFor({ allowInsecureHosts: [new URL(files.url).host] });
    expect(Buffer.from(await allowed.downloadFile(`${files.url}/r.pdf`)).toString()).toBe('receipt');
    expect(files.requests).toHaveLength(1);
  });

  it('accounting.attachments.allowedHosts replaces the default list', async () => {
    const c = await clientFor({ allowedHosts: ['receipts.example.com'] });
    expect(await failure(c.downloadFile('https://files.pleo.io/r.pdf'))).toMatchObject({
      code: 'DOWNLOAD_REFUSED',
    });
  });

  it('refuses a malformed host entry, naming the key', () => {
    expect(() =>
      loadConfig({
        env: {},
        raw: {
          companies: [{ ...company, accounting: { attachments: { allowedHosts: ['https://x.io/a'] } } }],
        },
      }),
    ).toThrow('companies[0].accounting.attachments.allowedHosts[0]');
  });

  it('pleo.maxResponseBytes reaches the client', async () => {
    const written = { bytes: 0 };
    const api = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(`{"data":[],"pad":"${'x'.repeat(100_000)}"}`);
      written.bytes += 100_000;
    });
    const c = await clientFor({}, { url: api.url, maxResponseBytes: 65_536 });
    expect(await failure(c.getJob('bbbbbbbb-0000-4000-8000-000000000001'))).toMatchObject({
      code: 'RESPONSE_TOO_LARGE',
    });
  });
});
