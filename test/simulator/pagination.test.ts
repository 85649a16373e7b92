import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, startSimulator } from '../../src/simulator/index.js';
import { contract } from '../helpers/openapi.js';
import { Api, basic, collectAll, start } from './helpers.js';
import type { ExportItem, Harness, JobItem, JobItemsPage, JobsPage } from './helpers.js';

const N = 10_000;

describe('cursor pagination over 10,000 items', () => {
  let h: Harness;
  let jobId: string;
  let ids: string[];

  beforeAll(async () => {
    // One simulator for the whole file (the per-test harness closes after each test).
    const sim = await startSimulator({ itemsPerJob: N, maxPageSize: 1000, clock: new ManualClock() });
    const api = new Api(sim.url, basic(sim.companies[0]!.apiKey));
    h = { sim, api, clock: new ManualClock(), company: sim.companies[0]! };
    jobId = (await api.call<JobsPage>('GET', '/v3/export-jobs')).body.data[0]!.id;
    ids = (await collectAll<JobItem>(api, `/v3/export-jobs/${jobId}/items`, 1000)).items.map(
      (i) => i.accountingEntryId,
    );
    return () => sim.close();
  });

  it.each([1_000, 997, 100, 37])('limit %i: every item exactly once, in order', async (limit) => {
    const { items, pages } = await collectAll<JobItem>(h.api, `/v3/export-jobs/${jobId}/items`, limit);
    expect(items.map((i) => i.accountingEntryId)).toEqual(ids);
    expect(new Set(ids).size).toBe(N);
    expect(pages).toBe(Math.ceil(N / limit));
  });

  it('a limit above the maximum page size is clamped, and reported as applied', async () => {
    const res = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${jobId}/items?limit=5000`);
    expect(res.body.data).toHaveLength(1000);
    expect(res.body.pagination).toMatchObject({ hasNextPage: true, hasPreviousPage: false, total: N });
    expect(res.body.pagination.currentRequestPagination).toMatchObject({
      limit: 1000,
      parameters: { limit: ['5000'] },
    });
    const def = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${jobId}/items`);
    expect(def.body.data).toHaveLength(100);
  });

  it('export items page the same entries as job items', async () => {
    const { items } = await collectAll<ExportItem>(h.api, `/v3/export-items?job_id=${jobId}`, 1000);
    expect(items.map((i) => i.accountingEntryId)).toEqual(ids);
  });

  it('before=startCursor walks backwards without loss; offset pages match', async () => {
    const last = await h.api.call<JobItemsPage>(
      'GET',
      `/v3/export-jobs/${jobId}/items?offset=${N - 300}&limit=300`,
    );
    expect(last.body.pagination).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const back: string[] = last.body.data.map((i) => i.accountingEntryId);
    let before = last.body.pagination.startCursor!;
    for (;;) {
      const res = await h.api.call<JobItemsPage>(
        'GET',
        `/v3/export-jobs/${jobId}/items?limit=700&before=${before}`,
      );
      back.unshift(...res.body.data.map((i) => i.accountingEntryId));
      if (!res.body.pagination.hasPreviousPage) break;
      before = res.body.pagination.startCursor!;
    }
    expect(back).toEqual(ids);
  });

  it('filters by status with exact totals while items change', async () => {
    const failed = ids.filter((_, i) => i % 7 === 3);
    for (let i = 0; i < failed.length; i += 100) {
      const body = failed.slice(i, i + 100).map((id) => ({ accountingEntryId: id, status: 'failed' }));
      expect((await h.api.call('PUT', `/v3/export-jobs/${jobId}/items`, { body })).status).toBe(200);
    }
    for (const limit of [50, 333]) {
      const { items } = await collectAll<JobItem>(
        h.api,
        `/v3/export-jobs/${jobId}/items?status=failed`,
        limit,
      );
      expect(items.map((i) => i.accountingEntryId)).toEqual(failed);
    }
    const pending = await h.api.call<JobItemsPage>(
      'GET',
      `/v3/export-jobs/${jobId}/items?status=pending&limit=0`,
    );
    expect(pending.body.data).toEqual([]);
    expect(pending.body.pagination).toMatchObject({ total: N - failed.length, hasNextPage: true });
  });

  it('rejects bad pagination with 400: combined cursors, garbage, foreign cursors, bad limits', async () => {
    const first = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${jobId}/items?limit=10`);
    const cursor = first.body.pagination.endCursor!;
    expect(cursor).toMatch(/^[A-Z2-7=~]+$/);
    const bad = [
      `after=${cursor}&before=${cursor}`,
      `after=${cursor}&offset=3`,
      'after=AAAA',
      `after=${cursor.toLowerCase()}`,
      'after=ZZZZZZZZZZZZZZZZZZZZ====',
      'limit=-1',
      'limit=abc',
      'offset=1.5',
      'sorting_keys=createdAt',
      'sorting_order=ASC',
      `after=${cursor}&status=failed`,
    ];
    for (const q of bad) {
      const res = await h.api.call('GET', `/v3/export-jobs/${jobId}/items?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
      expect(res.body.type).toBe('bad_request');
    }
    const jobsCursor = await h.api.call('GET', `/v3/export-jobs?after=${cursor}`);
    expect(jobsCursor.status).toBe(400);
    // The contract helper reports the same mistakes on the request side.
    expect(contract.validateQuery('getExportJobItemsV3', `after=${cursor}&offset=3`).ok).toBe(false);
    expect(contract.validateQuery('getExportJobItemsV3', `after=${cursor.toLowerCase()}`).ok).toBe(false);
    expect(contract.validateQuery('getExportJobItemsV3', `after=${cursor}&limit=10&status=failed`).ok).toBe(
      true,
    );
  });
});

describe('job list pagination', () => {
  it('pages jobs with after/endCursor in both orders', async () => {
    const h = await start({ jobsPerCompany: 7, itemsPerJob: 0 });
    const asc = await collectAll<{ id: string }>(h.api, '/v3/export-jobs', 3);
    expect(asc.items).toHaveLength(7);
    expect(asc.pages).toBe(3);
    const desc = await collectAll<{ id: string }>(
      h.api,
      '/v3/export-jobs?sorting_keys=createdAt&sorting_order=DESC',
      2,
    );
    expect(desc.items.map((j) => j.id)).toEqual(asc.items.map((j) => j.id).reverse());
  });
});
