/**
 * The daemon over real HTTP, a real store and the simulator: the poll timer as the safety net,
 * graceful shutdown in the middle of a job, metrics, the trigger endpoint and readiness.
 */
import { networkInterfaces } from 'node:os';

import { afterEach, describe, expect, it } from 'vitest';

import type { MappingResult } from '../../src/accounting/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { bearerMatches, isLoopback, requireTriggerToken } from '../../src/server/access.js';
import type { RunningServer } from '../../src/server/index.js';
import { simpleMap } from '../engine/harness.js';
import {
  post,
  sample,
  startWorld,
  TRIGGER_TOKEN,
  WEBHOOK_SECRET,
  withServer,
  type World,
} from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function scrape(server: RunningServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

function accepted(w: World, jobId: string): string[] {
  return w.sim.admin
    .job(jobId)!
    .events.filter((e) => e.accepted)
    .map((e) => e.event);
}

describe('polling', () => {
  it('picks a job up on the poll timer when its webhook never came (no subscription)', async () => {
    world = await startWorld();
    const w = world;
    const server = await w.start();
    await server.whenIdle();
    const job = w.sim.admin.createJob(w.companies[0]!.id, { itemCount: 7, profile: { failureRatio: 0 } });
    await tick();
    expect(w.sim.admin.job(job.id)!.job.status).toBe('pending');
    // pollIntervalMs 60 000, jitter source 0.5: exactly one timer of 60 s is armed.
    expect(w.timers.active()).toEqual([expect.objectContaining({ ms: 60_000 })]);
    expect(w.timers.fireAll()).toBe(1);
    await server.whenIdle();
    expect(w.sim.admin.job(job.id)!.job.status).toBe('completed');
    expect(w.adapters.get(w.companies[0]!.id)!.bookings()).toHaveLength(7);
    expect(w.timers.active()).toHaveLength(1); // re-armed
    const text = await scrape(server);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'startup' })).toBe(1);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'timer', outcome: 'ok' })).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('in the middle of a job: stops taking work, leaves the job resumable; the next start completes it, each entry booked once', async () => {
    const ref: { server?: RunningServer } = {};
    let draining: Promise<void> | undefined;
    world = await startWorld({
      beforeRecord: (call) => {
        // SIGTERM while the 5th entry is being written.
        if (call === 5) draining = ref.server!.drain();
      },
    });
    const w = world;
    const companyId = w.companies[0]!.id;
    const job = w.sim.admin.createJob(companyId, { itemCount: 20, profile: { failureRatio: 0 } });
    const server = (ref.server = await w.start({
      config: withServer(w.config, { webhookSecret: WEBHOOK_SECRET }),
    }));
    await server.whenIdle();
    expect(draining).toBeDefined();
    await draining;

    const adapter = w.adapters.get(companyId)!;
    expect(adapter.bookings()).toHaveLength(5); // the in-flight write finished; nothing new started
    expect(w.sim.admin.job(job.id)!.job.status).toBe('in_progress');
    expect((await w.store.getJob({ companyId, jobId: job.id }))!.phase).not.toBe('done');
    // Still answering, but taking no work.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'shutting_down' });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await post(server.webhookUrl, '{}')).status).toBe(503);
    expect((await post(`${server.url}/trigger`, '')).status).toBe(503);
    expect(w.timers.active()).toHaveLength(0);
    const text = await scrape(server);
    expect(sample(text, 'pleo_export_jobs_total', { outcome: 'interrupted' })).toBe(1);
    expect(sample(text, 'pleo_export_polls_total', { outcome: 'interrupted' })).toBe(1);
    await server.close();

    // A later process over the same store resumes the job.
    const next = await w.start();
    await next.whenIdle();
    const snap = w.sim.admin.job(job.id, { items: true })!;
    expect(snap.job.status).toBe('completed');
    expect(snap.items!.every((i) => i.updateCount === 1)).toBe(true);
    expect(accepted(w, job.id)).toEqual(['started', 'completed']);
    expect(adapter.bookings()).toHaveLength(20);
    expect(adapter.bookings().every((b) => adapter.recordCalls(b.key) === 1)).toBe(true);
    expect(sample(await scrape(next), 'pleo_export_jobs_total', { outcome: 'completed' })).toBe(1);
  });
});

describe('GET /metrics', () => {
  it('counts jobs, items by outcome and failure type, Pleo requests, retries, latencies, queue and running jobs', async () => {
    const ref: { server?: RunningServer } = {};
    let during: string | undefined;
    // Entries whose id starts with 0-7 fail mapping; the others are booked.
    const mapItem = (item: ExportItem, ctx: { jobId: string; companyId: string }): MappingResult =>
      /^[0-7]/.test(item.accountingEntryId)
        ? { ok: false, failureReasonType: 'missing_configuration', failureReason: 'Account X missing' }
        : simpleMap(item, ctx);
    world = await startWorld({
      companies: 2,
      server: { maxConcurrentCompanies: 1 },
      mapItem,
      beforeRecord: async (call) => {
        if (call === 1) during = await scrape(ref.server!);
      },
    });
    const w = world;
    const [a, b] = w.companies;
    const job = w.sim.admin.createJob(a!.id, { itemCount: 30, profile: { failureRatio: 0 } });
    w.sim.admin.failNext('updateJobItems', 2);
    const server = (ref.server = await w.start());
    await server.whenIdle();

    // While company a was writing its first entry, company b waited for the only slot.
    expect(sample(during!, 'pleo_export_running_jobs')).toBe(1);
    expect(sample(during!, 'pleo_export_queue_depth')).toBe(1);

    const snap = w.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe('completed_with_errors');
    const failed = snap.statusCounts.failed;
    expect(failed).toBeGreaterThan(0);
    const text = await scrape(server);
    expect(sample(text, 'pleo_export_jobs_total', { outcome: 'completed_with_errors' })).toBe(1);
    expect(sample(text, 'pleo_export_job_duration_seconds_count', { outcome: 'completed_with_errors' })).toBe(
      1,
    );
    expect(sample(text, 'pleo_export_items_total', { outcome: 'booked', failure_type: 'none' })).toBe(
      30 - failed,
    );
    expect(
      sample(text, 'pleo_export_items_total', { outcome: 'failed', failure_type: 'missing_configuration' }),
    ).toBe(failed);
    expect(
      sample(text, 'pleo_export_pleo_requests_total', { operation: 'listJobs', status: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'pleo_export_pleo_requests_total', { operation: 'updateJobItems', status: '503' }),
    ).toBe(2);
    expect(sample(text, 'pleo_export_pleo_retries_total', { operation: 'updateJobItems' })).toBe(2);
    expect(
      sample(text, 'pleo_export_pleo_request_duration_seconds_count', { operation: 'sendJobEvent' }),
    ).toBe(2);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'startup', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'pleo_export_running_jobs')).toBe(0);
    expect(sample(text, 'pleo_export_queue_depth')).toBe(0);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(w.adapters.get(b!.id)!.bookings()).toHaveLength(0);
    // Each server has a registry of its own.
    const second = await w.start({ config: withServer(w.config, { port: 0 }) });
    expect(sample(await scrape(second), 'pleo_export_jobs_total')).toBe(0);
  });
});

describe('POST /trigger', () => {
  it('with server.triggerToken: Bearer required; polls all companies or one; 404 for an unknown company', async () => {
    world = await startWorld({ companies: 2, server: { triggerToken: TRIGGER_TOKEN } });
    const w = world;
    const server = await w.start();
    await server.whenIdle();
    const url = `${server.url}/trigger`;
    expect((await post(url, '')).status).toBe(401);
    const wrong = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect([wrong.status, wrong.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    const auth = { authorization: `Bearer ${TRIGGER_TOKEN}` };
    const [a, b] = w.companies;
    const job = w.sim.admin.createJob(b!.id, { itemCount: 3, profile: { failureRatio: 0 } });
    expect(await post(`${url}?company=${b!.id.toUpperCase()}`, '', auth)).toEqual({
      status: 202,
      body: { status: 'accepted', companies: [b!.id] },
    });
    await server.whenIdle();
    expect(w.sim.admin.job(job.id)!.job.status).toBe('completed');
    expect((await post(url, '', auth)).body['companies']).toEqual([a!.id, b!.id]);
    expect(await post(`${url}?company=00000000-0000-4000-8000-000000000000`, '', auth)).toMatchObject({
      status: 404,
      body: { error: 'unknown_company' },
    });
    expect((await fetch(url, { headers: auth })).status).toBe(405);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    await server.whenIdle();
    expect(sample(await scrape(server), 'pleo_export_polls_total', { trigger: 'manual' })).toBe(3);
    expect(JSON.stringify(w.logs)).not.toContain(TRIGGER_TOKEN);
    // The programmatic trigger resolves once the poll it asked for is over.
    const again = w.sim.admin.createJob(a!.id, { itemCount: 2, profile: { failureRatio: 0 } });
    await server.trigger(a!.id);
    expect(w.sim.admin.job(again.id)!.job.status).toBe('completed');
    await expect(server.trigger('00000000-0000-4000-8000-000000000000')).rejects.toThrow(/not configured/);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  it.skipIf(external === undefined)(
    'without a token: loopback callers only (a loopback-only daemon)',
    async () => {
      world = await startWorld({ server: { host: '127.0.0.1' } });
      const w = world;
      const server = await w.start();
      expect((await post(`http://127.0.0.1:${server.port}/trigger`, '')).status).toBe(202);
      // With a token, a caller from another address is let in by the token alone.
      const open = await w.start({
        config: withServer(w.config, { host: '0.0.0.0', port: 0, triggerToken: TRIGGER_TOKEN }),
      });
      expect(await post(`http://${external}:${open.port}/trigger`, '')).toMatchObject({ status: 401 });
      const auth = { authorization: `Bearer ${TRIGGER_TOKEN}` };
      expect(await post(`http://${external}:${open.port}/trigger`, '', auth)).toMatchObject({ status: 202 });
    },
  );

  it.each([
    [{ host: '0.0.0.0' }, 'listens on 0.0.0.0'],
    [{ host: '::' }, 'listens on ::'],
    [{ host: '192.0.2.10' }, 'not a loopback address'],
    [{ host: 'pleo-export.internal' }, 'not a loopback address'],
    [{ host: '127.0.0.1', publicUrl: 'https://exporter.example.com' }, 'publicUrl is set'],
  ])('refuses to start without a token when /trigger is exposed: %j', async (server, why) => {
    world = await startWorld();
    const w = world;
    const error = await w.start({ config: withServer(w.config, server) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('server.triggerToken is required');
    expect((error as Error).message).toContain(why);
  });

  it('starts without a token on loopback (127.0.0.1, ::1, localhost) with no publicUrl', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])
      expect(() => requireTriggerToken({ host }), host).not.toThrow();
    expect(() => requireTriggerToken({ host: '0.0.0.0', triggerToken: TRIGGER_TOKEN })).not.toThrow();
  });

  it('access rules', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopback(a), a).toBe(true);
    for (const a of ['192.0.2.2', '::ffff:10.0.0.1', 'fe80::1', '::', undefined])
      expect(isLoopback(a), a).toBe(false);
    expect(bearerMatches(`Bearer ${TRIGGER_TOKEN}`, TRIGGER_TOKEN)).toBe(true);
    expect(bearerMatches(`bearer  ${TRIGGER_TOKEN} `, TRIGGER_TOKEN)).toBe(true);
    for (const h of [
      undefined,
      '',
      'Bearer',
      `Basic ${TRIGGER_TOKEN}`,
      `Bearer ${TRIGGER_TOKEN}x`,
      'Bearer x',
    ])
      expect(bearerMatches(h, TRIGGER_TOKEN), String(h)).toBe(false);
  });
});

describe('GET /readyz', () => {
  it('is ready while the store answers, 503 when it does not', async () => {
    world = await startWorld();
    const w = world;
    let broken = false;
    const store = new Proxy(w.store, {
      get(target, prop) {
        if (prop === 'getValue' && broken) return () => Promise.reject(new Error('database is locked'));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const server = await w.start({ store });
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: 'ready' });
    broken = true;
    const res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.json()]).toEqual([503, { status: 'store_unavailable' }]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
