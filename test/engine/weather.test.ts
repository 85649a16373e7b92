/**
 * Ordinary weather (issue 16): each fault here once failed a job, stranded an entry or looped.
 * Every test drives the real engine through the real HTTP path against the simulator.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createHttpAdapter } from '../../src/adapters/index.js';
import { createPleoClient, type PleoClient } from '../../src/client/index.js';
import { AccountingSystemError, ConflictError } from '../../src/errors/index.js';
import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';
import { noSleep, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
let receiver: ReferenceReceiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

/** A client whose every request to `operation` moves the simulator's clock on first (slow reads). */
function slowClient(harness: Harness, pathPart: RegExp, msPerRequest: number): PleoClient {
  const company = harness.sim.companies[0]!;
  return createPleoClient({
    baseUrl: harness.sim.url,
    companyId: company.id,
    auth: { kind: 'apiKey', apiKey: company.apiKey },
    rateLimit: false,
    sleep: noSleep,
    clock: () => harness.sim.admin.now(),
    retry: { maxAttempts: 8 },
    // A read takes msPerRequest of simulated time from when it is sent to when it is answered;
    // reads in flight at once share that time (the engine reads job items and export items side
    // by side), as they would in real time.
    fetch: async (input, init) => {
      const url = String(input);
      if (!pathPart.test(url) || (init?.method ?? 'GET') !== 'GET') return fetch(input, init);
      const due = harness.sim.admin.now() + msPerRequest;
      const response = await fetch(input, init);
      const now = harness.sim.admin.now();
      if (now < due) harness.sim.admin.advanceClock(due - now);
      return response;
    },
  });
}

describe('accounting-system faults never fail a job for something a retry would fix', () => {
  it('one 503 on POST /v1/validate: the job completes (HTTP adapter, retried)', async () => {
    h = await startHarness();
    receiver = await startReferenceReceiver();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 12, profile: { failureRatio: 0 } });
    receiver.setFaults({ failNext: 1, status: 503 });
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const [result] = await h.engine({ adapter }).runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(12);
    expect(receiver.stats().entries).toBe(12);
  });

  it('a resumed job whose accounting system is down at validation is deferred, never failed; no entry is stranded', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 20, profile: { failureRatio: 0 } });
    // First run: stop after 8 entries are booked, one more written whose outcome is not recorded.
    const controller = new AbortController();
    let written = 0;
    const original = h.adapter.record.bind(h.adapter);
    h.adapter.record = async (entry, ctx) => {
      const outcome = await original(entry, ctx);
      if (++written === 9) controller.abort();
      return outcome;
    };
    // Interrupted: the run ends with ABORTED from whichever call was in flight.
    await h
      .engine()
      .runOnce(controller.signal)
      .catch(() => undefined);
    expect(h.adapter.bookings()).toHaveLength(9);
    h.adapter.record = original;
    // Second run: the accounting system answers 503 to every validation.
    const validate = h.adapter.validate.bind(h.adapter);
    h.adapter.validate = () =>
      Promise.reject(
        new AccountingSystemError('503', { code: 'ACCOUNTING_UNREACHABLE', retryable: true, status: 503 }),
      );
    const [second] = await h.engine().runOnce();
    expect(second).toMatchObject({ disposition: 'deferred', event: null });
    expect(second!.deferredReason).toMatch(/Pre-export validation failed for now/);
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe('in_progress');
    expect(snap.statusCounts.failed).toBe(0);
    // Back: the job completes, every entry booked exactly once (the lost one found by lookup).
    h.adapter.validate = validate;
    const [third] = await h.engine().runOnce();
    expect(third).toMatchObject({ disposition: 'completed', event: 'completed' });
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(20);
    expect(h.adapter.bookings()).toHaveLength(20);
    expect(new Set(h.adapter.bookings().map((b) => b.key)).size).toBe(20);
  });

  it('an entry the accounting system refuses fails only its item; the job completes with errors', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 15, profile: { failureRatio: 0 } });
    const original = h.adapter.record.bind(h.adapter);
    let refused: string | null = null;
    h.adapter.record = async (entry, ctx) => {
      if (refused === null || refused === ctx.idempotencyKey) {
        refused = ctx.idempotencyKey;
        throw new AccountingSystemError('Refusing to write an unbalanced entry: off by 1', {
          code: 'ACCOUNTING_REJECTED',
          retryable: false,
        });
      }
      return original(entry, ctx);
    };
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed_with_errors' });
    expect(h.sim.admin.item(job.id, refused!)!.status).toBe('failed');
    const [item] = await h.store.findItemsByEntry(refused!);
    expect(item).toMatchObject({ state: 'failed', reported: true });
    expect(item!.failureReasonType).toBe('accounting_system_validation_failure');
    expect(item!.failureReason).toMatch(/refused this entry: Refusing to write an unbalanced entry/);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(14);
  });

  it('a 4xx on the lookup of an entry left in booking fails only that item, saying a re-export is safe', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 6, profile: { failureRatio: 0 } });
    const controller = new AbortController();
    const original = h.adapter.record.bind(h.adapter);
    let left: string | null = null;
    h.adapter.record = async (entry, ctx) => {
      if (left === null) {
        left = ctx.idempotencyKey;
        controller.abort(); // interrupted before the write: the item stays in `booking`
        throw new AccountingSystemError('cancelled', { code: 'ABORTED', retryable: true });
      }
      return original(entry, ctx);
    };
    await h
      .engine()
      .runOnce(controller.signal)
      .catch(() => undefined);
    expect((await h.store.findItemsByEntry(left!))[0]?.state).toBe('booking');
    h.adapter.record = original;
    const find = h.adapter.findExisting.bind(h.adapter);
    h.adapter.findExisting = (key, ctx) =>
      key === left
        ? Promise.reject(
            new AccountingSystemError('HTTP 400 bad key', { code: 'ACCOUNTING_REJECTED', retryable: false }),
          )
        : find(key, ctx);
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed_with_errors' });
    expect(h.sim.admin.item(job.id, left!)!.status).toBe('failed');
    const [item] = await h.store.findItemsByEntry(left!);
    expect(item!.failureReason).toMatch(/could not be checked; exporting it again is safe/);
  });
});

describe('Pleo-side weather: long reads, stale jobs, refused claims, expiry, odd answers', () => {
  it('keeps the job alive through two hours of slow listing and fetching (Pleo hears from us every keepAliveMs)', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 160, profile: { failureRatio: 0 } });
    // Every page read takes 4 minutes of simulated time: 40 pages of job items and 40 of export
    // items (4 per page), the two read side by side (export pages staged while the job items are
    // listed): 40 reads one after another = 160 minutes, more than twice the expiry, with nothing
    // to report until booking.
    const client = slowClient(h, /items/, 4 * 60 * 1000);
    const [result] = await h.engine({ client, pageSize: 4 }).runOnce();
    expect(result).toMatchObject({ disposition: 'completed', event: 'completed' });
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe('completed');
    expect(snap.statusCounts.successful).toBe(160);
    // Pleo heard from us (an accepted event or item update) at least every keepAliveMs (10 min)
    // plus the page reads that may straddle it, from the claim to the final event. This clock
    // charges a read's 4 minutes by the time it is answered (reads in flight at once share them),
    // and the client sends the next read while it validates the current page (issue 20), one read
    // ahead of the engine's read-ahead: two reads (8 min) may pass between two checks, though in
    // real time a check still waits for one.
    const writes = h.sim.admin
      .requestLog()
      .filter((r) => (r.operation === 'updateJobItems' || r.operation === 'createEvent') && r.status !== null)
      .map((r) => Date.parse(r.at));
    const gaps = writes.slice(1).map((at, i) => at - writes[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(18 * 60 * 1000);
    expect(writes.at(-1)! - writes[0]!).toBeGreaterThanOrEqual(120 * 60 * 1000);
  });

  it('a local job Pleo no longer knows (404) is settled as gone and does not block the company', async () => {
    h = await startHarness();
    const ghost = '0b7e0f56-8c3d-4a3e-9a7e-5d1d3f1c0a11';
    await h.store.upsertJob({
      companyId: h.companyId,
      jobId: ghost,
      createdAt: '2026-05-01T00:00:00.000Z',
      pleoStatus: 'in_progress',
      vendorBasedBookkeeping: false,
      numberOfItems: 3,
    });
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 5, profile: { failureRatio: 0 } });
    const results = await h.engine().runOnce();
    expect(results.map((r) => [r.jobId, r.event])).toEqual([[job.id, 'completed']]);
    const settled = await h.store.getJob({ companyId: h.companyId, jobId: ghost });
    expect(settled).toMatchObject({ phase: 'done' });
    expect(settled!.failureReason).toMatch(/no longer exists at Pleo/);
    // The next run does not ask Pleo about it again.
    const before = h.sim.admin.requestLog().filter((r) => r.url.includes(ghost)).length;
    await h.engine().runOnce();
    expect(h.sim.admin.requestLog().filter((r) => r.url.includes(ghost)).length).toBe(before);
  });

  it('a stale local job that cannot be read now (503s) is left for later; other jobs run', async () => {
    h = await startHarness();
    const stale = h.sim.admin.createJob(h.companyId, { itemCount: 3, profile: { failureRatio: 0 } });
    await h.store.upsertJob({
      companyId: h.companyId,
      jobId: stale.id,
      createdAt: stale.createdAt,
      pleoStatus: 'pending',
      vendorBasedBookkeeping: false,
      numberOfItems: 3,
    });
    const client = h.newClient();
    const getJob = client.getJob.bind(client);
    client.getJob = (id, opts) =>
      id === stale.id
        ? Promise.reject(new ConflictError('503', { code: 'SERVER_ERROR', retryable: true }))
        : getJob(id, opts);
    const results = await h.engine({ client }).runOnce();
    expect(results.map((r) => r.event)).toEqual(['completed']);
  });

  it('a 422 to started while the job stays pending skips the job this time; the next run claims it', async () => {
    h = await startHarness();
    const first = h.sim.admin.createJob(h.companyId, { itemCount: 4, profile: { failureRatio: 0 } });
    h.clock.advance(1000);
    const second = h.sim.admin.createJob(h.companyId, { itemCount: 4, profile: { failureRatio: 0 } });
    const client = h.newClient();
    const send = client.sendJobEvent.bind(client);
    let refused = false;
    client.sendJobEvent = (event, opts) => {
      if (!refused && event.jobId === first.id && event.event === 'started') {
        refused = true;
        return Promise.reject(
          new ConflictError('Export job status change is not allowed', {
            code: 'INVALID_EXPORT_JOB_STATUS_CHANGE',
            retryable: false,
            status: 422,
          }),
        );
      }
      return send(event, opts);
    };
    const results = await h.engine({ client }).runOnce();
    expect(results.map((r) => [r.jobId, r.disposition, r.event])).toEqual([
      [first.id, 'skipped', null],
      [second.id, 'completed', 'completed'],
    ]);
    expect(h.sim.admin.job(first.id)!.job.status).toBe('pending');
    expect(h.events.filter((e) => e.kind === 'job_skipped')).toEqual([
      {
        kind: 'job_skipped',
        jobId: first.id,
        reason: 'Pleo refused started and the job is pending; the next poll tries again',
      },
    ]);
    const again = await h.engine({ client }).runOnce();
    expect(again.map((r) => [r.jobId, r.event])).toEqual([[first.id, 'completed']]);
  });

  it('an expiry is never recorded as our own failed event', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 4, profile: { failureRatio: 0 } });
    // Every item fails to map: the engine chooses `failed`; Pleo expires the job just before it is sent.
    const engine = h.engine({
      mapItem: () => ({
        ok: false,
        failureReasonType: 'missing_configuration',
        failureReason: 'Account X missing',
      }),
      onStep: (step) => {
        if (step === 'before_complete') h!.sim.admin.advanceClock(2 * 60 * 60 * 1000);
      },
    });
    const [result] = await engine.runOnce();
    expect(result).toMatchObject({ disposition: 'expired', failureReasonType: 'job_expired' });
    const local = await h.store.getJob({ companyId: h.companyId, jobId: job.id });
    expect(local).toMatchObject({ phase: 'done', pleoStatus: 'failed', failureReasonType: 'job_expired' });
  });

  it('item updates Pleo neither accepts nor rejects are re-sent a bounded number of times, then surfaced', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 5, profile: { failureRatio: 0 } });
    h.sim.admin.addFaultRule({ endpoint: 'updateJobItems', fault: { kind: 'emptyAck' } });
    const results = await h
      .engine()
      .runOnce()
      .catch((error: unknown) => error);
    const puts = h.sim.admin.requestLog().filter((r) => r.operation === 'updateJobItems').length;
    // Three attempts (maxReportAttempts) for the batch, then given up: no loop.
    expect(puts).toBe(3);
    const items = await h.store.listItems({ companyId: h.companyId, jobId: job.id });
    expect(items.every((item) => item.reportError?.includes('REPORT_UNACKNOWLEDGED'))).toBe(true);
    expect(results).toBeDefined();
  });

  it('a listing that never ends (fresh cursor and one new item per page) stops with LISTING_OVERFLOW', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 3, profile: { failureRatio: 0 } });
    h.sim.admin.addFaultRule({ endpoint: 'listJobItems', fault: { kind: 'endless' } });
    const error = await h
      .engine({ pageSize: 1 })
      .runOnce()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LISTING_OVERFLOW', retryable: false });
    expect((error as Error).message).toMatch(/more than the job's 3/);
    const pages = h.sim.admin.requestLog().filter((r) => r.operation === 'listJobItems').length;
    expect(pages).toBeLessThanOrEqual(3 + 100 + 2);
    expect(h.adapter.bookings()).toHaveLength(0);
    expect(h.sim.admin.job(job.id)!.statusCounts.failed).toBe(0);
  });
});
