import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { MappingResult } from '../../src/accounting/index.js';
import type { AccountingAdapter } from '../../src/adapters/index.js';
import type { ExportItem, PleoClient } from '../../src/client/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import { simpleMap, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
let h2: Harness | undefined;
afterEach(async () => {
  await h?.close();
  await h2?.close();
  h = undefined;
  h2 = undefined;
});

async function exportItems(client: PleoClient, jobId: string): Promise<ExportItem[]> {
  const items: ExportItem[] = [];
  for await (const page of client.listExportItems(jobId, { pageSize: 100 })) items.push(...page.data);
  return items;
}

/** The documented order, computed independently of the engine: oldest date first, then entry id. */
function expectedOrder(items: readonly ExportItem[]): string[] {
  return [...items]
    .sort(
      (a, b) =>
        Date.parse(a.date) - Date.parse(b.date) || (a.accountingEntryId < b.accountingEntryId ? -1 : 1),
    )
    .map((i) => i.accountingEntryId);
}

function acceptedEvents(harness: Harness, jobId: string): string[] {
  return harness.sim.admin
    .job(jobId)!
    .events.filter((e) => e.accepted)
    .map((e) => e.event);
}

describe('engine: the whole workflow through the real HTTP path', () => {
  it('carries a pending job to completed, booking and reporting every entry once', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 250, profile: { failureRatio: 0 } });
    const results = await h.engine().runOnce();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ jobId: job.id, disposition: 'completed', event: 'completed' });
    const snap = h.sim.admin.job(job.id, { items: true })!;
    expect(snap.job.status).toBe('completed');
    expect(snap.statusCounts.successful).toBe(250);
    expect(snap.items!.every((i) => i.updateCount === 1)).toBe(true);
    expect(acceptedEvents(h, job.id)).toEqual(['started', 'completed']);
    expect(h.adapter.bookings()).toHaveLength(250);
    expect(new Set(h.adapter.bookings().map((b) => b.key)).size).toBe(250);
    // 250 outcomes in batches of at most 100.
    expect(h.requests.filter((r) => r.operation === 'updateJobItems' && r.status === 200)).toHaveLength(3);
  });

  it('processes in the deterministic order: oldest date first, accountingEntryId as tie-break', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 180, profile: { failureRatio: 0 } });
    const expected = expectedOrder(await exportItems(h.client, job.id));
    await h.engine().runOnce();
    expect(h.adapter.bookings().map((b) => b.key)).toEqual(expected);
    const items = await h.store.listItems({ companyId: h.companyId, jobId: job.id });
    expect(items.map((i) => i.accountingEntryId)).toEqual(expected);
    expect(items.map((i) => i.seq)).toEqual(expected.map((_, n) => n + 1));
  });

  it('two independent runs over the same seeded job give the same order and the same accounting output', async () => {
    h = await startHarness({ seed: 99 });
    h2 = await startHarness({ seed: 99 });
    const a = h.sim.admin.createJob(h.companyId, { itemCount: 120 });
    const b = h2.sim.admin.createJob(h2.companyId, { itemCount: 120 });
    expect(a.id).toBe(b.id);
    await h.engine().runOnce();
    await h2.engine().runOnce();
    const out = (x: Harness) =>
      x.adapter.bookings().map((booking) => ({ key: booking.key, entry: booking.entry }));
    expect(out(h)).toEqual(out(h2));
    const order = async (x: Harness, jobId: string) =>
      (await x.store.listItems({ companyId: x.companyId, jobId })).map((i) => [i.seq, i.accountingEntryId]);
    expect(await order(h, a.id)).toEqual(await order(h2, b.id));
    expect(acceptedEvents(h, a.id)).toEqual(acceptedEvents(h2, b.id));
  });

  it('runs the jobs of a company one at a time, oldest first', async () => {
    h = await startHarness();
    const first = h.sim.admin.createJob(h.companyId, { itemCount: 5 });
    h.sim.admin.advanceClock(1000);
    const second = h.sim.admin.createJob(h.companyId, { itemCount: 5 });
    const results = await h.engine().runOnce();
    expect(results.map((r) => r.jobId)).toEqual([first.id, second.id]);
    const log = h.sim.admin.requestLog().filter((r) => r.operation === 'createEvent');
    expect(log.length).toBe(4);
  });

  it('completes a job with some failures with completed_with_errors and actionable reasons', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 40 });
    let n = 0;
    const map = (item: ExportItem, ctx: { jobId: string; companyId: string }): MappingResult =>
      n++ % 4 === 0
        ? {
            ok: false,
            failureReasonType: 'vendor_unknown',
            failureReason: 'Selected vendor cannot be processed.',
          }
        : simpleMap(item, ctx);
    const [result] = await h.engine({ mapItem: map }).runOnce();
    expect(result).toMatchObject({ event: 'completed_with_errors', counts: { successful: 30, failed: 10 } });
    expect(result!.topFailures[0]).toMatchObject({ failureReasonType: 'vendor_unknown', count: 10 });
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.statusCounts).toMatchObject({ successful: 30, failed: 10 });
    const lastEvent = snap.events.at(-1)!;
    expect(lastEvent).toMatchObject({ event: 'completed_with_errors', accepted: true });
    expect(lastEvent.failureReason).toBeUndefined();
  });

  it('sends failed when no entry could be exported (every item failed)', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 12 });
    const [result] = await h
      .engine({
        mapItem: () => ({
          ok: false,
          failureReasonType: 'missing_configuration',
          failureReason: 'Account 6010 missing: provide account 6010 in the configurations',
        }),
      })
      .runOnce();
    expect(result).toMatchObject({ event: 'failed', failureReasonType: 'missing_configuration' });
    expect(result!.failureReason).toMatch(/None of the 12 entries could be exported.*Account 6010 missing/);
    expect(h.sim.admin.job(job.id)!.job).toMatchObject({
      status: 'failed',
      failureReasonType: 'missing_configuration',
    });
    expect(h.sim.admin.job(job.id)!.statusCounts.failed).toBe(12);
    expect(h.adapter.bookings()).toHaveLength(0);
  });

  it('completes a job without items with completed', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 0 });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'completed', counts: { total: 0 } });
    expect(acceptedEvents(h, job.id)).toEqual(['started', 'completed']);
  });

  it('fails the job at pre-export validation with the adapter reason and processes nothing', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 30 });
    h.adapter.setValidation({
      ok: false,
      failureReasonType: 'accounting_system_unreachable',
      failureReason: 'Failed to reach the Accounting System.',
    });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'failed', failureReasonType: 'accounting_system_unreachable' });
    expect(h.sim.admin.job(job.id)!.job).toMatchObject({
      status: 'failed',
      failureReason: 'Failed to reach the Accounting System.',
    });
    expect(h.adapter.bookings()).toHaveLength(0);
    expect(h.requests.some((r) => r.operation === 'listExportItems')).toBe(false);
    expect(h.requests.some((r) => r.operation === 'updateJobItems')).toBe(false);
  });

  it('fails the job when Pleo has no contra accounts for it (400 MISSING_CONTRA_ACCOUNTS)', async () => {
    h = await startHarness({ companiesWithoutContraAccounts: [0] });
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 10 });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'failed', failureReasonType: 'missing_configuration' });
    expect(result!.failureReason).toMatch(/Contra accounts are missing/);
    expect(h.sim.admin.job(job.id)!.job.status).toBe('failed');
    expect(h.adapter.bookings()).toHaveLength(0);
  });

  it('defers, never fails, a job whose accounting system stays down mid-job; the next run finishes it', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 150, profile: { failureRatio: 0 } });
    let down = false;
    let calls = 0;
    const engine = h.engine();
    // The accounting system works for 120 entries, then refuses connections until it is back.
    const original = h.adapter.record.bind(h.adapter);
    h.adapter.record = async (entry, ctx) => {
      calls++;
      if (calls > 120 && down === false) down = true;
      if (down)
        throw new AccountingSystemError('connection refused', {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
        });
      return original(entry, ctx);
    };
    const [first] = await engine.runOnce();
    expect(first).toMatchObject({ disposition: 'deferred', event: null });
    expect(first!.deferredReason).toMatch(/Recording the entry failed for now.*connection refused/);
    let snap = h.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe('in_progress');
    // What was booked before the outage was reported as successful; nothing was failed.
    expect(snap.statusCounts.successful).toBe(120);
    expect(snap.statusCounts.failed).toBe(0);
    down = false;
    h.adapter.record = original;
    const [second] = await engine.runOnce();
    expect(second).toMatchObject({ disposition: 'completed', event: 'completed' });
    snap = h.sim.admin.job(job.id)!;
    expect(snap.statusCounts.successful).toBe(150);
    expect(h.adapter.bookings()).toHaveLength(150);
    expect(new Set(h.adapter.bookings().map((b) => b.key)).size).toBe(150);
  });

  it('fails the job when the accounting system revokes the credentials mid-job (a person must act)', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 30, profile: { failureRatio: 0 } });
    let calls = 0;
    const original = h.adapter.record.bind(h.adapter);
    h.adapter.record = async (entry, ctx) => {
      if (++calls > 10)
        throw new AccountingSystemError('token revoked', {
          code: 'ACCOUNTING_AUTH',
          retryable: false,
          status: 401,
        });
      return original(entry, ctx);
    };
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({
      event: 'failed',
      failureReasonType: 'accounting_system_authentication_failure',
    });
    expect(result!.failureReason).toMatch(/reconnect it/);
    const snap = h.sim.admin.job(job.id)!;
    expect(snap.job.status).toBe('failed');
    expect(snap.statusCounts.successful).toBe(10);
  });
});

describe('engine: resume and reconciliation', () => {
  it('resumes an in_progress job with no local state: no second started, final items skipped', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 60, profile: { failureRatio: 0 } });
    // An earlier run on another machine started the job and reported 25 items, then vanished.
    await h.client.sendJobEvent({ jobId: job.id, event: 'started' });
    const listed: string[] = [];
    for await (const page of h.client.listJobItems(job.id, {}))
      listed.push(...page.data.map((i) => i.accountingEntryId));
    const done = listed.slice(0, 25);
    await h.client.updateJobItems(
      job.id,
      done.map((id) => ({
        accountingEntryId: id,
        status: 'successful' as const,
        externalId: `OLD-${id.slice(0, 4)}`,
      })),
    );
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'completed', counts: { total: 60, successful: 60 } });
    expect(acceptedEvents(h, job.id)).toEqual(['started', 'completed']);
    const rejectedStarted = h.sim.admin
      .job(job.id)!
      .events.filter((e) => e.event === 'started' && !e.accepted);
    expect(rejectedStarted).toHaveLength(0);
    expect(
      h.adapter
        .bookings()
        .map((b) => b.key)
        .sort(),
    ).toEqual(listed.slice(25).sort());
    const snap = h.sim.admin.job(job.id, { items: true })!;
    expect(snap.items!.every((i) => i.updateCount === 1)).toBe(true);
  });

  it('reports each lease it acquires with the owner that held it before (another owner: a takeover)', async () => {
    h = await startHarness();
    const held = h.sim.admin.createJob(h.companyId, { itemCount: 3, profile: { failureRatio: 0 } });
    h.clock.advance(60_000);
    const fresh = h.sim.admin.createJob(h.companyId, { itemCount: 3, profile: { failureRatio: 0 } });
    // A worker that died mid-job left its lease on the first job.
    const pleoJob = await h.client.getJob(held.id);
    await h.store.upsertJob({
      companyId: h.companyId,
      jobId: held.id,
      createdAt: pleoJob.createdAt,
      pleoStatus: pleoJob.status,
      vendorBasedBookkeeping: pleoJob.vendorBasedBookkeeping,
      numberOfItems: pleoJob.numberOfItems,
    });
    await h.store.acquireJob({ companyId: h.companyId, jobId: held.id }, 'host:dead');
    const results = await h.engine({ owner: 'host:me' }).runOnce();
    expect(results.map((r) => r.jobId)).toEqual([held.id, fresh.id]);
    expect(h.events.filter((e) => e.kind === 'lease_acquired')).toEqual([
      { kind: 'lease_acquired', jobId: held.id, owner: 'host:me', previousOwner: 'host:dead' },
      { kind: 'lease_acquired', jobId: fresh.id, owner: 'host:me', previousOwner: null },
    ]);
  });

  it('re-exporting entries that were already booked books nothing twice and reports the existing entries', async () => {
    h = await startHarness();
    const first = h.sim.admin.createJob(h.companyId, { itemCount: 30, profile: { failureRatio: 0 } });
    await h.engine().runOnce();
    const ids = h.adapter.bookings().map((b) => b.key);
    const externalIds = new Map(h.adapter.bookings().map((b) => [b.key, b.recorded.externalId]));
    const again = h.sim.admin.createJob(h.companyId, { accountingEntryIds: ids });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ jobId: again.id, event: 'completed' });
    expect(h.adapter.bookings()).toHaveLength(30);
    for (const id of ids) expect(h.sim.admin.item(again.id, id)?.status).toBe('successful');
    const reported = await h.store.listItems({ companyId: h.companyId, jobId: again.id });
    for (const item of reported) expect(item.externalId).toBe(externalIds.get(item.accountingEntryId));
    expect(first.id).not.toBe(again.id);
  });

  it('settles a job that expired while the engine was down, and books nothing more for it', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 50, profile: { failureRatio: 0 } });
    let recorded = 0;
    await expect(
      h
        .engine({
          onStep: (step) => {
            if (step === 'outcome_recorded' && ++recorded === 20) throw new Error('power cut');
          },
        })
        .runOnce(),
    ).rejects.toThrow('power cut');
    const booked = h.adapter.bookings().length;
    h.sim.admin.advanceClock(2 * 60 * 60 * 1000);
    expect(h.sim.admin.job(job.id)!.job).toMatchObject({
      status: 'failed',
      failureReasonType: 'job_expired',
    });
    const results = await h.engine().runOnce();
    expect(results).toEqual([]);
    const local = await h.store.getJob({ companyId: h.companyId, jobId: job.id });
    expect(local).toMatchObject({ phase: 'done', pleoStatus: 'failed', failureReasonType: 'job_expired' });
    expect(h.adapter.bookings()).toHaveLength(booked);
  });

  it('downloads a receipt again when it is missing on the machine that books the entry', async () => {
    h = await startHarness();
    h.sim.admin.createJob(h.companyId, { itemCount: 40, profile: { failureRatio: 0 } });
    // The first worker fetches everything (receipts included), then dies before booking.
    await expect(
      h
        .engine({
          onStep: (step) => {
            if (step === 'intent_recorded') throw new Error('worker lost');
          },
        })
        .runOnce(),
    ).rejects.toThrow('worker lost');
    const downloadsBefore = h.requests.filter((r) => r.operation === 'downloadFile').length;
    expect(downloadsBefore).toBeGreaterThan(0);
    // Another machine: no shared data folder, the receipts are not there.
    rmSync(join(h.dir, 'receipts'), { recursive: true, force: true });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    const attached = h.adapter.bookings().flatMap((b) => b.attachments);
    expect(attached.length).toBeGreaterThan(0);
    for (const a of attached) expect(statSync(a.path).size).toBe(a.size);
    const again = h.requests.filter((r) => r.operation === 'downloadFile').length - downloadsBefore;
    expect(again).toBe(attached.length);
  });

  it('stages receipts in the accounting system while the previous entry is written; a refusal fails only its item', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 30, profile: { failureRatio: 0 } });
    const memory = h.adapter;
    const log: string[] = [];
    let refusedKey: string | null = null;
    // The first entry written with receipts, and the later entries whose receipts went up before
    // that write finished (already staged when it began, or staged while it was held).
    let firstWritten: string | null = null;
    const staged = new Set<string>();
    const stagedAhead = (): boolean => [...staged].some((key) => key !== refusedKey && key !== firstWritten);
    let stagedWhileWriting: () => void = () => undefined;
    const otherStaged = new Promise<void>((resolve) => (stagedWhileWriting = resolve));
    const adapter: AccountingAdapter = {
      name: memory.name,
      supportsScaleOut: memory.supportsScaleOut,
      validate: (ctx) => memory.validate(ctx),
      findExisting: (key, ctx) => memory.findExisting(key, ctx),
      stageAttachments: (attachments, ctx) => {
        log.push(`stage ${ctx.idempotencyKey}`);
        refusedKey ??= ctx.idempotencyKey; // the first entry with receipts is refused
        staged.add(ctx.idempotencyKey);
        if (firstWritten !== null && stagedAhead()) stagedWhileWriting();
        if (ctx.idempotencyKey !== refusedKey) return Promise.resolve(null);
        return Promise.resolve({
          status: 'failed',
          failureReasonType: 'receipt_upload_failure',
          failureReason: `Receipt ${attachments[0]?.name ?? ''} was refused by the test system.`,
        });
      },
      record: async (entry, ctx) => {
        log.push(`record ${ctx.idempotencyKey}`);
        if (ctx.attachments.length > 0 && firstWritten === null) {
          firstWritten = ctx.idempotencyKey;
          // Concurrency 1: this write holds the turn. A later item's receipts must go up without
          // waiting for it, whether they were staged before it began or are staged while it waits.
          if (!stagedAhead()) await otherStaged;
        }
        return memory.record(entry, ctx);
      },
      close: () => memory.close(),
    };
    const [result] = await h.engine({ adapter, concurrency: 1 }).runOnce();
    expect(result).toMatchObject({ event: 'completed_with_errors' });
    expect(refusedKey).not.toBeNull();
    const withReceipts = h.adapter.bookings().filter((b) => b.attachments.length > 0);
    expect(withReceipts.length).toBeGreaterThan(1);
    for (const booking of withReceipts) {
      const key = booking.entry.accountingEntryId;
      expect(log.indexOf(`stage ${key}`)).toBeGreaterThanOrEqual(0);
      expect(log.indexOf(`stage ${key}`)).toBeLessThan(log.indexOf(`record ${key}`));
    }
    expect(log).not.toContain(`record ${refusedKey}`);
    const items = [];
    for await (const page of h.client.listJobItems(job.id, {}, { pageSize: 100 })) items.push(...page.data);
    expect(items.find((i) => i.accountingEntryId === refusedKey)).toMatchObject({
      status: 'failed',
      failureReasonType: 'receipt_upload_failure',
      failureReason: expect.stringContaining('refused by the test system') as unknown,
    });
    expect(h.adapter.bookings()).toHaveLength(29);
  });

  it('keeps a long job alive well inside the one-hour expiry', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 40, profile: { failureRatio: 0 } });
    // Every accounting write takes 4 minutes of simulated time: 160 minutes in all.
    const engine = h.engine({
      adapter: {
        ...h.adapter,
        record: async (entry, ctx) => {
          h!.sim.admin.advanceClock(4 * 60 * 1000);
          return h!.adapter.record(entry, ctx);
        },
      },
    });
    const [result] = await engine.runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    expect(h.sim.admin.job(job.id)!.job.status).toBe('completed');
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(40);
  });
});

describe('engine: faults', () => {
  it('finishes every job despite 20% transient failures on every endpoint, duplicating nothing', async () => {
    h = await startHarness({
      faults: {
        faultRate: 0.2,
        faultMix: [
          { kind: 'status', status: 429, retryAfterSeconds: 1 },
          { kind: 'status', status: 500 },
          { kind: 'status', status: 503 },
          { kind: 'drop' },
        ],
      },
    });
    const jobs = [0, 1, 2].map((n) => {
      h!.sim.admin.advanceClock(n);
      return h!.sim.admin.createJob(h!.companyId, { itemCount: 120 });
    });
    const results = await h.engine({ concurrency: 4 }).runOnce();
    expect(results.map((r) => r.disposition)).toEqual(['completed', 'completed', 'completed']);
    for (const job of jobs) {
      const snap = h.sim.admin.job(job.id, { items: true })!;
      expect(['completed', 'completed_with_errors']).toContain(snap.job.status);
      expect(snap.statusCounts.pending + snap.statusCounts.in_progress).toBe(0);
      expect(snap.items!.every((i) => i.updateCount === 1)).toBe(true);
      expect(acceptedEvents(h, job.id)).toEqual(['started', snap.job.status]);
    }
    const keys = h.adapter.bookings().map((b) => b.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(h.requests.some((r) => r.status === 429)).toBe(true);
  });

  it('recognises ambiguous writes: a lost response to an applied started, item update or final event', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 150, profile: { failureRatio: 0 } });
    h.sim.admin.addFaultRule({ endpoint: 'createEvent', fault: { kind: 'ambiguous' }, times: 1 });
    h.sim.admin.addFaultRule({ endpoint: 'updateJobItems', fault: { kind: 'ambiguous' }, times: 1 });
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ event: 'completed', disposition: 'completed' });
    const snap = h.sim.admin.job(job.id, { items: true })!;
    expect(snap.job.status).toBe('completed');
    expect(snap.statusCounts.successful).toBe(150);
    // started applied once; its retry was answered 422 and recognised as our own claim.
    expect(acceptedEvents(h, job.id)).toEqual(['started', 'completed']);
    expect(snap.events.filter((e) => e.event === 'started' && !e.accepted)).toHaveLength(1);
    // The lost PUT was retried identically: those items received the same final status twice.
    expect(snap.items!.filter((i) => i.updateCount === 2).length).toBeGreaterThan(0);
    expect(snap.items!.every((i) => i.history.filter((c) => c.status === 'successful').length >= 1)).toBe(
      true,
    );
    expect(h.adapter.bookings()).toHaveLength(150);
  });

  it('recognises a lost response to the final event', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 20, profile: { failureRatio: 0 } });
    let events = 0;
    const engine = h.engine({
      onStep: (step) => {
        if (step === 'before_complete' && events++ === 0) {
          h!.sim.admin.addFaultRule({ endpoint: 'createEvent', fault: { kind: 'ambiguous' }, times: 1 });
        }
      },
    });
    const [result] = await engine.runOnce();
    expect(result).toMatchObject({ event: 'completed', disposition: 'completed' });
    expect(acceptedEvents(h, job.id)).toEqual(['started', 'completed']);
    expect(
      h.sim.admin.job(job.id)!.events.filter((e) => e.event === 'completed' && !e.accepted),
    ).toHaveLength(1);
    expect((await h.store.getJob({ companyId: h.companyId, jobId: job.id }))?.phase).toBe('done');
  });

  it('re-sends item updates Pleo rejected in errors[] and never re-sends accepted ones', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 30, profile: { failureRatio: 0 } });
    const real = h.client;
    let rejectOnce = true;
    const sent: string[][] = [];
    const client: PleoClient = {
      ...real,
      companyId: real.companyId,
      listJobs: (q, o) => real.listJobs(q, o),
      getJob: (id, o) => real.getJob(id, o),
      createJob: (r, o) => real.createJob(r, o),
      sendJobEvent: (e, o) => real.sendJobEvent(e, o),
      listJobItems: (id, q, o) => real.listJobItems(id, q, o),
      listExportItems: (id, o) => real.listExportItems(id, o),
      downloadFile: (u, o) => real.downloadFile(u, o),
      download: (u, o) => real.download(u, o),
      async updateJobItems(jobId, updates, o) {
        sent.push(updates.map((u) => u.accountingEntryId));
        if (rejectOnce && updates.length > 3) {
          rejectOnce = false;
          const [first, ...rest] = updates;
          const result = await real.updateJobItems(jobId, rest, o);
          return {
            accepted: result.accepted,
            rejected: [
              {
                accountingEntryId: first!.accountingEntryId,
                message: 'try again',
                type: 'EXPORT_ENTRY_STATUS_UPDATE_FAILED',
              },
            ],
          };
        }
        return real.updateJobItems(jobId, updates, o);
      },
    };
    const [result] = await h.engine({ client }).runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    const all = sent.flat();
    const counts = new Map<string, number>();
    for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n === 2)).toHaveLength(1);
    expect(counts.size).toBe(30);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(30);
  });

  it('with concurrency 8 books each entry once and reports in the deterministic order', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 300, profile: { failureRatio: 0 } });
    const expected = expectedOrder(await exportItems(h.client, job.id));
    const real = h.client;
    const reportedOrder: string[] = [];
    const client: PleoClient = Object.assign(
      Object.create(Object.getPrototypeOf(real) as object) as PleoClient,
      real,
      {
        companyId: real.companyId,
        listJobs: real.listJobs.bind(real),
        getJob: real.getJob.bind(real),
        createJob: real.createJob.bind(real),
        sendJobEvent: real.sendJobEvent.bind(real),
        listJobItems: real.listJobItems.bind(real),
        listExportItems: real.listExportItems.bind(real),
        downloadFile: real.downloadFile.bind(real),
        updateJobItems: (
          jobId: string,
          updates: Parameters<PleoClient['updateJobItems']>[1],
          o?: { signal?: AbortSignal },
        ) => {
          reportedOrder.push(
            ...updates.filter((u) => u.status === 'successful').map((u) => u.accountingEntryId),
          );
          return real.updateJobItems(jobId, updates, o);
        },
      },
    );
    h.adapter.failNext(0);
    const [result] = await h.engine({ client, concurrency: 8 }).runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    expect(reportedOrder).toEqual(expected);
    expect(h.adapter.bookings()).toHaveLength(300);
  });
});
