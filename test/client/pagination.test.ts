import { afterEach, describe, expect, it } from 'vitest';
import { MalformedResponseError, PaginationError } from '../../src/errors/index.js';
import {
  checkNoSecretsLeak,
  collect,
  cursor,
  failure,
  makeClient,
  makeExportItem,
  makeJob,
  makeJobItem,
  page,
  uuid,
} from './helpers.js';
import { type Handler, reply, script, sendJson, startServer, type TestServer } from './server.js';

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

/** A server holding `total` jobs, paginating by `limit` with base32 cursors. */
function jobsServer(total: number): Handler {
  return (request, response) => {
    const limit = Number(request.url.searchParams.get('limit'));
    const after = request.url.searchParams.get('after');
    const start = after === null ? 0 : decode(after);
    const data = Array.from({ length: Math.max(0, Math.min(limit, total - start)) }, (_, i) =>
      makeJob(start + i + 1),
    );
    const end = start + data.length;
    sendJson(response, 200, page(data, end < total ? cursor(end) : undefined));
  };
}
function decode(c: string): number {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...c.slice(3)].reduce((n, ch) => n * 32 + alphabet.indexOf(ch), 0);
}

describe('pagination', () => {
  it('walks many pages with after = endCursor until hasNextPage is false', async () => {
    const s = await serve(jobsServer(1234));
    const { client } = makeClient(s.url, { pageSize: 50 });
    const { pages, items } = await collect(client.listJobs({ statuses: ['pending'] }));
    expect(pages).toHaveLength(25);
    expect(items).toHaveLength(1234);
    expect(new Set(items.map((j) => j.id)).size).toBe(1234);
    expect(s.requests[0]?.url.searchParams.has('after')).toBe(false);
    expect(s.requests.slice(1).map((r) => r.url.searchParams.get('after'))).toEqual(
      pages.slice(0, -1).map((p) => p.pagination.endCursor),
    );
    expect(s.requests.every((r) => r.url.searchParams.get('limit') === '50')).toBe(true);
  });

  it('uses the per-call page size over the client default, and resumes after a stored cursor', async () => {
    const s = await serve(jobsServer(30));
    const { client } = makeClient(s.url, { pageSize: 7 });
    const { items } = await collect(client.listJobs({}, { pageSize: 10, after: cursor(10) }));
    expect(items.map((j) => j.id)).toEqual(Array.from({ length: 20 }, (_, i) => makeJob(i + 11).id));
    expect(s.requests[0]?.url.searchParams.get('after')).toBe(cursor(10));
    expect(s.requests[0]?.url.searchParams.get('limit')).toBe('10');
  });

  it('raises PAGINATION_STUCK when the cursor does not advance', async () => {
    const s = await serve(
      script(reply(200, page([makeJob(1)], cursor(1))), reply(200, page([makeJob(2)], cursor(1)))),
    );
    const { client } = makeClient(s.url);
    const seen: string[] = [];
    const error = await failure(
      (async () => {
        for await (const p of client.listJobs({})) seen.push(...p.data.map((j) => j.id));
      })(),
    );
    expect(error).toBeInstanceOf(PaginationError);
    expect(error).toMatchObject({ code: 'PAGINATION_STUCK', retryable: false });
    expect(error.message).toMatch(/GET \/v3\/export-jobs \(listJobs\).*does not advance/);
    // The bad page is never yielded, so its cursor can never be committed.
    expect(seen).toEqual([makeJob(1).id]);
    expect(s.requests).toHaveLength(2);
  });

  it('raises PAGINATION_STUCK when a resumed run gets its own cursor back', async () => {
    const s = await serve(reply(200, page([makeJob(5)], cursor(4))));
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listJobs({}, { after: cursor(4) })));
    expect(error).toMatchObject({ code: 'PAGINATION_STUCK' });
  });

  it('detects cursor cycles (A → B → A)', async () => {
    const s = await serve(
      script(
        reply(200, page([makeJob(1)], cursor(1))),
        reply(200, page([makeJob(2)], cursor(2))),
        reply(200, page([makeJob(3)], cursor(1))),
      ),
    );
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listJobs({})));
    expect(error.message).toMatch(/already used in this run/);
  });

  it('raises PAGINATION_STUCK when a page repeats items (job items keyed by accountingEntryId)', async () => {
    const jobId = uuid(1, 'b');
    const s = await serve(
      script(
        reply(200, page([makeJobItem(1, jobId), makeJobItem(2, jobId)], cursor(1))),
        reply(200, page([makeJobItem(2, jobId), makeJobItem(3, jobId)], cursor(2))),
      ),
    );
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listJobItems(jobId, {})));
    expect(error).toMatchObject({ code: 'PAGINATION_STUCK' });
    expect(error.message).toContain(uuid(2, 'c'));
  });

  it('raises PAGINATION_STUCK on hasNextPage without endCursor', async () => {
    const broken = page([makeExportItem(1)]);
    broken.pagination.hasNextPage = true;
    const s = await serve(reply(200, broken));
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listExportItems(uuid(1, 'b'))));
    expect(error).toMatchObject({ code: 'PAGINATION_STUCK' });
    expect(error.message).toMatch(/endCursor is missing/);
  });

  it('gives up after repeated empty pages that still claim a next page', async () => {
    let n = 0;
    const s = await serve((_req, res) => sendJson(res, 200, page([], cursor(++n))));
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listJobs({})));
    expect(error).toMatchObject({ code: 'PAGINATION_STUCK' });
    expect(s.requests.length).toBe(4);
  });

  it('stops fetching when the consumer breaks out of the loop', async () => {
    const s = await serve(jobsServer(1000));
    const { client } = makeClient(s.url, { pageSize: 10 });
    let pages = 0;
    for await (const _p of client.listJobs({})) {
      if (++pages === 3) break;
    }
    expect(s.requests).toHaveLength(3);
  });

  it('serialises concurrent next() calls: pages arrive in order, one request at a time', async () => {
    const s = await serve(jobsServer(30));
    const { client } = makeClient(s.url, { pageSize: 10 });
    const iterator = client.listJobs({})[Symbol.asyncIterator]();
    const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next()]);
    expect(results.map((r) => (r.done === true ? 'done' : r.value.data[0]?.id))).toEqual([
      makeJob(1).id,
      makeJob(11).id,
      makeJob(21).id,
      'done',
    ]);
  });

  it('a malformed page is a MalformedResponseError naming the operation and the paths', async () => {
    const bad = page([makeJob(1, { status: 'exploded' as never }), { ...makeJob(2), id: 'nope' }]);
    const s = await serve(reply(200, bad));
    const { client } = makeClient(s.url);
    const error = await failure(collect(client.listJobs({})));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error).toMatchObject({ code: 'MALFORMED_RESPONSE', retryable: false, status: 200 });
    expect(error.message).toContain('(listJobs)');
    expect(error.message).toContain('/data/0/status');
    expect(error.message).toContain('/data/1/id');
  });

  it('with validation off, a page without data is still a clear error, not a TypeError', async () => {
    const s = await serve(reply(200, { pagination: { hasNextPage: false } }));
    const { client } = makeClient(s.url, { validateResponses: false });
    const error = await failure(collect(client.listJobs({})));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toMatch(/data is not an array/);
  });

  it('rejects bad page options before sending anything', async () => {
    const s = await serve(jobsServer(1));
    const { client } = makeClient(s.url);
    expect(() => client.listJobs({}, { pageSize: 0 })).toThrow(/pageSize must be an integer/);
    expect(() => client.listJobs({ statuses: ['done' as never] })).toThrow(/statuses must contain only/);
    expect(() => client.listJobItems('x', {})).toThrow(/jobId must be a uuid/);
    expect(s.requests).toHaveLength(0);
  });
});
