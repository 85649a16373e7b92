import { describe, expect, it } from 'vitest';
import type { SimulatorSnapshot } from '../../src/simulator/index.js';
import { start } from './helpers.js';
import type { Harness, JobItemsPage, JobsPage } from './helpers.js';

/** The state minus what every request changes (time, counters). */
function stateOf(h: Harness): Omit<SimulatorSnapshot, 'requests' | 'now'> {
  const { requests: _r, now: _n, ...rest } = h.sim.admin.state({ items: true });
  return rest;
}

async function raw(h: Harness, method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: h.api.auth! } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  return fetch(`${h.sim.url}${path}`, init);
}

async function setup(options: Parameters<typeof start>[0] = {}) {
  const h = await start({ itemsPerJob: 20, ...options });
  const job = (await h.api.call<JobsPage>('GET', '/v3/export-jobs')).body.data[0]!;
  const ids = (await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${job.id}/items`)).body.data.map(
    (i) => i.accountingEntryId,
  );
  return { ...h, job, ids };
}

describe('fault injection', () => {
  it('fails the next N requests to one endpoint with 503 / 429 + Retry-After, without touching state', async () => {
    const h = await setup();
    h.sim.admin.failNext('createEvent', 2);
    h.sim.admin.addFaultRule({
      endpoint: 'createEvent',
      times: 1,
      fault: { kind: 'status', status: 429, retryAfterSeconds: 7 },
    });
    const before = stateOf(h);
    const send = () =>
      h.api.call('POST', '/v3/export-job-events', { body: { jobId: h.job.id, event: 'started' } });
    expect((await h.api.call('GET', `/v3/export-jobs/${h.job.id}`)).status).toBe(200); // other endpoints unaffected
    const r1 = await send();
    const r2 = await send();
    expect([r1.status, r2.status]).toEqual([503, 503]);
    expect(r1.body.type).toBe('service_unavailable');
    const r3 = await send();
    expect(r3.status).toBe(429);
    expect(r3.headers.get('retry-after')).toBe('7');
    expect(stateOf(h)).toEqual(before);
    expect((await send()).status).toBe(202);
    expect(h.sim.admin.job(h.job.id)!.job.status).toBe('in_progress');
    expect(h.sim.admin.state().requests.faults).toEqual({ 'status:503': 2, 'status:429': 1 });
  });

  it('drop closes the connection without an answer and without applying the request', async () => {
    const h = await setup();
    h.sim.admin.failNext('updateJobItems', 1, { kind: 'drop' });
    const before = stateOf(h);
    await expect(
      raw(h, 'PUT', `/v3/export-jobs/${h.job.id}/items`, [
        { accountingEntryId: h.ids[0], status: 'successful' },
      ]),
    ).rejects.toThrow();
    expect(stateOf(h)).toEqual(before);
    expect(h.sim.admin.requestLog().at(-1)).toMatchObject({
      operation: 'updateJobItems',
      status: null,
      fault: 'drop',
    });
  });

  it('ambiguous writes are applied, then the connection drops before the answer', async () => {
    const h = await setup();
    h.sim.admin.failNext('updateJobItems', 1, { kind: 'ambiguous' });
    await expect(
      raw(h, 'PUT', `/v3/export-jobs/${h.job.id}/items`, [
        { accountingEntryId: h.ids[0], status: 'successful' },
      ]),
    ).rejects.toThrow();
    expect(h.sim.admin.item(h.job.id, h.ids[0]!)).toMatchObject({ status: 'successful', updateCount: 1 });
    // The client's retry lands as a second update of the same item.
    const retry = await h.api.call('PUT', `/v3/export-jobs/${h.job.id}/items`, {
      body: [{ accountingEntryId: h.ids[0], status: 'successful' }],
    });
    expect(retry.status).toBe(200);
    expect(h.sim.admin.item(h.job.id, h.ids[0]!)!.updateCount).toBe(2);
    // On a read, ambiguous behaves like drop.
    h.sim.admin.failNext('getJob', 1, { kind: 'ambiguous' });
    await expect(raw(h, 'GET', `/v3/export-jobs/${h.job.id}`)).rejects.toThrow();
  });

  it('slow bodies arrive complete; latency delays without changing the answer', async () => {
    const h = await setup();
    h.sim.admin.failNext('listJobItems', 1, { kind: 'slow', chunkBytes: 512, chunkDelayMs: 1 });
    const slow = await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${h.job.id}/items`);
    expect(slow.status).toBe(200);
    expect(slow.body.data.map((i) => i.accountingEntryId)).toEqual(h.ids);
    h.sim.admin.setFaults({ latencyMs: 5, latencyJitterMs: 2 });
    expect((await h.api.call('GET', `/v3/export-jobs/${h.job.id}`)).status).toBe(200);
    const last = h.sim.admin.requestLog().at(-1)!;
    expect(last.durationMs).toBeGreaterThanOrEqual(5);
    expect(h.sim.admin.requestLog().at(-2)).toMatchObject({ fault: 'slow', status: 200 });
  });

  it('random faults (faultRate, seeded) never change state: only answered writes take effect', async () => {
    const h = await setup({ itemsPerJob: 300 });
    const all = (
      await h.api.call<JobItemsPage>('GET', `/v3/export-jobs/${h.job.id}/items?limit=300`)
    ).body.data.map((i) => i.accountingEntryId);
    h.sim.admin.setFaults({
      faultRate: 0.4,
      faultMix: [{ kind: 'status', status: 500 }, { kind: 'status', status: 502 }, { kind: 'drop' }],
    });
    const applied = new Map<string, number>();
    let faulted = 0;
    for (let i = 0; i < 300; i++) {
      const id = all[i % 150]!;
      const before = stateOf(h);
      let status: number;
      try {
        status = (
          await raw(h, 'PUT', `/v3/export-jobs/${h.job.id}/items`, [
            { accountingEntryId: id, status: 'successful' },
          ])
        ).status;
      } catch {
        status = -1;
      }
      if (status === 200) applied.set(id, (applied.get(id) ?? 0) + 1);
      else {
        faulted++;
        expect(stateOf(h)).toEqual(before);
      }
    }
    expect(faulted).toBeGreaterThan(60);
    const snap = h.sim.admin.job(h.job.id, { items: true })!;
    for (const item of snap.items!) expect(item.updateCount).toBe(applied.get(item.accountingEntryId) ?? 0);
    const counts = h.sim.admin.state().requests.faults;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(faulted);
  });

  it('rejects bad fault configuration', async () => {
    const h = await start();
    expect(() => h.sim.admin.setFaults({ faultRate: 2 })).toThrow(RangeError);
    expect(() => h.sim.admin.addFaultRule({ endpoint: 'nope' as 'getJob', fault: { kind: 'drop' } })).toThrow(
      /unknown fault endpoint/,
    );
  });
});
