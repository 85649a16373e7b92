/**
 * Batched writes (`recordBatch`): the engine hands entries whose turn came while the previous
 * batch was written to the adapter in one call, one batch at a time at concurrency 1, so entries
 * keep their seq order; a fault of a batch is retried whole, one that outlasts the retries stops
 * the run before any later entry is written; each entry gets its own answer.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { AccountingAdapter, BatchEntry, RecordOutcome } from '../../src/adapters/index.js';
import { WriteBatches } from '../../src/engine/write-batches.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import type { MemoryAdapter } from '../../src/testing/index.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Batched {
  adapter: AccountingAdapter;
  /** Keys of each recordBatch call, in the order given. */
  batches: string[][];
  /** The most batches that were ever in flight at once. */
  maxInFlight: () => number;
  /** Throws from the next `n` recordBatch calls (before anything is written). */
  failNextBatches: (n: number, error: AccountingSystemError) => void;
  /** Answers with `error` for this key (the others are written). */
  rejectEntry: (key: string, error: AccountingSystemError) => void;
}

/** The memory adapter behind `recordBatch`: each batch is written entry by entry, in order. */
function batched(memory: MemoryAdapter): Batched {
  const batches: string[][] = [];
  let inFlight = 0;
  let most = 0;
  let failures = 0;
  let failure: AccountingSystemError | null = null;
  const rejected = new Map<string, AccountingSystemError>();
  const adapter: AccountingAdapter = {
    name: memory.name,
    supportsScaleOut: memory.supportsScaleOut,
    validate: (ctx) => memory.validate(ctx),
    findExisting: (key, ctx) => memory.findExisting(key, ctx),
    record: () => Promise.reject(new Error('record must not be called when recordBatch is offered')),
    async recordBatch(entries: readonly BatchEntry[], ctx) {
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        await new Promise((resolve) => setImmediate(resolve)); // a write that takes a turn of the loop
        batches.push(entries.map((e) => e.idempotencyKey));
        if (failures > 0 && failure !== null) {
          failures -= 1;
          throw failure;
        }
        const out: PromiseSettledResult<RecordOutcome>[] = [];
        for (const e of entries) {
          const error = rejected.get(e.idempotencyKey);
          if (error) {
            out.push({ status: 'rejected', reason: error });
            continue;
          }
          const value = await memory.record(e.entry, {
            ...ctx,
            idempotencyKey: e.idempotencyKey,
            attachments: e.attachments,
          });
          out.push({ status: 'fulfilled', value });
        }
        return out;
      } finally {
        inFlight -= 1;
      }
    },
    close: () => memory.close(),
  };
  return {
    adapter,
    batches,
    maxInFlight: () => most,
    failNextBatches: (n, error) => {
      failures = n;
      failure = error;
    },
    rejectEntry: (key, error) => rejected.set(key, error),
  };
}

const unreachable = (): AccountingSystemError =>
  new AccountingSystemError('journal unreachable (test)', {
    code: 'ACCOUNTING_UNREACHABLE',
    retryable: true,
  });

describe('WriteBatches', () => {
  it('sends a lone entry at once and groups what queued behind a running batch, in order', async () => {
    const calls: number[][] = [];
    let release: () => void = () => undefined;
    const batches = new WriteBatches<number, string>({
      slots: 1,
      maxBatch: 3,
      write: async (batch) => {
        calls.push(batch);
        if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return batch.map((n) => `done ${n}`);
      },
    });
    const answers = [1, 2, 3, 4, 5, 6].map((n) => batches.submit(n));
    expect(calls).toEqual([[1]]);
    release();
    expect(await Promise.all(answers)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `done ${n}`));
    expect(calls).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('after a failed batch writes nothing more: the entries behind it and later ones get its error', async () => {
    const calls: number[][] = [];
    const batches = new WriteBatches<number, number>({
      slots: 1,
      maxBatch: 2,
      write: (batch) => {
        calls.push(batch);
        return calls.length === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(batch);
      },
    });
    const answers = await Promise.allSettled([1, 2, 3].map((n) => batches.submit(n)));
    expect(answers.map((a) => (a.status === 'rejected' ? (a.reason as Error).message : a.value))).toEqual([
      'boom',
      'boom',
      'boom',
    ]);
    await expect(batches.submit(4)).rejects.toThrow('boom');
    expect(calls).toEqual([[1]]);
  });

  it('refuses an answer of the wrong length for every entry of that batch', async () => {
    const batches = new WriteBatches<number, number>({
      slots: 2,
      maxBatch: 4,
      write: (batch) => Promise.resolve(batch.slice(1)),
    });
    await expect(batches.submit(1)).rejects.toThrow('a batch of 1 entries got 0 results');
  });
});

describe('engine: batched writes (recordBatch)', () => {
  it('at concurrency 1 writes every entry once, in seq order, several per batch, one batch at a time', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 300, profile: { failureRatio: 0 } });
    const b = batched(h.adapter);
    const [result] = await h.engine({ adapter: b.adapter, concurrency: 1 }).runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    const written = b.batches.flat();
    expect(written).toHaveLength(300);
    expect(new Set(written).size).toBe(300);
    expect(b.maxInFlight()).toBe(1);
    // Several entries per call: the batches group what was ready while the previous one was written.
    expect(b.batches.length).toBeLessThan(300);
    expect(Math.max(...b.batches.map((batch) => batch.length))).toBeGreaterThan(1);
    // In the engine's processing order (the store's seq), which every run plans the same way.
    const planned = (await h.store.listItems({ companyId: h.companyId, jobId: job.id }))
      .filter((i) => i.seq !== null)
      .sort((x, y) => x.seq! - y.seq!)
      .map((i) => i.accountingEntryId);
    expect(written).toEqual(planned);
    expect(h.adapter.bookings().map((x) => x.entry.accountingEntryId)).toEqual(written);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(300);
  });

  it('retries a batch whose write failed, with the same keys, and books each entry once', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 120, profile: { failureRatio: 0 } });
    const b = batched(h.adapter);
    b.failNextBatches(2, unreachable());
    const [result] = await h.engine({ adapter: b.adapter, concurrency: 1 }).runOnce();
    expect(result).toMatchObject({ event: 'completed' });
    expect(b.batches[0]).toEqual(b.batches[1]); // the same batch again
    expect(b.batches[1]).toEqual(b.batches[2]);
    expect(h.adapter.bookings()).toHaveLength(120);
    expect(new Set(h.adapter.bookings().map((x) => x.entry.accountingEntryId)).size).toBe(120);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(120);
  });

  it('a fault that outlasts the retries defers the run and writes nothing after the failed batch; the next run finishes once', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 150, profile: { failureRatio: 0 } });
    const b = batched(h.adapter);
    b.failNextBatches(1000, unreachable());
    const [deferred] = await h.engine({ adapter: b.adapter, concurrency: 1 }).runOnce();
    expect(deferred).toMatchObject({ disposition: 'deferred' });
    expect(h.adapter.bookings()).toHaveLength(0);
    const tried = new Set(b.batches.flat());
    // Only the first batch was ever tried (again and again), never one behind it.
    expect(new Set(b.batches.map((batch) => batch.join()))).toHaveProperty('size', 1);
    b.failNextBatches(0, unreachable());
    const [done] = await h.engine({ adapter: b.adapter, concurrency: 1 }).runOnce();
    expect(done).toMatchObject({ event: 'completed' });
    const booked = h.adapter.bookings().map((x) => x.entry.accountingEntryId);
    expect(booked).toHaveLength(150);
    expect(new Set(booked).size).toBe(150);
    for (const key of tried) expect(booked).toContain(key);
    expect(h.sim.admin.job(job.id)!.statusCounts.successful).toBe(150);
  });

  it('an entry refused inside a batch fails alone; an entry that ends the job fails the job', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 40, profile: { failureRatio: 0 } });
    const b = batched(h.adapter);
    const items = [];
    for await (const page of h.client.listJobItems(job.id, {}, { pageSize: 100 })) items.push(...page.data);
    const refusedKey = items[5]!.accountingEntryId;
    b.rejectEntry(
      refusedKey,
      new AccountingSystemError('the period is closed for this date (test)', {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      }),
    );
    const [result] = await h.engine({ adapter: b.adapter, concurrency: 1 }).runOnce();
    expect(result).toMatchObject({ event: 'completed_with_errors' });
    expect(h.adapter.bookings()).toHaveLength(39);
    const after = [];
    for await (const page of h.client.listJobItems(job.id, {}, { pageSize: 100 })) after.push(...page.data);
    expect(after.find((i) => i.accountingEntryId === refusedKey)).toMatchObject({ status: 'failed' });

    const job2 = h.sim.admin.createJob(h.companyId, { itemCount: 20, profile: { failureRatio: 0 } });
    const b2 = batched(h.adapter);
    const items2 = [];
    for await (const page of h.client.listJobItems(job2.id, {}, { pageSize: 100 })) items2.push(...page.data);
    b2.rejectEntry(
      items2[3]!.accountingEntryId,
      new AccountingSystemError('credentials revoked (test)', { code: 'ACCOUNTING_AUTH', retryable: false }),
    );
    const [ended] = await h.engine({ adapter: b2.adapter, concurrency: 1 }).runOnce();
    expect(ended).toMatchObject({ event: 'failed' });
  });
});
