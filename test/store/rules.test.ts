/** The store's business rules (src/store/rules.ts), decided once for every dialect. */
import { describe, expect, it } from 'vitest';

import {
  countItems,
  listedAction,
  listedDetail,
  NO_DATA,
  NO_DATA_DATE,
  outcomeDetail,
  planOrder,
} from '../../src/store/rules.js';

describe('listedAction (reconciliation)', () => {
  it('inserts new rows: open ones to process, final ones skipped and already reported', () => {
    expect(listedAction(null, 'pending')).toEqual({ kind: 'insert', state: 'listed', reported: false });
    expect(listedAction(null, 'in_progress')).toEqual({ kind: 'insert', state: 'listed', reported: false });
    expect(listedAction(null, 'successful')).toEqual({ kind: 'insert', state: 'skipped', reported: true });
    expect(listedAction(null, 'failed')).toEqual({ kind: 'insert', state: 'skipped', reported: true });
  });

  it('keeps rows still open at Pleo, skipped ones, and outcomes Pleo already accepted', () => {
    for (const state of ['listed', 'planned', 'booking', 'booked', 'failed', 'skipped'] as const)
      expect(listedAction({ state, reported: false }, 'pending')).toEqual({ kind: 'keep' });
    expect(listedAction({ state: 'skipped', reported: true }, 'successful')).toEqual({ kind: 'keep' });
    expect(listedAction({ state: 'booked', reported: true }, 'successful')).toEqual({ kind: 'keep' });
  });

  it('marks an unreported outcome reported when Pleo holds it final (its report was accepted before a crash)', () => {
    expect(listedAction({ state: 'booked', reported: false }, 'successful')).toEqual({
      kind: 'reconcile',
      state: 'booked',
      from: 'booked',
    });
    expect(listedAction({ state: 'failed', reported: false }, 'failed')).toEqual({
      kind: 'reconcile',
      state: 'failed',
      from: 'failed',
    });
  });

  it('skips an unfinished item that someone else finalised at Pleo', () => {
    for (const state of ['listed', 'planned', 'booking'] as const)
      expect(listedAction({ state, reported: false }, 'successful')).toEqual({
        kind: 'reconcile',
        state: 'skipped',
        from: state,
      });
  });

  it('describes the action for the audit trail', () => {
    const item = { accountingEntryId: 'a', status: 'successful' as const };
    expect(listedDetail(item, listedAction(null, 'successful'))).toEqual({
      pleoStatus: 'successful',
      skipped: true,
    });
    expect(listedDetail(item, listedAction({ state: 'booking', reported: false }, 'successful'))).toEqual({
      pleoStatus: 'successful',
      state: 'booking',
    });
  });
});

describe('planOrder (planning)', () => {
  it('orders by date, then entry id in byte order, from seq 1; items without data go last, failed', () => {
    const plan = planOrder([
      { accountingEntryId: 'b', date: '2026-01-02T00:00:00.000Z', hasData: true },
      { accountingEntryId: 'z', date: null, hasData: false },
      { accountingEntryId: 'a', date: '2026-01-02T00:00:00.000Z', hasData: true },
      { accountingEntryId: 'B', date: '2026-01-02T00:00:00.000Z', hasData: true },
      { accountingEntryId: 'c', date: '2025-12-31T00:00:00.000Z', hasData: true },
      { accountingEntryId: 'y', date: null, hasData: false },
    ]);
    expect(plan.map((p) => [p.seq, p.accountingEntryId])).toEqual([
      [1, 'c'],
      [2, 'B'],
      [3, 'a'],
      [4, 'b'],
      [5, 'y'],
      [6, 'z'],
    ]);
    expect(plan.slice(0, 4).every((p) => p.prefailure === null)).toBe(true);
    expect(plan[4]).toMatchObject({ date: NO_DATA_DATE, prefailure: NO_DATA });
  });

  it('is deterministic: the same rows in any order give the same plan', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      accountingEntryId: `e${(i * 37) % 50}`,
      date: `2026-01-${String((i % 5) + 1).padStart(2, '0')}T00:00:00.000Z`,
      hasData: true,
    }));
    expect(planOrder([...rows].reverse())).toEqual(planOrder(rows));
  });
});

describe('countItems (counting)', () => {
  it('adds groups up: successful, failed, fetched and reported as the engine decides on them', () => {
    const counts = countItems([
      { state: 'booked', pleoStatus: 'pending', reported: false, fetched: true, n: 3 },
      { state: 'booked', pleoStatus: 'successful', reported: true, fetched: true, n: 2 },
      { state: 'failed', pleoStatus: 'failed', reported: true, fetched: true, n: 1 },
      { state: 'skipped', pleoStatus: 'successful', reported: true, fetched: false, n: 4 },
      { state: 'skipped', pleoStatus: 'failed', reported: true, fetched: true, n: 1 },
      { state: 'planned', pleoStatus: 'pending', reported: false, fetched: true, n: 5 },
      { state: 'listed', pleoStatus: 'pending', reported: false, fetched: false, n: 6 },
    ]);
    expect(counts).toEqual({
      total: 22,
      byState: { listed: 6, skipped: 5, planned: 5, booking: 0, booked: 5, failed: 1 },
      reported: 8,
      unreported: 14,
      successful: 9,
      failed: 2,
      fetched: 11,
    });
  });

  it('gives every state a zero for an empty job', () => {
    expect(countItems([])).toMatchObject({ total: 0, byState: { listed: 0, booked: 0 }, unreported: 0 });
  });
});

describe('outcomeDetail', () => {
  it('names the earlier job whose booking was reused, and how a booking was learned', () => {
    expect(
      outcomeDetail(
        { status: 'booked', externalId: 'E', externalUrl: null, exportedAt: 't', resolvedBy: 'lookup' },
        'job-1',
      ),
    ).toEqual({
      externalId: 'E',
      externalUrl: null,
      exportedAt: 't',
      resolvedBy: 'lookup',
      bookedInJob: 'job-1',
    });
    expect(
      outcomeDetail({ status: 'failed', failureReasonType: 'vendor_unknown', failureReason: 'r' }, null),
    ).toEqual({ failureReasonType: 'vendor_unknown', failureReason: 'r' });
  });
});
