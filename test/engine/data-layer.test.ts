/**
 * Issue 20: the data layer (export items) is read while the control layer (job items) is listed;
 * its pages are still committed after the listing, in order, and a listing that fails stops the
 * reading beside it.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createPleoClient, type PleoClient } from '../../src/client/index.js';
import { EARLY_EXPORT_PAGES } from '../../src/engine/data-layer.js';
import type { EngineStep } from '../../src/engine/index.js';
import { noSleep, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A client that records, in `log`, each page request as it is sent and answered. */
function loggingClient(harness: Harness, log: string[]): { client: PleoClient; inFlight: () => number } {
  const company = harness.sim.companies[0]!;
  let inFlight = 0;
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
  it('reads export items while job items are listed, and commits them only after the listing, in order', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 60, profile: { failureRatio: 0 } });
    const log: string[] = [];
    const { client } = loggingClient(h, log);
    const steps: EngineStep[] = [];
    const [result] = await h
      .engine({
        client,
        pageSize: 4,
        attachmentsDir: null,
        onStep: (step) => {
          if (step === 'listed_page' || step === 'fetched_page') log.push(step);
          steps.push(step);
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
    // committed; by the end of the listing, EARLY_EXPORT_PAGES pages were read (and the next
    // one possibly sent ahead by the client), not more.
    expect(log.indexOf('send exportItems')).toBeLessThan(log.indexOf('listed_page'));
    const answeredEarly = log.slice(0, lastListed).filter((e) => e === 'answer exportItems').length;
    expect(answeredEarly).toBeGreaterThanOrEqual(1);
    expect(answeredEarly).toBeLessThanOrEqual(EARLY_EXPORT_PAGES + 1);
    // No page is read twice: one listing of each layer.
    expect(log.filter((e) => e === 'send jobItems')).toHaveLength(15);
    expect(log.filter((e) => e === 'send exportItems')).toHaveLength(15);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(60);
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
