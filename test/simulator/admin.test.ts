import { describe, expect, it } from 'vitest';
import type { JobSnapshot, SimulatorSnapshot } from '../../src/simulator/index.js';
import { Api, T0, basic, start } from './helpers.js';
import type { JobsPage } from './helpers.js';

async function admin<T>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${url}/_admin${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

describe('admin HTTP API', () => {
  it('creates companies and jobs, advances the clock, and reports state and the request log', async () => {
    const h = await start({ jobsPerCompany: 0 });
    const company = await admin<{ id: string; apiKey: string; hasContraAccounts: boolean }>(
      h.sim.url,
      'POST',
      '/companies',
      {
        walletCurrency: 'EUR',
      },
    );
    expect(company.status).toBe(201);
    expect(company.body.hasContraAccounts).toBe(true);
    const job = await admin<{ id: string; numberOfItems: number }>(
      h.sim.url,
      'POST',
      `/companies/${company.body.id}/jobs`,
      {
        itemCount: 4,
        vendorBasedBookkeeping: true,
        profile: { failureRatio: 0 },
      },
    );
    expect(job.status).toBe(201);
    expect(job.body.numberOfItems).toBe(4);
    expect(
      (
        await admin(h.sim.url, 'POST', `/companies/${company.body.id}/jobs`, {
          itemCount: 1,
          profile: { failureRatio: 7 },
        })
      ).status,
    ).toBe(400);

    const api = new Api(h.sim.url, basic(company.body.apiKey));
    const listed = await api.call<JobsPage>('GET', '/v3/export-jobs');
    expect(listed.body.data.map((j) => j.id)).toEqual([job.body.id]);
    await api.call('POST', '/v3/export-job-events', { body: { jobId: job.body.id, event: 'started' } });
    await api.call('POST', '/v3/export-job-events', { body: { jobId: job.body.id, event: 'started' } });
    await api.call('GET', '/v3/export-jobs', { auth: null });

    const clock = await admin<{ nowMs: number }>(h.sim.url, 'POST', '/clock/advance', { ms: 3_600_000 });
    expect(clock.body.nowMs).toBe(T0 + 3_600_000);
    const snap = await admin<JobSnapshot>(h.sim.url, 'GET', `/jobs/${job.body.id}?items=true`);
    expect(snap.body.job).toMatchObject({ status: 'failed', failureReasonType: 'job_expired' });
    expect(snap.body.events.map((e) => [e.event, e.accepted, e.source])).toEqual([
      ['started', true, 'api'],
      ['started', false, 'api'],
      ['failed', true, 'expiry'],
    ]);
    expect(snap.body.items!.map((i) => i.history.map((c) => `${c.status}/${c.source}`))).toEqual(
      Array.from({ length: 4 }, () => ['abandoned/expiry']),
    );
    const item = snap.body.items![2]!;
    expect(
      (await admin(h.sim.url, 'GET', `/jobs/${job.body.id}/items/${item.accountingEntryId}`)).body,
    ).toEqual(item);

    const state = await admin<SimulatorSnapshot>(h.sim.url, 'GET', '/state');
    expect(state.body.companies).toHaveLength(2);
    expect(state.body.requests.rejectedByReason).toEqual({
      INVALID_EXPORT_JOB_STATUS_CHANGE: 1,
      unauthorized: 1,
    });
    const log = await admin<{ operation: string; status: number }[]>(h.sim.url, 'GET', '/requests');
    expect(log.body.map((e) => [e.operation, e.status])).toEqual([
      ['listJobs', 200],
      ['createEvent', 202],
      ['createEvent', 422],
      ['listJobs', 401],
    ]);
  });

  it('manages faults, tokens and OAuth clients over HTTP', async () => {
    const h = await start();
    const put = await admin(h.sim.url, 'PUT', '/faults', {
      rules: [{ endpoint: ['getJob', 'listJobs'], times: 1, fault: { kind: 'status', status: 502 } }],
    });
    expect(put.status).toBe(200);
    expect((await h.api.call('GET', '/v3/export-jobs')).status).toBe(502);
    expect((await h.api.call('GET', '/v3/export-jobs')).status).toBe(200);
    expect(
      (await admin(h.sim.url, 'POST', '/faults/rules', { endpoint: 'nowhere', fault: { kind: 'drop' } }))
        .status,
    ).toBe(400);
    expect((await admin(h.sim.url, 'DELETE', '/faults')).body).toEqual({ rules: [] });
    const tok = await admin<{ accessToken: string }>(h.sim.url, 'POST', '/tokens', {
      companyId: h.company.id,
    });
    expect(
      (await h.api.call('GET', '/v3/export-jobs', { auth: `Bearer ${tok.body.accessToken}` })).status,
    ).toBe(200);
    const client = await admin(h.sim.url, 'POST', '/oauth/clients', {
      clientId: 'c',
      clientSecret: 's',
      redirectUris: ['http://localhost/cb'],
    });
    expect(client.status).toBe(201);
    expect((await admin(h.sim.url, 'GET', '/nothing')).status).toBe(404);
  });
});
