import { describe, expect, it } from 'vitest';
import { start } from './helpers.js';
import type { ExportItemsPage, ItemUpdateResponse, JobItemsPage, JobsPage } from './helpers.js';

const MILLION = 1_000_000;

describe('a job of 1,000,000 items', () => {
  it('is served page by page from compact state (no per-item objects)', async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const h = await start({ itemsPerJob: MILLION });
    const job = (await h.api.call<JobsPage>('GET', '/v3/export-jobs')).body.data[0]!;
    expect(job.numberOfItems).toBe(MILLION);

    const tail = await h.api.call<JobItemsPage>(
      'GET',
      `/v3/export-jobs/${job.id}/items?offset=${MILLION - 10}&limit=50`,
    );
    expect(tail.body.data).toHaveLength(10);
    expect(tail.body.pagination).toMatchObject({ hasNextPage: false, total: MILLION });
    const data = await h.api.call<ExportItemsPage>(
      'GET',
      `/v3/export-items?job_id=${job.id}&offset=${MILLION - 3}`,
    );
    expect(data.body.data.map((i) => i.accountingEntryId)).toEqual(
      tail.body.data.slice(7).map((i) => i.accountingEntryId),
    );

    // The first PUT builds the accountingEntryId index (an Int32Array, not a Map of a million strings).
    const last = tail.body.data.at(-1)!.accountingEntryId;
    const put = await h.api.call<ItemUpdateResponse>('PUT', `/v3/export-jobs/${job.id}/items`, {
      body: [{ accountingEntryId: last, status: 'successful', externalId: 'JE-last' }],
    });
    expect(put.body.data[0]).toMatchObject({ accountingEntryId: last, externalId: 'JE-last' });
    const failed = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${job.id}/items?status=successful`);
    expect(failed.body.data.map((i) => i.accountingEntryId)).toEqual([last]);

    h.sim.admin.advanceClock(3_600_000);
    expect(h.sim.admin.job(job.id)!.statusCounts).toMatchObject({ abandoned: MILLION - 1, successful: 1 });
    const grown = process.memoryUsage().heapUsed - heapBefore;
    expect(grown).toBeLessThan(100 * 1024 * 1024);
  });
});
