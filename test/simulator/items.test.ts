import { describe, expect, it } from 'vitest';
import { start } from './helpers.js';
import type { ExportItemsPage, ItemUpdateResponse, JobItemsPage, JobsPage } from './helpers.js';

async function setup(itemCount = 5, options: Parameters<typeof start>[0] = {}) {
  const h = await start({ itemsPerJob: itemCount, ...options });
  const job = (await h.api.call<JobsPage>('GET', '/v3/export-jobs')).body.data[0]!;
  const items = (await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${job.id}/items?limit=1000`)).body
    .data;
  return { ...h, job, ids: items.map((i) => i.accountingEntryId) };
}

describe('PUT /v3/export-jobs/{jobId}/items', () => {
  it('applies updates, reports unknown entries in errors[] of a 200 and counts updates', async () => {
    const h = await setup();
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: h.job.id, event: 'started' } });
    const unknown = '00000000-0000-4000-8000-00000000abcd';
    const body = [
      { accountingEntryId: h.ids[0], status: 'in_progress' },
      {
        accountingEntryId: h.ids[0],
        status: 'successful',
        externalId: 'JE-1',
        externalUrl: 'https://erp/JE-1',
        exportedAt: '2026-03-02T09:00:05Z',
      },
      {
        accountingEntryId: h.ids[1],
        status: 'failed',
        failureReason: 'Account 6800 is closed',
        failureReasonType: 'account_unknown',
      },
      { accountingEntryId: unknown, status: 'successful' },
    ];
    const res = await h.api.call<ItemUpdateResponse>('PUT', `/v3/export-jobs/${h.job.id}/items`, { body });
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ accountingEntryId: unknown, type: 'ACCOUNTING_ENTRY_DOES_NOT_EXIST' }),
    ]);
    expect(res.body.data).toHaveLength(3);
    expect(res.body.data[1]).toMatchObject({
      status: 'successful',
      externalId: 'JE-1',
      externalUrl: 'https://erp/JE-1',
      exportedAt: '2026-03-02T09:00:05.000Z',
      failureReason: null,
    });
    expect(res.body.data[1]).not.toHaveProperty('failureReasonType');
    expect(res.body.data[2]).toMatchObject({ status: 'failed', failureReasonType: 'account_unknown' });
    const item = h.sim.admin.item(h.job.id, h.ids[0]!)!;
    expect(item.updateCount).toBe(2);
    expect(item.history.map((c) => c.status)).toEqual(['in_progress', 'successful']);
    const listed = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${h.job.id}/items?status=failed`);
    expect(listed.body.data.map((i) => i.accountingEntryId)).toEqual([h.ids[1]]);
    expect(listed.body.pagination.total).toBe(1);
  });

  it('413 EXPORT_JOB_ITEMS_UPDATE_LIMIT above 100 entries, without applying any', async () => {
    const h = await setup(101);
    const body = h.ids.map((id) => ({ accountingEntryId: id, status: 'successful' }));
    const res = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, { body });
    expect(res.status).toBe(413);
    expect(res.body.type).toBe('EXPORT_JOB_ITEMS_UPDATE_LIMIT');
    expect(h.sim.admin.job(h.job.id)!.totalUpdates).toBe(0);
    const ok = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, { body: body.slice(0, 100) });
    expect(ok.status).toBe(200);
  });

  it('422 EXPORT_JOB_STATUS_UNPROCESSABLE once the job is final; 400 for null in a non-nullable field', async () => {
    const h = await setup();
    const nul = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, {
      body: [{ accountingEntryId: h.ids[0], status: 'failed', failureReasonType: null }],
    });
    expect(nul.status).toBe(400);
    for (const bad of [
      { accountingEntryId: h.ids[0], status: 'failed', failureReasonType: 'bad_luck' },
      { accountingEntryId: h.ids[0], status: 'successful', exportedAt: '2026-03-02' },
      { accountingEntryId: 'JE-1', status: 'successful' },
      { accountingEntryId: h.ids[0], status: 'done' },
      'not an object',
    ]) {
      const res = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, { body: [bad] });
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    expect(h.sim.admin.job(h.job.id)!.totalUpdates).toBe(0);
    const notArray = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, {
      body: { accountingEntryId: h.ids[0] },
    });
    expect(notArray.status).toBe(400);
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: h.job.id, event: 'started' } });
    await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: h.job.id, event: 'completed_with_errors' },
    });
    const res = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, {
      body: [{ accountingEntryId: h.ids[0], status: 'successful' }],
    });
    expect(res.status).toBe(422);
    expect(res.body.type).toBe('EXPORT_JOB_STATUS_UNPROCESSABLE');
    const snap = h.sim.admin.job(h.job.id)!;
    expect(snap.statusCounts.abandoned).toBe(5);
    expect(snap.warnings.join('\n')).toContain('unfinished');
  });
});

describe('GET /v3/export-items', () => {
  it('serves generated items for pending and in_progress jobs only (422 afterwards)', async () => {
    const h = await setup(3);
    const page = await h.api.call<ExportItemsPage>('GET', `/v3/export-items?job_id=${h.job.id}`);
    expect(page.status).toBe(200);
    expect(page.body.data.map((i) => i.accountingEntryId)).toEqual(h.ids);
    expect(page.body.data.every((i) => i.companyId === h.company.id)).toBe(true);
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: h.job.id, event: 'started' } });
    expect((await h.api.call('GET', `/v3/export-items?job_id=${h.job.id}`)).status).toBe(200);
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: h.job.id, event: 'failed' } });
    const after = await h.api.call('GET', `/v3/export-items?job_id=${h.job.id}`);
    expect(after.status).toBe(422);
    expect(after.body.type).toBe('EXPORT_JOB_STATUS_UNPROCESSABLE');
    expect((await h.api.call('GET', '/v3/export-items')).status).toBe(400);
  });

  it('400 MISSING_CONTRA_ACCOUNTS when the company has no contra accounts (toggled by the admin API)', async () => {
    const h = await setup(2);
    h.sim.admin.updateCompany(h.company.id, { hasContraAccounts: false });
    const res = await h.api.call('GET', `/v3/export-items?job_id=${h.job.id}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('MISSING_CONTRA_ACCOUNTS');
  });

  it('file URLs work without credentials and stop working 24 hours (simulated) after the fetch', async () => {
    const h = await setup(40);
    const page = await h.api.call<ExportItemsPage>('GET', `/v3/export-items?job_id=${h.job.id}&limit=40`);
    const file = page.body.data.flatMap((i) => i.files ?? [])[0];
    expect(file).toBeDefined();
    expect(file!.url.startsWith(`${h.sim.url}/`)).toBe(true);
    const res = await fetch(file!.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(file!.type);
    expect((await res.arrayBuffer()).byteLength).toBe(file!.size);
    const tampered = await fetch(file!.url.replace('/files/', '/files/x'));
    expect(tampered.status).toBe(404);
    h.clock.advance(24 * 3_600_000 - 1);
    expect((await fetch(file!.url)).status).toBe(200);
    h.clock.advance(1);
    const expired = await fetch(file!.url);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { type: string }).type).toBe('url_expired');
  });
});
