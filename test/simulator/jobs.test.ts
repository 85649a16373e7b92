import { describe, expect, it } from 'vitest';
import { T0, start } from './helpers.js';
import type { ErrorBody, Job, JobResponse, JobsPage } from './helpers.js';

const HOUR = 3_600_000;

async function firstJob(h: Awaited<ReturnType<typeof start>>): Promise<Job> {
  const res = await h.api.call<JobsPage>('GET', '/v3/export-jobs');
  return res.body.data[0]!;
}

describe('job state machine', () => {
  it('pending → started → in_progress → completed, stamping startedAt/completedAt/lastUpdatedAt', async () => {
    const h = await start({ itemsPerJob: 3 });
    const job = await firstJob(h);
    expect(job).toMatchObject({ status: 'pending', expiresIn: 3600, numberOfItems: 3, startedAt: null });
    h.clock.advance(1000);
    const started = await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: job.id, event: 'started' },
    });
    expect(started.status).toBe(202);
    expect(started.body).toBeUndefined();
    const after = await h.api.call<JobResponse>('GET', `/v3/export-jobs/${job.id}`);
    expect(after.body.data).toMatchObject({
      status: 'in_progress',
      startedAt: new Date(T0 + 1000).toISOString(),
      lastUpdatedAt: new Date(T0 + 1000).toISOString(),
    });
    h.clock.advance(1000);
    expect(
      (await h.api.call('POST', '/v3/export-job-events', { body: { jobId: job.id, event: 'completed' } }))
        .status,
    ).toBe(202);
    const done = await h.api.call<JobResponse>('GET', `/v3/export-jobs/${job.id}`);
    expect(done.body.data).toMatchObject({ status: 'completed', expiresIn: 0 });
    expect(done.body.data.completedAt).toBe(new Date(T0 + 2000).toISOString());
    expect(done.body.data).not.toHaveProperty('failureReasonType');
  });

  it.each([
    ['pending', 'completed'],
    ['pending', 'completed_with_errors'],
    ['in_progress', 'started'],
    ['completed', 'started'],
    ['completed', 'failed'],
    ['failed', 'completed'],
  ] as const)('rejects %s + %s with 422 INVALID_EXPORT_JOB_STATUS_CHANGE', async (from, event) => {
    const h = await start({ itemsPerJob: 1 });
    const job = await firstJob(h);
    const send = (e: string): Promise<{ status: number; body: ErrorBody }> =>
      h.api.call('POST', '/v3/export-job-events', { body: { jobId: job.id, event: e } });
    if (from !== 'pending') expect((await send('started')).status).toBe(202);
    if (from === 'completed') expect((await send('completed')).status).toBe(202);
    if (from === 'failed') expect((await send('failed')).status).toBe(202);
    const res = await send(event);
    expect(res.status).toBe(422);
    expect(res.body.type).toBe('INVALID_EXPORT_JOB_STATUS_CHANGE');
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe(from);
    expect(snap.events.at(-1)).toMatchObject({ event, accepted: false, from });
  });

  it('allows failed straight from pending, keeps the failure fields and abandons the items', async () => {
    const h = await start({ itemsPerJob: 4 });
    const job = await firstJob(h);
    const res = await h.api.call('POST', '/v3/export-job-events', {
      body: {
        jobId: job.id,
        event: 'failed',
        failureReason: 'No ERP connection',
        failureReasonType: 'missing_configuration',
      },
    });
    expect(res.status).toBe(202);
    const got = await h.api.call<JobResponse>('GET', `/v3/export-jobs/${job.id}`);
    expect(got.body.data).toMatchObject({
      status: 'failed',
      failureReason: 'No ERP connection',
      failureReasonType: 'missing_configuration',
      expiredAt: null,
    });
    expect(h.sim.admin.job(job.id)!.statusCounts.abandoned).toBe(4);
  });

  it('answers 404 for an unknown job and 400 for a malformed event', async () => {
    const h = await start();
    const unknown = await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: '00000000-0000-4000-8000-000000000000', event: 'started' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe('EXPORT_NOT_FOUND');
    const bad = await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: '00000000-0000-4000-8000-000000000000', event: 'canceled' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe('bad_request');
    const getBad = await h.api.call('GET', '/v3/export-jobs/not-a-uuid');
    expect(getBad.status).toBe(400);
    expect((await fetch(`${h.sim.url}/v3/export-jobs/%E0%A4%A`)).status).toBe(404);
    const textPlain = await h.api.call('POST', '/v3/export-job-events', {
      raw: '{}',
      contentType: 'text/plain',
    });
    expect(textPlain.status).toBe(415);
  });
});

describe('job creation', () => {
  const ids = ['6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60', '6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f61'];

  it('201 with the given entries; 409 EXPORT_ALREADY_IN_PROGRESS while a job is unfinished', async () => {
    const h = await start({ jobsPerCompany: 0 });
    const create = (): Promise<{ status: number; body: JobResponse & ErrorBody }> =>
      h.api.call('POST', '/v3/export-jobs', {
        body: {
          companyId: h.company.id,
          accountingEntryIds: [...ids, ids[0]],
          options: { vendorBasedBookkeeping: true },
        },
      });
    const first = await create();
    expect(first.status).toBe(201);
    expect(first.body.data).toMatchObject({
      status: 'pending',
      numberOfItems: 2,
      vendorBasedBookkeeping: true,
      isInteractive: true,
    });
    const items = await h.api.call<{ data: { accountingEntryId: string }[] }>(
      'GET',
      `/v3/export-jobs/${first.body.data.id}/items`,
    );
    expect(items.body.data.map((i) => i.accountingEntryId)).toEqual(ids);
    const second = await create();
    expect(second.status).toBe(409);
    expect(second.body.type).toBe('EXPORT_ALREADY_IN_PROGRESS');
    await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: first.body.data.id, event: 'failed' },
    });
    expect((await create()).status).toBe(201);
  });

  it('400 MISSING_CONTRA_ACCOUNTS for a company without contra accounts; 403 for another company', async () => {
    const h = await start({ jobsPerCompany: 0, companies: 2, companiesWithoutContraAccounts: [0] });
    const res = await h.api.call('POST', '/v3/export-jobs', {
      body: { companyId: h.company.id, accountingEntryIds: ids },
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('MISSING_CONTRA_ACCOUNTS');
    const other = await h.api.call('POST', '/v3/export-jobs', {
      body: { companyId: h.sim.companies[1]!.id, accountingEntryIds: ids },
    });
    expect(other.status).toBe(403);
    const empty = await h.api.call('POST', '/v3/export-jobs', {
      body: { companyId: h.company.id, accountingEntryIds: [] },
    });
    expect(empty.status).toBe(400);
  });
});

describe('expiry (fake clock)', () => {
  it('a pending job expires an hour after its last update: failed + job_expired, expiredAt, items abandoned', async () => {
    const h = await start({ itemsPerJob: 3 });
    const job = await firstJob(h);
    h.clock.advance(HOUR - 1000);
    expect((await firstJob(h)).expiresIn).toBe(1);
    h.clock.advance(1000);
    const got = await h.api.call<JobResponse>('GET', `/v3/export-jobs/${job.id}`);
    expect(got.body.data).toMatchObject({
      status: 'failed',
      failureReasonType: 'job_expired',
      expiredAt: new Date(T0 + HOUR).toISOString(),
      expiresIn: 0,
    });
    const items = await h.api.call<{ data: { status: string }[] }>('GET', `/v3/export-jobs/${job.id}/items`);
    expect(items.body.data.map((i) => i.status)).toEqual(['abandoned', 'abandoned', 'abandoned']);
  });

  it('events and item PUTs move lastUpdatedAt (reads do not); an expired job refuses events and updates', async () => {
    const h = await start({ itemsPerJob: 3 });
    const job = await firstJob(h);
    h.clock.advance(HOUR / 2);
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: job.id, event: 'started' } });
    h.clock.advance(HOUR / 2 + 1); // past the creation-based deadline
    await h.api.call('GET', `/v3/export-jobs/${job.id}`);
    const entry = h.sim.admin.job(job.id, { items: true })!.items![0]!.accountingEntryId;
    const put = await h.api.call('PUT', `/v3/export-jobs/${job.id}/items`, {
      body: [{ accountingEntryId: entry, status: 'successful', externalId: 'JE-1' }],
    });
    expect(put.status).toBe(200);
    h.clock.advance(HOUR - 1);
    expect((await h.api.call<JobResponse>('GET', `/v3/export-jobs/${job.id}`)).body.data.status).toBe(
      'in_progress',
    );
    h.clock.advance(1);
    const late = await h.api.call('POST', '/v3/export-job-events', {
      body: { jobId: job.id, event: 'completed' },
    });
    expect(late.status).toBe(422);
    const lateItems = await h.api.call('PUT', `/v3/export-jobs/${job.id}/items`, {
      body: [{ accountingEntryId: entry, status: 'successful' }],
    });
    expect(lateItems.status).toBe(422);
    expect(lateItems.body.type).toBe('EXPORT_JOB_STATUS_UNPROCESSABLE');
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.statusCounts).toMatchObject({ successful: 1, abandoned: 2 });
    expect(snap.job.expiredAt).toBe(new Date(T0 + 2 * HOUR + 1).toISOString());
  });

  it('the admin clock advance sweeps expiry without any request', async () => {
    const h = await start({ itemsPerJob: 1, expiryMs: 60_000 });
    const job = await firstJob(h);
    h.sim.admin.advanceClock(60_000);
    expect(h.sim.admin.state().jobs[0]!.job).toMatchObject({
      id: job.id,
      status: 'failed',
      failureReasonType: 'job_expired',
    });
  });
});

describe('job list', () => {
  it('filters by statuses, sorts oldest first by default, newest first with DESC, 403 for another company', async () => {
    const h = await start({ jobsPerCompany: 3, itemsPerJob: 1, companies: 2 });
    const all = (await h.api.call<JobsPage>('GET', '/v3/export-jobs')).body.data;
    expect(all).toHaveLength(3);
    await h.api.call('POST', '/v3/export-job-events', { body: { jobId: all[1]!.id, event: 'started' } });
    const pending = await h.api.call<JobsPage>('GET', '/v3/export-jobs?statuses=pending');
    expect(pending.body.data.map((j) => j.id)).toEqual([all[0]!.id, all[2]!.id]);
    const both = await h.api.call<JobsPage>('GET', '/v3/export-jobs?statuses=pending&statuses=in_progress');
    expect(both.body.pagination.total).toBe(3);
    const desc = await h.api.call<JobsPage>(
      'GET',
      '/v3/export-jobs?sorting_keys=createdAt&sorting_order=DESC',
    );
    expect(desc.body.data.map((j) => j.id)).toEqual(all.map((j) => j.id).reverse());
    const own = await h.api.call<JobsPage>(`GET`, `/v3/export-jobs?company_id=${h.company.id}`);
    expect(own.status).toBe(200);
    const other = await h.api.call('GET', `/v3/export-jobs?company_id=${h.sim.companies[1]!.id}`);
    expect(other.status).toBe(403);
    expect((await h.api.call('GET', '/v3/export-jobs?statuses=done')).status).toBe(400);
    expect((await h.api.call('GET', '/v3/export-jobs?sorting_keys=id')).status).toBe(400);
  });
});
