/**
 * The Store conformance suite. Every Store implementation runs it (house style rule 3):
 * `runStoreContract('sqlite', () => createSqliteStore({ path: ':memory:' }))`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ExportItem } from '../../src/client/index.js';
import { LeaseLostError } from '../../src/errors/index.js';
import {
  type FetchedItem,
  JOB_PHASES,
  type JobSnapshot,
  type ListedItem,
  type Store,
  markBooking,
  recordOutcome,
} from '../../src/store/index.js';

const COMPANY = '11111111-1111-4111-8111-111111111111';
const JOB = '22222222-2222-4222-8222-222222222222';
const ref = { companyId: COMPANY, jobId: JOB };

function entry(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

function snapshot(overrides: Partial<JobSnapshot> = {}): JobSnapshot {
  return {
    companyId: COMPANY,
    jobId: JOB,
    createdAt: '2026-01-01T10:00:00.000Z',
    pleoStatus: 'in_progress',
    vendorBasedBookkeeping: false,
    numberOfItems: 5,
    ...overrides,
  };
}

function fetched(id: string, date: string): FetchedItem {
  return {
    accountingEntryId: id,
    date,
    payload: { accountingEntryId: id, date } as unknown as ExportItem,
    attachments: [],
    prefailure: null,
  };
}

/** Seams around COMMIT (a dialect that retries transaction bodies offers them; see below). */
export interface CommitFaults {
  beforeCommit?: (attempt: number) => void;
  afterCommit?: (attempt: number) => void;
}

export interface ContractOptions {
  /**
   * A store whose transactions call `faults` around COMMIT. Given by dialects that run a failed
   * transaction body again (PostgreSQL); SQLite's bodies are synchronous and never retried (a call
   * commits or throws, and a crash ends the process), so it has nothing to offer here.
   */
  withCommitFaults?: (faults: CommitFaults) => Promise<Store>;
}

export function runStoreContract(
  name: string,
  factory: () => Promise<Store>,
  options: ContractOptions = {},
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrate is idempotent', async () => {
      await store.migrate();
      await store.upsertJob(snapshot());
      await store.migrate();
      expect(await store.getJob(ref)).not.toBeNull();
    });

    it('upserts jobs without moving the phase back and lists them oldest first', async () => {
      await store.upsertJob(snapshot({ jobId: entry(9), createdAt: '2026-01-02T00:00:00.000Z' }));
      const created = await store.upsertJob(snapshot());
      expect(created.phase).toBe('discovered');
      const fence = await store.acquireJob(ref, 'w1');
      await store.updateJob(fence, { phase: 'claimed' });
      const again = await store.upsertJob(snapshot({ pleoStatus: 'failed' }));
      expect(again.phase).toBe('claimed');
      expect(again.pleoStatus).toBe('failed');
      const jobs = await store.listJobs({ companyId: COMPANY });
      expect(jobs.map((j) => j.jobId)).toEqual([JOB, entry(9)]);
      expect(await store.listJobs({ phases: ['claimed'] })).toHaveLength(1);
    });

    it('finds a job by its id alone, whatever its company', async () => {
      await store.upsertJob(snapshot());
      await store.upsertJob(snapshot({ companyId: entry(7), jobId: entry(9) }));
      expect(await store.findJob(entry(9))).toMatchObject({ companyId: entry(7), jobId: entry(9) });
      expect(await store.findJob(JOB)).toMatchObject({ companyId: COMPANY, jobId: JOB });
      expect(await store.findJob(entry(404))).toBeNull();
    });

    it('counts jobs per phase across companies', async () => {
      const empty = await store.jobStats();
      expect(Object.keys(empty.byPhase).sort()).toEqual([...JOB_PHASES].sort());
      expect(Object.values(empty.byPhase).every((n) => n === 0)).toBe(true);
      await store.upsertJob(snapshot());
      await store.upsertJob(snapshot({ jobId: entry(8) }));
      await store.upsertJob(snapshot({ companyId: entry(7), jobId: entry(9) }));
      const fence = await store.acquireJob(ref, 'w1');
      await store.updateJob(fence, { phase: 'claimed' });
      expect((await store.jobStats()).byPhase).toEqual({
        discovered: 2,
        claiming: 0,
        claimed: 1,
        items_listed: 0,
        planned: 0,
        completing: 0,
        done: 0,
      });
    });

    it('stages pages of export items by fence and position, and lets them go when committed, planned or done', async () => {
      await store.upsertJob(snapshot());
      const first = await store.acquireJob(ref, 'w1');
      await store.updateJob(first, { phase: 'claimed' });
      const page = (n: number, cursor: string | null, complete = false) => ({
        position: n,
        items: [fetched(entry(2 * n + 1), '2026-01-02'), fetched(entry(2 * n + 2), '2026-01-01')],
        cursor,
        complete,
      });
      await store.stageFetchedPage(first, page(0, 'A'));
      await store.stageFetchedPage(first, { ...page(0, 'A2'), items: [fetched(entry(1), '2026-01-03')] });
      expect(await store.stagedPage(first, 0)).toEqual({
        position: 0,
        items: [fetched(entry(1), '2026-01-03')],
        cursor: 'A2',
        complete: false,
      }); // replaced at the same position
      expect(await store.stagedPage(first, 1)).toBeNull();
      // Staging changes no item and no cursor: nothing is listed yet.
      expect((await store.counts(ref)).total).toBe(0);
      expect((await store.getJob(ref))!.dataCursor).toBeNull();
      // Another run's fence sees none of it, and the old fence can no longer stage.
      const second = await store.acquireJob(ref, 'w2');
      expect(await store.stagedPage(second, 0)).toBeNull();
      await expect(store.stageFetchedPage(first, page(1, 'B'))).rejects.toBeInstanceOf(LeaseLostError);
      await store.stageFetchedPage(second, page(0, 'A'));
      await store.stageFetchedPage(second, page(1, null, true));
      // Listed, then committed from the stage: the staged page goes in the same transaction.
      await store.saveListedPage(second, {
        items: [1, 2, 3, 4].map((n) => ({ accountingEntryId: entry(n), status: 'pending' as const })),
        cursor: null,
        complete: true,
      });
      const staged = (await store.stagedPage(second, 0))!;
      expect(await store.saveFetchedPage(second, { ...staged, staged: 0 })).toEqual({
        stored: 2,
        unknown: [],
      });
      expect(await store.stagedPage(second, 0)).toBeNull();
      expect(await store.stagedPage(second, 1)).not.toBeNull();
      expect((await store.getJob(ref))!.dataCursor).toBe('A');
      // Planning deletes every page staged for the job, by any fence.
      await store.saveFetchedPage(second, {
        items: (await store.stagedPage(second, 1))!.items,
        cursor: null,
        complete: true,
      });
      expect(await store.stagedPage(second, 1)).toBeNull();
      expect(await store.stagedPage(first, 0)).toBeNull();
      expect((await store.getJob(ref))!.phase).toBe('planned');
      expect((await store.itemsToProcess(ref, 0, 10)).map((i) => i.accountingEntryId)).toEqual([
        entry(2),
        entry(4),
        entry(1),
        entry(3),
      ]); // by date, then id
    });

    it('a job done before its data layer was committed leaves no staged page', async () => {
      await store.upsertJob(snapshot());
      const fence = await store.acquireJob(ref, 'w1');
      await store.stageFetchedPage(fence, {
        position: 0,
        items: [fetched(entry(1), '2026-01-01')],
        cursor: 'A',
        complete: false,
      });
      await store.updateJob(fence, { phase: 'done', completedAt: '2026-01-02T00:00:00.000Z' });
      expect(await store.stagedPage(fence, 0)).toBeNull();
    });

    it('fences: a stale fence changes nothing and throws LeaseLostError', async () => {
      await store.upsertJob(snapshot());
      const first = await store.acquireJob(ref, 'w1');
      const second = await store.acquireJob(ref, 'w2');
      expect(second.token).toBeGreaterThan(first.token);
      await expect(store.updateJob(first, { phase: 'claimed' })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        store.saveListedPage(first, {
          items: [{ accountingEntryId: entry(1), status: 'pending' }],
          cursor: 'A',
          complete: true,
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      const job = await store.getJob(ref);
      expect(job?.phase).toBe('discovered');
      expect(job?.listCursor).toBeNull();
      expect(job?.leaseOwner).toBe('w2');
      expect(job?.runs).toBe(2);
      expect(await store.listItems(ref)).toHaveLength(0);
    });

    it('stores listed pages idempotently with their cursor; final items are skipped', async () => {
      await store.upsertJob(snapshot());
      const fence = await store.acquireJob(ref, 'w1');
      const page1: ListedItem[] = [
        { accountingEntryId: entry(1), status: 'pending' },
        { accountingEntryId: entry(2), status: 'successful', externalId: 'X2' },
      ];
      expect(await store.saveListedPage(fence, { items: page1, cursor: 'AAAA', complete: false })).toEqual({
        inserted: 2,
        reconciled: 0,
      });
      expect((await store.getJob(ref))?.listCursor).toBe('AAAA');
      expect((await store.getJob(ref))?.phase).toBe('discovered');
      // The same page again (a crash before the cursor moved on): nothing duplicated.
      expect(await store.saveListedPage(fence, { items: page1, cursor: 'AAAA', complete: false })).toEqual({
        inserted: 0,
        reconciled: 0,
      });
      await store.saveListedPage(fence, {
        items: [{ accountingEntryId: entry(3), status: 'in_progress' }],
        cursor: 'BBBB',
        complete: true,
      });
      const job = await store.getJob(ref);
      expect(job?.phase).toBe('items_listed');
      expect(job?.listCursor).toBe('BBBB');
      const items = await store.listItems(ref);
      expect(items).toHaveLength(3);
      expect(items.find((i) => i.accountingEntryId === entry(2))).toMatchObject({
        state: 'skipped',
        reported: true,
        externalId: 'X2',
      });
      expect(items.filter((i) => i.state === 'listed')).toHaveLength(2);
    });

    it('plans in deterministic order (date, then entry id) and fails items without data', async () => {
      await store.upsertJob(snapshot());
      const fence = await store.acquireJob(ref, 'w1');
      await store.saveListedPage(fence, {
        items: [5, 4, 3, 2, 1].map((n) => ({ accountingEntryId: entry(n), status: 'pending' as const })),
        cursor: null,
        complete: true,
      });
      expect(await store.entriesAwaitingData(ref, [entry(1), entry(5), entry(99)])).toEqual(
        new Set([entry(1), entry(5)]),
      );
      const r1 = await store.saveFetchedPage(fence, {
        items: [fetched(entry(5), '2026-01-01T00:00:00.000Z'), fetched(entry(3), '2026-01-03T00:00:00.000Z')],
        cursor: 'C1',
        complete: false,
      });
      expect(r1).toEqual({ stored: 2, unknown: [] });
      const r2 = await store.saveFetchedPage(fence, {
        items: [
          fetched(entry(4), '2026-01-01T00:00:00.000Z'),
          fetched(entry(2), '2025-12-31T00:00:00.000Z'),
          fetched(entry(77), '2025-12-31T00:00:00.000Z'),
        ],
        cursor: 'C2',
        complete: true,
      });
      expect(r2).toEqual({ stored: 2, unknown: [entry(77)] });
      expect(await store.entriesAwaitingData(ref, [entry(1), entry(2)])).toEqual(new Set());
      const job = await store.getJob(ref);
      expect(job?.phase).toBe('planned');
      expect(job?.dataCursor).toBe('C2');
      const todo = await store.itemsToProcess(ref, 0, 100);
      expect(todo.map((i) => i.accountingEntryId)).toEqual([
        entry(2),
        entry(4),
        entry(5),
        entry(3),
        entry(1),
      ]);
      expect(todo.map((i) => i.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(todo[0]?.payload?.accountingEntryId).toBe(entry(2));
      expect(todo[4]?.payload).toBeNull();
      expect(todo[4]?.prefailure?.failureReasonType).toBe('unexpected_failure');
      expect((await store.itemsToProcess(ref, 3, 100)).map((i) => i.seq)).toEqual([4, 5]);
    });

    async function plannedJob(n: number) {
      await store.upsertJob(snapshot());
      const fence = await store.acquireJob(ref, 'w1');
      const ids = Array.from({ length: n }, (_, i) => entry(i + 1));
      await store.saveListedPage(fence, {
        items: ids.map((id) => ({ accountingEntryId: id, status: 'pending' as const })),
        cursor: null,
        complete: true,
      });
      await store.saveFetchedPage(fence, {
        items: ids.map((id, i) => fetched(id, `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00.000Z`)),
        cursor: null,
        complete: true,
      });
      return { fence, ids };
    }

    it('records intents and outcomes; a booking is unique per company and entry', async () => {
      const { fence, ids } = await plannedJob(3);
      await markBooking(store, fence, ids[0]!, 1);
      let todo = await store.itemsToProcess(ref, 0, 10);
      expect(todo[0]).toMatchObject({ state: 'booking', attempt: 1 });
      await recordOutcome(store, fence, ids[0]!, {
        status: 'booked',
        externalId: 'E1',
        externalUrl: 'file:///j#L1',
        exportedAt: '2026-02-01T00:00:00.000Z',
      });
      await recordOutcome(store, fence, ids[1]!, {
        status: 'failed',
        failureReasonType: 'missing_configuration',
        failureReason: 'Account 6010 missing: provide account 6010 in the configurations',
      });
      todo = await store.itemsToProcess(ref, 0, 10);
      expect(todo.map((i) => i.accountingEntryId)).toEqual([ids[2]]);
      expect(await store.findBooking(COMPANY, ids[0]!)).toMatchObject({ externalId: 'E1', jobId: JOB });
      expect(await store.findBooking(COMPANY, ids[1]!)).toBeNull();
      expect((await store.findItemsByEntry(ids[0]!))[0]?.payload).toBeNull();
      // A later job with the same entry does not create a second booking row.
      const job2 = { companyId: COMPANY, jobId: entry(500) };
      await store.upsertJob(snapshot(job2));
      const f2 = await store.acquireJob(job2, 'w1');
      await store.saveListedPage(f2, {
        items: [{ accountingEntryId: ids[0]!, status: 'pending' }],
        cursor: null,
        complete: true,
      });
      await store.saveFetchedPage(f2, {
        items: [fetched(ids[0]!, '2026-01-01T00:00:00.000Z')],
        cursor: null,
        complete: true,
      });
      await recordOutcome(store, f2, ids[0]!, {
        status: 'booked',
        externalId: 'OTHER',
        externalUrl: null,
        exportedAt: '2026-03-01T00:00:00.000Z',
      });
      expect(await store.findBooking(COMPANY, ids[0]!)).toMatchObject({ externalId: 'E1', jobId: JOB });
      await expect(markBooking(store, fence, ids[0]!, 2)).rejects.toThrow(/not open/);
    });

    it('fences the per-item writes: intents and outcomes under a stale fence change nothing', async () => {
      const { fence: stale, ids } = await plannedJob(3);
      await markBooking(store, stale, ids[0]!, 1);
      const current = await store.acquireJob(ref, 'w2');
      await expect(markBooking(store, stale, ids[1]!, 1)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        recordOutcome(store, stale, ids[0]!, {
          status: 'booked',
          externalId: 'STALE',
          externalUrl: null,
          exportedAt: '2026-02-01T00:00:00.000Z',
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        recordOutcome(store, stale, ids[2]!, {
          status: 'failed',
          failureReasonType: 'unexpected_failure',
          failureReason: 'stale',
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      const todo = await store.itemsToProcess(ref, 0, 10);
      expect(todo.map((i) => [i.accountingEntryId, i.state, i.attempt])).toEqual([
        [ids[0], 'booking', 1],
        [ids[1], 'planned', 0],
        [ids[2], 'planned', 0],
      ]);
      expect(await store.findBooking(COMPANY, ids[0]!)).toBeNull();
      // The current owner writes as usual.
      await recordOutcome(store, current, ids[0]!, {
        status: 'booked',
        externalId: 'E1',
        externalUrl: null,
        exportedAt: '2026-02-01T00:00:00.000Z',
      });
      expect(await store.findBooking(COMPANY, ids[0]!)).toMatchObject({ externalId: 'E1' });
    });

    it('reports outcomes in seq order, never past the lowest open item, and reconciles on re-listing', async () => {
      const { fence, ids } = await plannedJob(4);
      await recordOutcome(store, fence, ids[1]!, {
        status: 'booked',
        externalId: 'B',
        externalUrl: null,
        exportedAt: 'x',
      });
      await recordOutcome(store, fence, ids[0]!, {
        status: 'booked',
        externalId: 'A',
        externalUrl: null,
        exportedAt: 'x',
      });
      await recordOutcome(store, fence, ids[3]!, {
        status: 'booked',
        externalId: 'D',
        externalUrl: null,
        exportedAt: 'x',
      });
      expect(await store.lowestOpenSeq(ref)).toBe(3);
      const open = (await store.lowestOpenSeq(ref))!;
      const batch = await store.unreportedOutcomes(ref, 100, open - 1);
      expect(batch.map((i) => i.externalId)).toEqual(['A', 'B']);
      await store.markReported(fence, [{ accountingEntryId: ids[0]!, pleoStatus: 'successful' }]);
      await store.markReportRejected(fence, [{ accountingEntryId: ids[1]!, message: 'nope' }]);
      const rows = await store.listItems(ref);
      expect(rows.find((r) => r.accountingEntryId === ids[1])).toMatchObject({
        reported: false,
        reportAttempts: 1,
        reportError: 'nope',
      });
      await store.markReportRejected(fence, [{ accountingEntryId: ids[3]!, message: 'gone', giveUp: true }]);
      expect((await store.listItems(ref)).find((r) => r.accountingEntryId === ids[3])).toMatchObject({
        reported: true,
        reportError: 'gone',
      });
      // A crash after Pleo accepted item 2's report: the re-listing shows it final and reconciles it.
      const r = await store.saveListedPage(fence, {
        items: [
          { accountingEntryId: ids[1]!, status: 'successful' },
          { accountingEntryId: ids[2]!, status: 'pending' },
        ],
        cursor: null,
        complete: true,
      });
      expect(r).toEqual({ inserted: 0, reconciled: 1 });
      expect(await store.unreportedOutcomes(ref, 100)).toEqual([]);
      const counts = await store.counts(ref);
      expect(counts).toMatchObject({ total: 4, reported: 3, unreported: 1, successful: 3, failed: 0 });
      expect(counts.byState).toMatchObject({ booked: 3, planned: 1 });
    });

    it('stops processing items that someone else finalised at Pleo', async () => {
      const { fence, ids } = await plannedJob(3);
      await markBooking(store, fence, ids[1]!, 1);
      const r = await store.saveListedPage(fence, {
        items: [
          { accountingEntryId: ids[0]!, status: 'failed', failureReason: 'by hand' },
          { accountingEntryId: ids[1]!, status: 'successful' },
          { accountingEntryId: ids[2]!, status: 'pending' },
        ],
        cursor: null,
        complete: true,
      });
      expect(r).toEqual({ inserted: 0, reconciled: 2 });
      expect((await store.itemsToProcess(ref, 0, 10)).map((i) => i.accountingEntryId)).toEqual([ids[2]]);
      expect(await store.listItems(ref, { states: ['skipped'] })).toMatchObject([
        { accountingEntryId: ids[0], pleoStatus: 'failed', reported: true },
        { accountingEntryId: ids[1], pleoStatus: 'successful', reported: true },
      ]);
    });

    it('lists and plans a job of many pages in (date, entry id) order', async () => {
      await store.upsertJob(snapshot({ numberOfItems: 2000 }));
      const fence = await store.acquireJob(ref, 'w1');
      const ids = Array.from({ length: 2000 }, (_, i) => entry((i * 7919) % 2000));
      const date = (i: number) => `2026-01-${String((i % 28) + 1).padStart(2, '0')}T00:00:00.000Z`;
      for (let p = 0; p < 20; p++) {
        const slice = ids.slice(p * 100, p * 100 + 100);
        const r = await store.saveListedPage(fence, {
          items: slice.map((id) => ({ accountingEntryId: id, status: 'pending' as const })),
          cursor: `L${p}`,
          complete: p === 19,
        });
        expect(r.inserted).toBe(100);
      }
      for (let p = 0; p < 20; p++) {
        const slice = ids.slice(p * 100, p * 100 + 100);
        const r = await store.saveFetchedPage(fence, {
          items: slice.map((id, k) => fetched(id, date(p * 100 + k))),
          cursor: `F${p}`,
          complete: p === 19,
        });
        expect(r).toEqual({ stored: 100, unknown: [] });
      }
      const expected = ids
        .map((id, i) => ({ id, date: date(i) }))
        .sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : x.id < y.id ? -1 : 1))
        .map((x) => x.id);
      const planned: string[] = [];
      let after = 0;
      for (;;) {
        const batch = await store.itemsToProcess(ref, after, 500);
        if (batch.length === 0) break;
        planned.push(...batch.map((i) => i.accountingEntryId));
        after = batch[batch.length - 1]!.seq!;
      }
      expect(planned).toEqual(expected);
      expect(after).toBe(2000);
      expect((await store.getJob(ref))?.phase).toBe('planned');
      expect((await store.counts(ref)).byState.planned).toBe(2000);
    });

    it('summarises failures and finds items by entry', async () => {
      const { fence, ids } = await plannedJob(3);
      for (const id of ids) {
        await recordOutcome(store, fence, id, {
          status: 'failed',
          failureReasonType: id === ids[0] ? 'vendor_unknown' : 'missing_configuration',
          failureReason: id === ids[0] ? 'vendor' : 'Account 6010 missing',
        });
      }
      expect(await store.topFailures(ref, 5)).toEqual([
        { failureReasonType: 'missing_configuration', failureReason: 'Account 6010 missing', count: 2 },
        { failureReasonType: 'vendor_unknown', failureReason: 'vendor', count: 1 },
      ]);
      expect(await store.listItems(ref, { states: ['failed'], limit: 1 })).toHaveLength(1);
      const found = await store.findItemsByEntry(ids[0]!);
      expect(found).toHaveLength(1);
      expect(found[0]?.failureReasonType).toBe('vendor_unknown');
      // A failed item keeps its payload, so `retry` can map it again with a fixed configuration.
      expect(found[0]?.payload?.accountingEntryId).toBe(ids[0]);
    });

    it('keeps an audit trail of every step, written with the step, until pruned', async () => {
      await store.upsertJob(snapshot());
      const fence = await store.acquireJob(ref, 'w1');
      const [a, b, c, d] = [entry(1), entry(2), entry(3), entry(4)];
      await store.saveListedPage(fence, {
        items: [
          { accountingEntryId: a, status: 'pending' },
          { accountingEntryId: b, status: 'pending' },
          { accountingEntryId: c, status: 'pending' },
          { accountingEntryId: d, status: 'successful', externalId: 'PRE' },
        ],
        cursor: null,
        complete: true,
      });
      const withReceipt: FetchedItem = {
        ...fetched(a, '2026-01-03T00:00:00.000Z'),
        payload: {
          accountingEntryId: a,
          date: '2026-01-03T00:00:00.000Z',
          amount: { inWalletCurrency: { value: 12345, currency: 'DKK' } },
        } as unknown as ExportItem,
        attachments: [
          { key: `${a}-0`, path: '/tmp/r.pdf', name: 'r.pdf', contentType: 'application/pdf', size: 42 },
        ],
      };
      // c never gets its data: planned with a visible failure.
      await store.saveFetchedPage(fence, {
        items: [withReceipt, fetched(b, '2026-01-02T00:00:00.000Z')],
        cursor: null,
        complete: true,
      });
      const entryShape = { postings: [{ account: '6000', amount: { currency: 'DKK', value: 100 } }] };
      await markBooking(store, fence, a, 1, { entry: entryShape });
      // A takeover: the intent stands, the new run finds the entry by lookup.
      const again = await store.acquireJob(ref, 'w2');
      await markBooking(store, again, b, 1);
      await recordOutcome(store, again, a, {
        status: 'booked',
        externalId: 'E1',
        externalUrl: 'https://erp.example/E1',
        exportedAt: '2026-02-01T00:00:00.000Z',
        resolvedBy: 'lookup',
      });
      await recordOutcome(store, again, b, {
        status: 'failed',
        failureReasonType: 'missing_configuration',
        failureReason: 'Account 6010 missing',
      });
      await store.markReportRejected(again, [{ accountingEntryId: a, message: 'busy' }]);
      await store.markReported(again, [
        { accountingEntryId: a, pleoStatus: 'successful' },
        { accountingEntryId: b, pleoStatus: 'failed' },
      ]);

      const trail = await store.auditTrail(a);
      expect(trail.map((e) => e.step)).toEqual([
        'listed',
        'data_fetched',
        'receipts_stored',
        'intent',
        'booked',
        'report_rejected',
        'reported',
      ]);
      expect(
        trail.every((e) => e.companyId === COMPANY && e.jobId === JOB && e.accountingEntryId === a),
      ).toBe(true);
      expect(trail.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
      expect(trail[0]?.detail).toMatchObject({ pleoStatus: 'pending', skipped: false });
      expect(trail[1]).toMatchObject({ attempt: 0, detail: { date: '2026-01-03T00:00:00.000Z' } });
      expect(trail[2]?.detail).toEqual({
        receipts: [{ name: 'r.pdf', contentType: 'application/pdf', size: 42 }],
      });
      expect(trail[3]).toMatchObject({ attempt: 1, detail: { entry: entryShape } });
      expect(trail[4]).toMatchObject({
        attempt: 1,
        detail: { externalId: 'E1', externalUrl: 'https://erp.example/E1', resolvedBy: 'lookup' },
      });
      expect(trail[5]?.detail).toMatchObject({ message: 'busy', giveUp: false });
      expect(trail[6]?.detail).toMatchObject({ pleoStatus: 'successful' });

      expect((await store.auditTrail(b)).map((e) => [e.step, e.attempt])).toEqual([
        ['listed', 0],
        ['data_fetched', 0],
        ['intent', 1],
        ['failed', 1],
        ['reported', 1],
      ]);
      expect((await store.auditTrail(b)).find((e) => e.step === 'intent')?.detail).toEqual({});
      expect((await store.auditTrail(b)).find((e) => e.step === 'failed')?.detail).toEqual({
        failureReasonType: 'missing_configuration',
        failureReason: 'Account 6010 missing',
      });
      const missing = await store.auditTrail(c);
      expect(missing.map((e) => e.step)).toEqual(['listed', 'data_fetched']);
      expect(missing[1]?.detail).toMatchObject({
        missing: true,
        prefailure: { failureReasonType: 'unexpected_failure' },
      });
      expect((await store.auditTrail(d)).map((e) => [e.step, e.detail['skipped']])).toEqual([
        ['listed', true],
      ]);

      // The same entry in a later job: its trail spans both jobs, and says where it was booked.
      const job2 = { companyId: COMPANY, jobId: entry(500) };
      await store.upsertJob(snapshot({ ...job2, createdAt: '2026-01-05T00:00:00.000Z' }));
      const f2 = await store.acquireJob(job2, 'w1');
      await store.saveListedPage(f2, {
        items: [{ accountingEntryId: a, status: 'pending' }],
        cursor: null,
        complete: true,
      });
      await store.saveFetchedPage(f2, {
        items: [fetched(a, '2026-01-03T00:00:00.000Z')],
        cursor: null,
        complete: true,
      });
      await recordOutcome(store, f2, a, {
        status: 'booked',
        externalId: 'E1',
        externalUrl: null,
        exportedAt: '2026-02-01T00:00:00.000Z',
      });
      const second = await store.auditTrail(a, { jobId: job2.jobId });
      expect(second.map((e) => e.step)).toEqual(['listed', 'data_fetched', 'booked']);
      expect(second[2]?.detail).toMatchObject({ bookedInJob: JOB });
      expect(await store.auditTrail(a, { companyId: COMPANY })).toHaveLength(trail.length + 3);
      expect(await store.auditTrail(a, { companyId: entry(77) })).toEqual([]);

      // Amounts as fetched, and failures found by type.
      const listed = await store.listItems(ref);
      expect(listed.find((i) => i.accountingEntryId === a)?.amount).toEqual({
        value: 12345,
        currency: 'DKK',
      });
      expect(listed.find((i) => i.accountingEntryId === b)?.amount).toBeNull();
      expect(
        (await store.listItems(ref, { failureReasonType: 'missing_configuration' })).map(
          (i) => i.accountingEntryId,
        ),
      ).toEqual([b]);
      expect(await store.listItems(ref, { failureReasonType: 'vendor_unknown' })).toEqual([]);

      // A counted summary for progress: fetched = items with their data (or found without).
      expect((await store.counts(ref)).fetched).toBe(3);

      // Retention: nothing older than the epoch; everything older than the far future.
      expect(await store.pruneAudit('2000-01-01T00:00:00.000Z')).toBe(0);
      const all = (await store.auditTrail(a)).length + (await store.auditTrail(b)).length;
      const pruned = await store.pruneAudit('9999-01-01T00:00:00.000Z');
      expect(pruned).toBeGreaterThanOrEqual(all);
      expect(await store.auditTrail(a)).toEqual([]);
    });

    it('writes no audit event for a write refused by a stale fence', async () => {
      const { fence: stale, ids } = await plannedJob(2);
      const before = await store.auditTrail(ids[0]!);
      await store.acquireJob(ref, 'w2');
      await expect(markBooking(store, stale, ids[0]!, 1)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        recordOutcome(store, stale, ids[1]!, {
          status: 'failed',
          failureReasonType: 'unexpected_failure',
          failureReason: 'stale',
        }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.auditTrail(ids[0]!)).toEqual(before);
      expect((await store.auditTrail(ids[1]!)).map((e) => e.step)).not.toContain('failed');
    });

    it('remembers webhook ids and key-value records', async () => {
      expect(await store.rememberWebhook('msg_1', '2026-01-01T00:00:00Z')).toBe(true);
      expect(await store.rememberWebhook('msg_1', '2026-01-01T00:00:01Z')).toBe(false);
      expect(await store.getValue('k')).toBeNull();
      await store.setValue('k', 'v1');
      await store.setValue('k', 'v2');
      expect(await store.getValue('k')).toBe('v2');
      await store.setValue('k', null);
      expect(await store.getValue('k')).toBeNull();
    });

    it('replaces a key-value record only while it holds the expected value (compare and set)', async () => {
      expect(await store.replaceValue('cas', 'a', 'b')).toBe(false); // absent: nothing created
      expect(await store.getValue('cas')).toBeNull();
      await store.setValue('cas', 'a');
      expect(await store.replaceValue('cas', 'x', 'b')).toBe(false);
      expect(await store.getValue('cas')).toBe('a');
      expect(await store.replaceValue('cas', 'a', 'b')).toBe(true);
      expect(await store.getValue('cas')).toBe('b');
    });

    const withFaults = options.withCommitFaults;
    if (withFaults) {
      it('a retried transaction body changes everything once: lost COMMIT acknowledgements and serialization failures', async () => {
        let armed: 'before' | 'after' | null = null;
        let fired = 0;
        const fire = (when: 'before' | 'after', attempt: number): void => {
          if (armed !== when || attempt !== 1) return;
          armed = null;
          fired++;
          throw when === 'after'
            ? new Error('Connection terminated unexpectedly') // the COMMIT went through; its answer did not
            : Object.assign(new Error('could not serialize access due to concurrent update'), {
                code: '40001',
              });
        };
        const faulty = await withFaults({
          beforeCommit: (attempt) => fire('before', attempt),
          afterCommit: (attempt) => fire('after', attempt),
        });
        await faulty.migrate();
        try {
          const once = async <T>(when: 'before' | 'after', write: () => Promise<T>): Promise<T> => {
            armed = when;
            const before = fired;
            const result = await write();
            expect(fired).toBe(before + 1);
            return result;
          };
          await faulty.upsertJob(snapshot());
          const fence = await faulty.acquireJob(ref, 'w1');
          const [a, b, c] = [entry(1), entry(2), entry(3)];
          for (const when of ['after', 'before'] as const) {
            expect(
              await once(when, () =>
                faulty.saveListedPage(fence, {
                  items: [a, b, c].map((id) => ({ accountingEntryId: id, status: 'pending' as const })),
                  cursor: `L-${when}`,
                  complete: true,
                }),
              ),
            ).toEqual({ inserted: when === 'after' ? 3 : 0, reconciled: 0 });
          }
          expect(
            await once('after', () =>
              faulty.saveFetchedPage(fence, {
                items: [fetched(a, '2026-01-01T00:00:00.000Z'), fetched(b, '2026-01-02T00:00:00.000Z')],
                cursor: 'F',
                complete: true,
              }),
            ),
          ).toEqual({ stored: 2, unknown: [] });
          expect(await once('after', () => faulty.updateJob(fence, { dataCursor: 'F2' }))).toMatchObject({
            phase: 'planned',
            dataCursor: 'F2',
          });
          await once('after', () => markBooking(faulty, fence, a, 1));
          await once('before', () => markBooking(faulty, fence, b, 1));
          await once('after', () =>
            recordOutcome(faulty, fence, a, {
              status: 'booked',
              externalId: 'EA',
              externalUrl: null,
              exportedAt: 't',
            }),
          );
          await once('before', () =>
            recordOutcome(faulty, fence, b, {
              status: 'failed',
              failureReasonType: 'vendor_unknown',
              failureReason: 'r',
            }),
          );
          await once('after', () =>
            faulty.markReportRejected(fence, [{ accountingEntryId: a, message: 'busy' }]),
          );
          await once('before', () =>
            faulty.markReportRejected(fence, [{ accountingEntryId: b, message: 'busy' }]),
          );
          await once('after', () =>
            faulty.markReportRejected(fence, [{ accountingEntryId: b, message: 'again' }]),
          );
          await once('after', () =>
            faulty.markReported(fence, [{ accountingEntryId: a, pleoStatus: 'successful' }]),
          );
          // b's report was accepted before a crash: the re-listing reconciles it, once.
          expect(
            await once('after', () =>
              faulty.saveListedPage(fence, {
                items: [{ accountingEntryId: b, status: 'failed' }],
                cursor: 'L2',
                complete: true,
              }),
            ),
          ).toEqual({ inserted: 0, reconciled: 1 });

          const items = await faulty.listItems(ref);
          const item = (id: string) => items.find((i) => i.accountingEntryId === id);
          expect(item(a)).toMatchObject({ state: 'booked', attempt: 1, reportAttempts: 1, reported: true });
          expect(item(b)).toMatchObject({ state: 'failed', attempt: 1, reportAttempts: 2, reported: true });
          expect(item(c)).toMatchObject({
            state: 'planned',
            seq: 3,
            prefailure: { failureReasonType: 'unexpected_failure' },
          });
          expect((await faulty.auditTrail(a)).map((e) => e.step)).toEqual([
            'listed',
            'data_fetched',
            'intent',
            'booked',
            'report_rejected',
            'reported',
          ]);
          expect((await faulty.auditTrail(b)).map((e) => e.step)).toEqual([
            'listed',
            'data_fetched',
            'intent',
            'failed',
            'report_rejected',
            'report_rejected',
            'reconciled',
          ]);
          expect((await faulty.auditTrail(c)).map((e) => e.step)).toEqual(['listed', 'data_fetched']);
          expect(await faulty.counts(ref)).toMatchObject({ total: 3, reported: 2, successful: 1, failed: 1 });
          expect(await faulty.getJob(ref)).toMatchObject({
            fenceToken: fence.token,
            runs: 1,
            listCursor: 'L2',
          });
        } finally {
          await faulty.close();
        }
      });
    }
  });
}
