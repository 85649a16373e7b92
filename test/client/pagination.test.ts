import * as diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from '../../src/client/index.js';
import { paginate, TURNS_TO_LEAVE } from '../../src/client/pagination.js';
import { watchedRequests } from '../../src/client/sent.js';
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
    const received: (string | undefined)[] = [];
    for await (const p of client.listJobs({})) {
      received.push(p.pagination.endCursor);
      if (++pages === 3) break;
    }
    // Page 4 was requested while page 3 was validated (issue 20) and aborted at the break: the
    // server may or may not have seen that request, and nothing is asked after it.
    expect(s.requests.length).toBeGreaterThanOrEqual(3);
    expect(s.requests.length).toBeLessThanOrEqual(4);
    expect(s.requests.map((r) => r.url.searchParams.get('after') ?? undefined)).toEqual(
      [undefined, ...received].slice(0, s.requests.length),
    );
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

/**
 * Issue 20: validating a page (~6 ms of CPU for 100 export items) runs while the next page's
 * request is in flight, instead of before it is sent.
 */
describe('validation overlaps the next request', () => {
  /** A paginator over `pages` whose fetches and validations are recorded in one event list. */
  function observed(pages: Page<{ id: string }>[], invalid = new Set<number>()) {
    const events: string[] = [];
    const aborted: number[] = [];
    const iterable = paginate<{ id: string }>({
      operation: 'listJobs',
      method: 'GET',
      path: '/v3/export-jobs',
      keyOf: (item) => item.id,
      fetchPage: async (after, signal) => {
        const n = after === undefined ? 0 : Number(after.slice(3));
        events.push(`fetch ${n + 1}`);
        signal.addEventListener('abort', () => aborted.push(n + 1));
        await Promise.resolve();
        const found = pages[n];
        if (found === undefined) throw new Error(`no page ${n + 1}`);
        return found;
      },
      validatePage: (p) => {
        const n = pages.indexOf(p) + 1;
        events.push(`validate ${n}`);
        if (invalid.has(n))
          throw new MalformedResponseError(`page ${n} is malformed`, {
            code: 'MALFORMED_RESPONSE',
            retryable: false,
          });
        events.push(`valid ${n}`);
      },
    });
    return { events, aborted, iterable };
  }
  const pagesOf = (count: number): Page<{ id: string }>[] =>
    Array.from({ length: count }, (_, i) =>
      page([{ id: `item-${i + 1}` }], i + 1 < count ? `CUR${i + 1}` : undefined),
    );

  it('sends the request for page k+1 before page k is validated, and yields pages in order', async () => {
    const { events, iterable } = observed(pagesOf(3));
    const yielded: string[] = [];
    for await (const p of iterable) {
      events.push(`yield ${p.data[0]?.id}`);
      yielded.push(p.data[0]?.id ?? '');
    }
    expect(yielded).toEqual(['item-1', 'item-2', 'item-3']);
    expect(events).toEqual([
      'fetch 1',
      'fetch 2',
      'validate 1',
      'valid 1',
      'yield item-1',
      'fetch 3',
      'validate 2',
      'valid 2',
      'yield item-2',
      'validate 3', // the last page: nothing to send ahead
      'valid 3',
      'yield item-3',
    ]);
  });

  it('validation waits until the request sent ahead says it has left (a few turns), then runs before the answer', async () => {
    const events: string[] = [];
    const pages = pagesOf(2);
    const iterable = paginate<{ id: string }>({
      operation: 'listJobs',
      method: 'GET',
      path: '/v3/export-jobs',
      keyOf: (item) => item.id,
      fetchPage: async (after, _signal, sent) => {
        const n = after === undefined ? 0 : Number(after.slice(3));
        events.push(`fetch ${n + 1}`);
        // Written to the socket three turns later, answered three turns after that.
        for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        events.push(`sent ${n + 1}`);
        sent();
        for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
        events.push(`answered ${n + 1}`);
        return pages[n]!;
      },
      validatePage: (p) => events.push(`validate ${pages.indexOf(p) + 1}`),
    });
    for await (const p of iterable) events.push(`yield ${p.data[0]?.id}`);
    expect(events).toEqual([
      'fetch 1',
      'sent 1',
      'answered 1',
      'fetch 2',
      'sent 2', // one turn would not have been enough: page 1 was not validated before this
      'validate 1',
      'yield item-1',
      'answered 2',
      'validate 2',
      'yield item-2',
    ]);
  });

  it(`a fetch that never says it has left holds validation back for at most ${TURNS_TO_LEAVE} turns`, async () => {
    const events: string[] = [];
    const pages = pagesOf(2);
    let turns = 0;
    let counting = false;
    const count = (): void => {
      turns += 1;
      if (counting) setImmediate(count);
    };
    const iterable = paginate<{ id: string }>({
      operation: 'listJobs',
      method: 'GET',
      path: '/v3/export-jobs',
      keyOf: (item) => item.id,
      fetchPage: async (after) => {
        const n = after === undefined ? 0 : Number(after.slice(3));
        events.push(`fetch ${n + 1}`);
        if (n === 0) return pages[0]!;
        counting = true;
        setImmediate(count);
        // Answers long after validation of page 1 has run.
        for (let turn = 0; turn < 3 * TURNS_TO_LEAVE; turn++)
          await new Promise((resolve) => setImmediate(resolve));
        return pages[n]!;
      },
      validatePage: (p) => {
        if (p === pages[0]) {
          counting = false;
          events.push(`validate 1 after ${turns} turns`);
        } else events.push('validate 2');
      },
    });
    for await (const p of iterable) events.push(`yield ${p.data[0]?.id}`);
    expect(events).toEqual([
      'fetch 1',
      'fetch 2',
      `validate 1 after ${TURNS_TO_LEAVE} turns`,
      'yield item-1',
      'validate 2',
      'yield item-2',
    ]);
  });

  it("through the client with Node's fetch: page k+1's request is written before page k reaches the caller", async () => {
    const s = await serve(jobsServer(6));
    const { client } = makeClient(s.url, { pageSize: 2 });
    const written: string[] = [];
    const record = (message: unknown): void => {
      written.push((message as { request: { path: string } }).request.path);
    };
    diagnostics.subscribe('undici:client:sendHeaders', record);
    try {
      const writtenWhenYielded: string[][] = [];
      for await (const p of client.listJobs({})) {
        expect(p.data).toHaveLength(2);
        writtenWhenYielded.push(written.map((path) => new URL(path, s.url).searchParams.get('after') ?? ''));
      }
      // Three pages: page 2 was on the wire when page 1 was handed over, page 3 when page 2 was.
      expect(writtenWhenYielded).toEqual([
        ['', cursor(2)],
        ['', cursor(2), cursor(4)],
        ['', cursor(2), cursor(4)],
      ]);
      expect(watchedRequests()).toBe(0);
    } finally {
      diagnostics.unsubscribe('undici:client:sendHeaders', record);
    }
  });

  it('a malformed page still fails in order: nothing after it is yielded, the request sent ahead is aborted', async () => {
    const { events, aborted, iterable } = observed(pagesOf(4), new Set([2]));
    const yielded: string[] = [];
    const error = await failure(
      (async () => {
        for await (const p of iterable) yielded.push(p.data[0]?.id ?? '');
      })(),
    );
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error.message).toBe('page 2 is malformed');
    expect(yielded).toEqual(['item-1']);
    // Page 3 was on its way while page 2 was validated; it is dropped, and page 4 never asked.
    expect(events).toEqual(['fetch 1', 'fetch 2', 'validate 1', 'valid 1', 'fetch 3', 'validate 2']);
    expect(aborted).toEqual([3]);
  });

  it('a failing request sent ahead surfaces only after the page before it was yielded', async () => {
    // Page 1 claims a next page that cannot be fetched: page 1 is yielded first, then the error.
    const { iterable } = observed(pagesOf(2).slice(0, 1));
    const yielded: string[] = [];
    const error = await failure(
      (async () => {
        for await (const p of iterable) yielded.push(p.data[0]?.id ?? '');
      })(),
    );
    expect(yielded).toEqual(['item-1']);
    expect(error.message).toBe('no page 2');
  });

  it('through the client (injected fetch): page k+1 is requested before page k reaches the caller; a schema error on page 2 stops there', async () => {
    const jobs = Array.from({ length: 6 }, (_, i) => makeJob(i + 1));
    const bodies = [
      page(jobs.slice(0, 2), cursor(2)),
      page([makeJob(3, { status: 'exploded' as never }), jobs[3]!], cursor(4)),
      page(jobs.slice(4, 6)),
    ];
    const requested: (string | null)[] = [];
    let consumed = 0;
    const consumedAtRequest: number[] = [];
    const { client } = makeClient('http://127.0.0.1:9', {
      fetch: (url) => {
        const after = new URL(url).searchParams.get('after');
        requested.push(after);
        consumedAtRequest.push(consumed);
        const index = after === null ? 0 : after === cursor(2) ? 1 : 2;
        return Promise.resolve(
          new Response(JSON.stringify(bodies[index]), {
            status: 200,
            headers: { 'content-type': 'application/json' },
          }),
        );
      },
    });
    const seen: string[] = [];
    const error = await failure(
      (async () => {
        for await (const p of client.listJobs({})) {
          consumed += 1;
          seen.push(...p.data.map((j) => j.id));
        }
      })(),
    );
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error).toMatchObject({ code: 'MALFORMED_RESPONSE', status: 200 });
    expect(error.message).toContain('/data/0/status');
    expect(seen).toEqual([jobs[0]!.id, jobs[1]!.id]);
    // Page 2 was asked for before page 1 reached the caller, page 3 before page 2's validation
    // failed; page 3's answer was dropped.
    expect(requested).toEqual([null, cursor(2), cursor(4)]);
    expect(consumedAtRequest).toEqual([0, 0, 1]);
  });
});
