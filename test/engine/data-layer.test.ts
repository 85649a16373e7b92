/**
 * Issue 20: the data layer (export items) is read while the control layer (job items) is listed;
 * its pages are staged in the store meanwhile, committed after the listing, in order, and a
 * listing that fails stops the reading beside it.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createPleoClient, type PleoClient } from '../../src/client/index.js';
import { EXPORT_READ_AHEAD } from '../../src/engine/data-layer.js';
import type { Store } from '../../src/store/index.js';
import { noSleep, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A client that records, in `log`, each page request as it is sent and answered. */
function loggingClient(
  harness: Harness,
  log: string[],
  /** Called before the n-th page request of a kind is sent; the request waits for it. */
  hold: (kind: 'jobItems' | 'exportItems', n: number) => Promise<void> = () => Promise.resolve(),
): { client: PleoClient; inFlight: () => number } {
  const company = harness.sim.companies[0]!;
  let inFlight = 0;
  const sent = { jobItems: 0, exportItems: 0 };
  const client = createPleoClient({
    baseUrl: harness.sim.url,
    companyId: company.id,
    auth: { kind: 'apiKey', apiKey: company.apiKey },
    rateLimit: false,
    sleep: noSleep,
    clock: () => harness.sim.admin.now(),
    fetch: async (input, init) => {
      const url = new URL(String(input));
      const kind = url.pathname.endsWith('/items')
        ? 'jobItems'
        : url.pathname === '/v3/export-items'
          ? 'exportItems'
          : null;
      if (kind === null || (init?.method ?? 'GET') !== 'GET') return fetch(input, init);
      await hold(kind, ++sent[kind]);
      inFlight += 1;
      log.push(`send ${kind}`);
      try {
        return await fetch(input, init);
      } finally {
        inFlight -= 1;
        log.push(`answer ${kind}`);
      }
    },
  });
  return { client, inFlight: () => inFlight };
}

describe('data layer read beside the listing (issue 20)', () => {
  it('reads export items while job items are listed, stages them, and commits them only after the listing, in order', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 60, profile: { failureRatio: 0 } });
    const log: string[] = [];
    const { client } = loggingClient(h, log);
    const [result] = await h
      .engine({
        client,
        pageSize: 4,
        attachmentsDir: null,
        onStep: (step) => {
          if (step === 'listed_page' || step === 'fetched_page' || step === 'staged_page') log.push(step);
        },
      })
      .runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    expect(h.adapter.bookings()).toHaveLength(60);
    const lastListed = log.lastIndexOf('listed_page');
    const firstFetched = log.indexOf('fetched_page');
    // 15 pages of each; every data page is committed after the last listed page.
    expect(log.filter((e) => e === 'listed_page')).toHaveLength(15);
    expect(log.filter((e) => e === 'fetched_page')).toHaveLength(15);
    expect(firstFetched).toBeGreaterThan(lastListed);
    // The first export request went out with the first job-items request, before any page was
    // committed; pages that came while the listing ran were staged, never committed before it ended.
    expect(log.indexOf('send exportItems')).toBeLessThan(log.indexOf('listed_page'));
    expect(log.slice(0, lastListed).filter((e) => e === 'answer exportItems').length).toBeGreaterThanOrEqual(
      1,
    );
    expect(log.slice(lastListed).filter((e) => e === 'staged_page')).toHaveLength(0);
    // No page is read twice: one listing of each layer.
    expect(log.filter((e) => e === 'send jobItems')).toHaveLength(15);
    expect(log.filter((e) => e === 'send exportItems')).toHaveLength(15);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(60);
    // Nothing staged is left behind once the job is planned.
    expect(
      await h.store.stagedPage(await h.store.acquireJob({ companyId: h.companyId, jobId: job.id }, 'x'), 0),
    ).toBeNull();
  });

  it('a listing slower than the data layer: every export page is staged, a bounded few held in memory at a time, then committed in order', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 80, profile: { failureRatio: 0 } });
    const log: string[] = [];
    let staged = 0;
    let release: () => void = () => undefined;
    const allStaged = new Promise<void>((resolve) => (release = resolve));
    // The second page of job items is held until the data layer's 20 pages are all staged.
    const { client, inFlight } = loggingClient(h, log, (kind, n) =>
      kind === 'jobItems' && n === 2 ? allStaged : Promise.resolve(),
    );
    // The store is slow to stage the first page: the reading runs on until its read-ahead is full
    // (no export request in flight and no new answer for a while), or one page past the bound.
    const answers = (): number => log.filter((e) => e === 'answer exportItems').length;
    const bound = EXPORT_READ_AHEAD + 3;
    let first = true;
    const store = h.store;
    const slow = new Proxy(store, {
      get(target, prop) {
        if (prop === 'stageFetchedPage')
          return async (...args: Parameters<Store['stageFetchedPage']>) => {
            if (first) {
              first = false;
              for (let quiet = 0, seen = answers(); quiet < 200 && answers() <= bound;) {
                await new Promise<void>((resolve) => setImmediate(resolve));
                quiet = answers() === seen && inFlight() === 0 ? quiet + 1 : 0;
                seen = answers();
              }
            }
            return target.stageFetchedPage(...args);
          };
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const [result] = await h
      .engine({
        store: slow,
        client,
        pageSize: 4,
        attachmentsDir: null,
        onStep: (step) => {
          if (step === 'staged_page' && ++staged === 20) release();
          if (step === 'listed_page' || step === 'fetched_page' || step === 'staged_page') log.push(step);
        },
      })
      .runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    const steps = log.filter((e) => e.endsWith('_page'));
    // The first listed page and all 20 data pages staged (in either order), then the rest of the
    // listing, then the commits of the staged pages.
    expect([...steps.slice(0, 21)].sort()).toEqual(['listed_page', ...Array<string>(20).fill('staged_page')]);
    expect(steps.slice(21, 40)).toEqual(Array<string>(19).fill('listed_page'));
    expect(steps.slice(40)).toEqual(Array<string>(20).fill('fetched_page'));
    // Pages answered and not yet staged: the read-ahead, the page whose receipts download, the one
    // being stored, and the request the client sends ahead.
    let answered = 0;
    let stored = 0;
    let most = 0;
    for (const e of log) {
      if (e === 'answer exportItems') answered++;
      if (e === 'staged_page') stored++;
      most = Math.max(most, answered - stored);
    }
    expect(answered).toBe(20);
    expect(most).toBeLessThanOrEqual(bound);
    expect(new Set(h.adapter.bookings().map((b) => b.entry.accountingEntryId)).size).toBe(80);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(80);
  });

  it('a listing that fails (overflow) stops the export items read beside it: nothing is left running, nothing committed', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 3, profile: { failureRatio: 0 } });
    h.sim.admin.addFaultRule({ endpoint: 'listJobItems', fault: { kind: 'endless' } });
    const log: string[] = [];
    const { client, inFlight } = loggingClient(h, log);
    const error = await h
      .engine({ client, pageSize: 1, attachmentsDir: null })
      .runOnce()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LISTING_OVERFLOW' });
    expect(inFlight()).toBe(0);
    // Three export items at one per page: read while the listing ran, never committed.
    expect(log.filter((e) => e === 'send exportItems').length).toBeLessThanOrEqual(3);
    const counts = await h.store.counts({ companyId: h.companyId, jobId: job.id });
    expect(counts.fetched).toBe(0);
    expect((await h.store.getJob({ companyId: h.companyId, jobId: job.id }))!.dataCursor).toBeNull();
    expect(h.adapter.bookings()).toHaveLength(0);
  });

  it('a job without contra accounts still fails as before when the early read of export items is refused', async () => {
    h = await startHarness({ companiesWithoutContraAccounts: [0] });
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 30 });
    const [result] = await h.engine({ pageSize: 4, attachmentsDir: null }).runOnce();
    expect(result).toMatchObject({ event: 'failed', failureReasonType: 'missing_configuration' });
    // The refusal waited for the listing: every job-items page was committed first.
    expect((await h.store.counts({ companyId: h.companyId, jobId: job.id })).total).toBe(30);
    expect(h.requests.filter((r) => r.operation === 'listExportItems')).toHaveLength(1);
    expect(h.adapter.bookings()).toHaveLength(0);
  });

  it('downloads the receipts of the pages read early while the listing runs, and commits only the listed open items, once', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 40, profile: { failureRatio: 0 } });
    const [result] = await h.engine({ pageSize: 4 }).runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    const log = h.sim.admin.requestLog().map((r) => r.operation);
    const lastListing = log.lastIndexOf('listJobItems');
    const firstFile = log.indexOf('files');
    expect(firstFile).toBeGreaterThanOrEqual(0);
    expect(firstFile).toBeLessThan(lastListing); // receipts went down beside the listing
    // Every receipt downloaded once, every booked entry has its receipts.
    const files = log.filter((op) => op === 'files').length;
    const attached = h.adapter.bookings().flatMap((b) => b.attachments);
    expect(attached.length).toBe(files);
    expect(new Set(attached.map((a) => a.key)).size).toBe(files);
    expect(h.adapter.bookings()).toHaveLength(40);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(40);
  });

  it('an item already final at Pleo, read early with its receipts, is neither stored with data nor booked', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 20, profile: { failureRatio: 0 } });
    // Claimed earlier by someone, and three items already reported as exported.
    await h.client.sendJobEvent({ jobId: job.id, event: 'started' });
    const listed = [];
    for await (const page of h.client.listJobItems(job.id, {}, { pageSize: 100 })) listed.push(...page.data);
    const done = listed.slice(0, 3).map((i) => i.accountingEntryId);
    await h.client.updateJobItems(
      job.id,
      done.map((accountingEntryId) => ({
        accountingEntryId,
        status: 'successful' as const,
        externalId: `X-${accountingEntryId}`,
        exportedAt: '2026-06-01T09:00:00.000Z',
      })),
    );
    const [result] = await h.engine({ pageSize: 4 }).runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    const booked = h.adapter.bookings().map((b) => b.entry.accountingEntryId);
    expect(booked).toHaveLength(17);
    for (const id of done) expect(booked).not.toContain(id);
    const items = await h.store.listItems({ companyId: h.companyId, jobId: job.id });
    for (const id of done)
      expect(items.find((i) => i.accountingEntryId === id)).toMatchObject({ state: 'skipped' });
    for (const id of done) expect((await h.store.findItemsByEntry(id))[0]?.payload ?? null).toBeNull();
  });
});
