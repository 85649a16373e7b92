/**
 * The audit trail as a real run writes it: every step of an item, the balanced entry announced by
 * the intent, and an uncertain write (its answer lost) resolved by looking the entry up.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('audit trail of a run', () => {
  it('records every step; a write whose answer was lost is resolved by lookup, never booked twice', async () => {
    h = await startHarness();
    const job = h.sim.admin.createJob(h.companyId, { itemCount: 6, profile: { failureRatio: 0 } });
    // The first write reaches the accounting system, then the worker dies before storing its answer.
    let lost = false;
    await expect(
      h
        .engine({
          onStep: (step) => {
            if (step === 'entry_written' && !lost) {
              lost = true;
              throw new Error('answer lost');
            }
          },
        })
        .runOnce(),
    ).rejects.toThrow('answer lost');
    const [first] = h.adapter.bookings();
    expect(first).toBeDefined();
    const [result] = await h.engine().runOnce();
    expect(result).toMatchObject({ jobId: job.id, event: 'completed' });
    expect(h.adapter.recordCalls(first!.key)).toBe(1);

    const trail = await h.store.auditTrail(first!.key, { jobId: job.id });
    expect(trail.map((e) => e.step)).toEqual([
      'listed',
      'data_fetched',
      ...(trail.some((e) => e.step === 'receipts_stored') ? ['receipts_stored'] : []),
      'intent',
      'booked',
      'reported',
    ]);
    const intent = trail.find((e) => e.step === 'intent')!;
    const booked = trail.find((e) => e.step === 'booked')!;
    expect(intent.attempt).toBe(1);
    expect(booked.detail).toMatchObject({ externalId: first!.recorded.externalId, resolvedBy: 'lookup' });
    const postings = (intent.detail['entry'] as { postings: { account: string }[] }).postings;
    expect(postings.map((p) => p.account)).toEqual(first!.entry.postings.map((p) => p.account));

    // Every other entry was written once and says nothing of a lookup.
    const others = h.adapter.bookings().filter((b) => b.key !== first!.key);
    expect(others).toHaveLength(5);
    for (const other of others) {
      const steps = await h.store.auditTrail(other.key, { jobId: job.id });
      expect(steps.find((e) => e.step === 'booked')?.detail['resolvedBy']).toBeUndefined();
      expect(steps.at(-1)).toMatchObject({ step: 'reported', detail: { pleoStatus: 'successful' } });
    }
  });
});
