/**
 * The adapter conformance suite. Every `AccountingAdapter` (hledger, http, memory, and each new
 * adapter such as Tryton, Xero or DATEV) runs it from its own test file:
 *
 *     runAdapterContract('tryton', async () => ({ adapter, countBookings, faults: {...}, ... }));
 *
 * The factory returns a fresh, empty backing store per test and a `ContractSubject`. Only
 * `adapter` is required; every other member unlocks more checks, and an adapter should provide
 * all it can (a missing capability skips that check: say why in the adapter's test file).
 *
 * Observing the backing store (read independently of the adapter: the file, the ERP's database):
 * - `countBookings(key)`: how many entries the system holds for a key (the exactly-once check);
 * - `linkedReceipts(key)`: the receipts linked to that entry (names or keys, one per file);
 * - `reopen()`: close and open a new adapter on the same backing store (a restart);
 * - `sibling()`: a second adapter on the same backing store, as another worker process holds it
 *   (required when `adapter.supportsScaleOut`: concurrent writers must book a key once);
 * - `cleanup()`: called after each test (after `adapter.close()`), e.g. to run `hledger check`.
 *
 * Faults (`faults`), each applying to the next write only:
 * - `transient()`: the write fails before the system applies it (unreachable, 5xx, 429, timeout);
 *   `record` must throw a retryable `AccountingSystemError`, and nothing is booked;
 * - `jobFailure()`: the write fails for the whole job (credentials revoked, books damaged or
 *   locked); `record` must throw a non-retryable `AccountingSystemError` that
 *   `classifyAccountingError` takes for a job failure with one of Pleo's job failure types;
 *   nothing is booked;
 * - `loseAnswer()`: the system applies the write but the answer never reaches the caller (a
 *   dropped connection, a crash after the commit); `record` must throw a retryable error, then
 *   `findExisting` must find the entry and a second `record` must return it, not book again.
 *   For HTTP adapters wrap `AdapterDeps.fetch` with `faultyFetch()` (`faulty-fetch.ts`);
 * - `duringNextWrite(run)`: calls `run` while the next write is under way (between the request
 *   and its answer, between two halves of a file write); the suite aborts the write's
 *   `AbortSignal` there. Without it the signal is aborted right after `record` is called.
 *
 * Refusals:
 * - `itemRefusal(entry)`: turns a valid entry into one this system refuses item by item, with the
 *   Pleo item failure type expected (e.g. an unknown account → `account_unknown`);
 * - `breakValidation()`: makes `validate` fail (wrong credentials, an unreachable system); returns
 *   the adapter to validate when a new one is needed. `validate` must answer `{ok:false}` with a
 *   Pleo job failure type and a reason, never throw.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import {
  classifyAccountingError,
  type AccountingAdapter,
  type RecordOutcome,
  type StoredAttachment,
} from '../../src/adapters/index.js';
import type { ExportJobItemFailureReasonType } from '../../src/client/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import spec from '../../src/generated/export-v3.spec.json' with { type: 'json' };

export interface ContractFaults {
  transient?: () => void | Promise<void>;
  jobFailure?: () => void | Promise<void>;
  loseAnswer?: () => void | Promise<void>;
  duringNextWrite?: (run: () => void) => void;
}

export interface ContractSubject {
  adapter: AccountingAdapter;
  reopen?: () => Promise<AccountingAdapter>;
  sibling?: () => Promise<AccountingAdapter>;
  countBookings?: (key: string) => Promise<number>;
  /** The receipts the backing store links to the entry of a key (names or keys, one per file). */
  linkedReceipts?: (key: string) => Promise<string[]>;
  cleanup?: () => Promise<void>;
  faults?: ContractFaults;
  itemRefusal?: (entry: AccountingEntry) => {
    entry: AccountingEntry;
    failureReasonType: ExportJobItemFailureReasonType;
  };
  breakValidation?: () => Promise<AccountingAdapter | void>;
}

const schemas = spec.components.schemas as unknown as Record<string, { enum?: string[] }>;
/** Pleo's enums, from the Export API's own OpenAPI file. */
const JOB_FAILURE_TYPES = schemas['ExportJobFailureReasonType']?.enum ?? [];
const ITEM_FAILURE_TYPES = schemas['ExportJobItemFailureReasonType']?.enum ?? [];

/** `record`'s outcome, or the error it threw. */
async function settle(promise: Promise<RecordOutcome>): Promise<RecordOutcome | { error: unknown }> {
  return promise.then(
    (outcome) => outcome,
    (error: unknown) => ({ error }),
  );
}

export type ContractFactory = () => Promise<ContractSubject>;

const COMPANY = '11111111-1111-4111-8111-111111111111';
let seq = 0;

/** A small balanced entry (125.00 EUR incl. 25.00 VAT) with a fresh id. */
export function contractEntry(overrides: Partial<AccountingEntry> = {}): AccountingEntry {
  seq += 1;
  const id = `cccccccc-0000-4000-8000-${String(seq).padStart(12, '0')}`;
  return {
    accountingEntryId: id,
    jobId: 'dddddddd-0000-4000-8000-000000000001',
    companyId: COMPANY,
    date: '2026-03-10',
    kind: 'journal',
    method: 'journal',
    itemType: 'card_purchase',
    description: `Contract test ${seq}`,
    reconciliationId: `R-${seq}`,
    reconciledEntries: [],
    attendees: [],
    currency: 'EUR',
    posting: 'draft',
    files: [],
    metadata: {},
    postings: [
      {
        account: '6010',
        amount: { currency: 'EUR', value: 10000 },
        dimensions: { dept: 'Sales' },
        role: 'expense',
      },
      { account: '2640', amount: { currency: 'EUR', value: 2500 }, dimensions: {}, role: 'tax' },
      { account: '1920', amount: { currency: 'EUR', value: -12500 }, dimensions: {}, role: 'contra' },
    ],
    ...overrides,
  };
}

async function receipt(key: string): Promise<StoredAttachment> {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-contract-'));
  const path = join(dir, `${key}.pdf`);
  await writeFile(path, '%PDF-1.4\n% contract test receipt\n');
  return { key, path, name: 'receipt.pdf', contentType: 'application/pdf', size: 33 };
}

export function runAdapterContract(name: string, factory: ContractFactory): void {
  describe(`adapter contract: ${name}`, () => {
    let subject: ContractSubject | undefined;
    let current: AccountingAdapter | undefined;
    const open = async (): Promise<ContractSubject> => {
      subject = await factory();
      current = subject.adapter;
      return subject;
    };
    const ctx = (key: string, attachments: StoredAttachment[] = []) => ({
      companyId: COMPANY,
      idempotencyKey: key,
      attachments,
    });

    afterEach(async () => {
      await current?.close();
      await subject?.cleanup?.();
      subject = undefined;
      current = undefined;
    });

    it('describes itself and validates', async () => {
      const { adapter } = await open();
      expect(typeof adapter.name).toBe('string');
      expect(typeof adapter.supportsScaleOut).toBe('boolean');
      expect(await adapter.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({
        ok: true,
      });
    });

    it('finds nothing for an unknown key', async () => {
      const { adapter } = await open();
      expect(
        await adapter.findExisting('eeeeeeee-0000-4000-8000-000000000000', { companyId: COMPANY }),
      ).toBeNull();
    });

    it('records an entry and finds it by its key', async () => {
      const { adapter, countBookings } = await open();
      const entry = contractEntry();
      const outcome = await adapter.record(entry, ctx(entry.accountingEntryId));
      expect(outcome.status).toBe('booked');
      if (outcome.status !== 'booked') return;
      expect(outcome.externalId).toMatch(/\S/);
      expect(Number.isNaN(Date.parse(outcome.recordedAt))).toBe(false);
      const found = await adapter.findExisting(entry.accountingEntryId, { companyId: COMPANY });
      expect(found?.externalId).toBe(outcome.externalId);
      if (countBookings) expect(await countBookings(entry.accountingEntryId)).toBe(1);
    });

    it('recording the same key again returns the existing entry, never a second one', async () => {
      const { adapter, countBookings } = await open();
      const entry = contractEntry();
      const first = await adapter.record(entry, ctx(entry.accountingEntryId));
      const again = await adapter.record(
        { ...entry, description: 'changed on re-export' },
        ctx(entry.accountingEntryId),
      );
      expect(again.status).toBe('booked');
      expect(
        again.status === 'booked' && first.status === 'booked' && again.externalId === first.externalId,
      ).toBe(true);
      if (countBookings) expect(await countBookings(entry.accountingEntryId)).toBe(1);
    });

    it('concurrent records of one key book it once', async () => {
      const { adapter, countBookings } = await open();
      const entry = contractEntry();
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => adapter.record(entry, ctx(entry.accountingEntryId))),
      );
      const ids = new Set(outcomes.map((o) => (o.status === 'booked' ? o.externalId : 'failed')));
      expect([...ids]).toHaveLength(1);
      expect(ids.has('failed')).toBe(false);
      if (countBookings) expect(await countBookings(entry.accountingEntryId)).toBe(1);
    });

    it('many different keys get distinct external ids, each findable', async () => {
      const { adapter } = await open();
      const entries = Array.from({ length: 40 }, () => contractEntry());
      const outcomes = await Promise.all(entries.map((e) => adapter.record(e, ctx(e.accountingEntryId))));
      const ids = outcomes.map((o) => (o.status === 'booked' ? o.externalId : ''));
      expect(new Set(ids).size).toBe(entries.length);
      for (const [i, e] of entries.entries()) {
        expect((await adapter.findExisting(e.accountingEntryId, { companyId: COMPANY }))?.externalId).toBe(
          ids[i],
        );
      }
    });

    describe('recordBatch (adapters that offer it)', () => {
      const batchOf = (entries: AccountingEntry[], files: Map<string, StoredAttachment[]> = new Map()) =>
        entries.map((entry) => ({
          entry,
          idempotencyKey: entry.accountingEntryId,
          attachments: files.get(entry.accountingEntryId) ?? [],
        }));

      it('books every entry once with one answer per entry, in order, each findable', async () => {
        const s = await open();
        if (!s.adapter.recordBatch) return;
        const entries = Array.from({ length: 12 }, () => contractEntry());
        const results = await s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY });
        expect(results).toHaveLength(entries.length);
        const ids = results.map((r) =>
          r.status === 'fulfilled' && r.value.status === 'booked' ? r.value.externalId : '',
        );
        expect(ids.filter((id) => id === '')).toEqual([]);
        expect(new Set(ids).size).toBe(entries.length);
        for (const [i, e] of entries.entries()) {
          const found = await s.adapter.findExisting(e.accountingEntryId, { companyId: COMPANY });
          expect(found?.externalId).toBe(ids[i]);
          if (s.countBookings) expect(await s.countBookings(e.accountingEntryId)).toBe(1);
        }
      });

      it('a batch repeated (a retry after a lost answer) and a record racing it book nothing new', async () => {
        const s = await open();
        if (!s.adapter.recordBatch) return;
        const entries = Array.from({ length: 6 }, () => contractEntry());
        const raced = entries[2]!;
        const [first, racing] = await Promise.all([
          s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY }),
          s.adapter.record(raced, ctx(raced.accountingEntryId)),
        ]);
        const again = await s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY });
        const idsOf = (results: PromiseSettledResult<RecordOutcome>[]) =>
          results.map((r) =>
            r.status === 'fulfilled' && r.value.status === 'booked' ? r.value.externalId : '',
          );
        expect(idsOf(again)).toEqual(idsOf(first));
        expect(racing.status === 'booked' && racing.externalId).toBe(idsOf(first)[2]);
        if (s.countBookings)
          for (const e of entries) expect(await s.countBookings(e.accountingEntryId)).toBe(1);
      });

      it('an entry refused in a batch fails alone; the others are booked', async () => {
        const s = await open();
        if (!s.adapter.recordBatch || !s.itemRefusal) return;
        const { entry: refused, failureReasonType } = s.itemRefusal(contractEntry());
        const entries = [contractEntry(), refused, contractEntry()];
        const results = await s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY });
        expect(results[1]).toMatchObject({
          status: 'fulfilled',
          value: { status: 'failed', failureReasonType },
        });
        for (const i of [0, 2])
          expect(results[i]).toMatchObject({ status: 'fulfilled', value: { status: 'booked' } });
        expect(await s.adapter.findExisting(refused.accountingEntryId, { companyId: COMPANY })).toBeNull();
      });

      it('links the receipts of every entry, staged or not', async () => {
        const s = await open();
        if (!s.adapter.recordBatch) return;
        const entries = Array.from({ length: 3 }, () =>
          contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 33 }] }),
        );
        const files = new Map<string, StoredAttachment[]>();
        for (const e of entries) files.set(e.accountingEntryId, [await receipt(`${e.accountingEntryId}-0`)]);
        const staged = entries[1]!;
        await s.adapter.stageAttachments?.(files.get(staged.accountingEntryId)!, {
          companyId: COMPANY,
          idempotencyKey: staged.accountingEntryId,
        });
        const results = await s.adapter.recordBatch(batchOf(entries, files), { companyId: COMPANY });
        for (const r of results)
          expect(r).toMatchObject({ status: 'fulfilled', value: { status: 'booked' } });
        if (s.linkedReceipts)
          for (const e of entries) expect(await s.linkedReceipts(e.accountingEntryId)).toHaveLength(1);
      });

      it('a transient fault of the write rejects or throws retryably, and a retry books each entry once', async () => {
        const s = await open();
        const transient = s.faults?.transient;
        if (!s.adapter.recordBatch || !transient) return;
        const entries = Array.from({ length: 4 }, () => contractEntry());
        await transient();
        const failed = await s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY }).then(
          (results) => results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown),
          (error: unknown) => [error],
        );
        expect(failed.length).toBeGreaterThan(0);
        for (const error of failed) expect(classifyAccountingError(error).kind).toBe('transient');
        const results = await s.adapter.recordBatch(batchOf(entries), { companyId: COMPANY });
        for (const r of results)
          expect(r).toMatchObject({ status: 'fulfilled', value: { status: 'booked' } });
        if (s.countBookings)
          for (const e of entries) expect(await s.countBookings(e.accountingEntryId)).toBe(1);
      });
    });

    it('links attachments', async () => {
      const s = await open();
      const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 33 }] });
      const outcome = await s.adapter.record(
        entry,
        ctx(entry.accountingEntryId, [await receipt(`${entry.accountingEntryId}-0`)]),
      );
      expect(outcome.status).toBe('booked');
      if (s.linkedReceipts) expect(await s.linkedReceipts(entry.accountingEntryId)).toHaveLength(1);
    });

    it('receipts staged ahead (twice) are linked by record once, like unstaged ones', async () => {
      const s = await open();
      const stage = s.adapter.stageAttachments?.bind(s.adapter);
      if (stage === undefined) return;
      const entry = contractEntry({
        files: [
          { index: 0, contentType: 'application/pdf', size: 33 },
          { index: 1, contentType: 'application/pdf', size: 33 },
        ],
      });
      const key = entry.accountingEntryId;
      const files = [await receipt(`${key}-0`), await receipt(`${key}-1`)];
      expect(await stage(files, { companyId: COMPANY, idempotencyKey: key })).toBeNull();
      expect(await stage(files, { companyId: COMPANY, idempotencyKey: key })).toBeNull();
      const outcome = await s.adapter.record(entry, ctx(key, files));
      expect(outcome.status).toBe('booked');
      if (s.linkedReceipts) expect((await s.linkedReceipts(key)).sort()).toHaveLength(2);
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
      // Recording again (a retry after a lost answer) neither books nor links anything twice.
      const again = await s.adapter.record(entry, ctx(key, files));
      expect(again.status === 'booked' && outcome.status === 'booked' && again.externalId).toBe(
        outcome.status === 'booked' ? outcome.externalId : 'unreachable',
      );
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
    });

    it('a receipt that cannot be staged refuses the item as receipt_upload_failure, booking nothing', async () => {
      const s = await open();
      const stage = s.adapter.stageAttachments?.bind(s.adapter);
      if (stage === undefined) return;
      const entry = contractEntry();
      const key = entry.accountingEntryId;
      const missing: StoredAttachment = {
        key: `${key}-0`,
        path: join(tmpdir(), `pleo-contract-missing-${key}.pdf`),
        name: 'gone.pdf',
        contentType: 'application/pdf',
        size: 33,
      };
      const refused = await stage([missing], { companyId: COMPANY, idempotencyKey: key });
      expect(refused).toMatchObject({ status: 'failed', failureReasonType: 'receipt_upload_failure' });
      expect(refused?.failureReason).toContain('gone.pdf');
      expect(await s.adapter.findExisting(key, { companyId: COMPANY })).toBeNull();
    });

    it('keeps entries across a restart (reopen) when the adapter supports it', async () => {
      const s = await open();
      if (!s.reopen) return;
      const entry = contractEntry();
      const first = await s.adapter.record(entry, ctx(entry.accountingEntryId));
      const reopened = await s.reopen();
      current = reopened;
      const found = await reopened.findExisting(entry.accountingEntryId, { companyId: COMPANY });
      expect(first.status === 'booked' && found?.externalId === first.externalId).toBe(true);
      const again = await reopened.record(entry, ctx(entry.accountingEntryId));
      expect(
        again.status === 'booked' && first.status === 'booked' && again.externalId === first.externalId,
      ).toBe(true);
      if (s.countBookings) expect(await s.countBookings(entry.accountingEntryId)).toBe(1);
    });

    it('idempotency under concurrency: many concurrent records of one key (some re-exported with changes) book one entry', async () => {
      const s = await open();
      const entry = contractEntry();
      const key = entry.accountingEntryId;
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          s.adapter.record(i % 3 === 0 ? entry : { ...entry, description: `re-export ${i}` }, ctx(key)),
        ),
      );
      const ids = new Set(outcomes.map((o) => (o.status === 'booked' ? o.externalId : 'failed')));
      expect([...ids]).toHaveLength(1);
      expect(ids.has('failed')).toBe(false);
      expect((await s.adapter.findExisting(key, { companyId: COMPANY }))?.externalId).toBe([...ids][0]);
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
    });

    it('idempotency across writers: a scale-out adapter and a sibling on the same system book a key once', async () => {
      const s = await open();
      if (!s.adapter.supportsScaleOut) return;
      // An adapter that claims scale-out must let the suite prove it with a second writer.
      expect(s.sibling, 'supportsScaleOut adapters must provide sibling()').toBeDefined();
      if (!s.sibling) return;
      const other = await s.sibling();
      try {
        const entry = contractEntry();
        const key = entry.accountingEntryId;
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? s.adapter : other).record(entry, ctx(key))),
        );
        const ids = new Set(outcomes.map((o) => (o.status === 'booked' ? o.externalId : 'failed')));
        expect([...ids]).toHaveLength(1);
        expect(ids.has('failed')).toBe(false);
        if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('lost answer: applied, answer lost → the caller gets a retryable error, findExisting finds it, a retry books nothing new', async () => {
      const s = await open();
      const lose = s.faults?.loseAnswer;
      if (!lose) return;
      const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 33 }] });
      const key = entry.accountingEntryId;
      const files = [await receipt(`${key}-0`)];
      await lose();
      const lost = await settle(s.adapter.record(entry, ctx(key, files)));
      expect('error' in lost, 'a lost answer cannot look like a success').toBe(true);
      if (!('error' in lost)) return;
      expect(lost.error).toBeInstanceOf(AccountingSystemError);
      expect((lost.error as AccountingSystemError).retryable).toBe(true);
      const found = await s.adapter.findExisting(key, { companyId: COMPANY });
      expect(found, 'the applied write must be found by its key').not.toBeNull();
      const again = await s.adapter.record(entry, ctx(key, files));
      expect(again.status === 'booked' && again.externalId).toBe(found?.externalId);
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
      if (s.linkedReceipts) expect(await s.linkedReceipts(key)).toHaveLength(1);
    });

    it('error classification: a transient failure throws a retryable AccountingSystemError and books nothing', async () => {
      const s = await open();
      const transient = s.faults?.transient;
      if (!transient) return;
      const entry = contractEntry();
      const key = entry.accountingEntryId;
      await transient();
      const failed = await settle(s.adapter.record(entry, ctx(key)));
      expect('error' in failed).toBe(true);
      if (!('error' in failed)) return;
      expect(failed.error).toBeInstanceOf(AccountingSystemError);
      expect((failed.error as AccountingSystemError).retryable).toBe(true);
      // The fault policy retries it and, should the retries run out, defers the run: never a failure.
      expect(classifyAccountingError(failed.error).kind).toBe('transient');
      expect(await s.adapter.findExisting(key, { companyId: COMPANY })).toBeNull();
      if (s.countBookings) expect(await s.countBookings(key)).toBe(0);
      const retried = await s.adapter.record(entry, ctx(key));
      expect(retried.status).toBe('booked');
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
    });

    it('error classification: an entry the system refuses is an item failure with a Pleo item failure type', async () => {
      const s = await open();
      if (!s.itemRefusal) return;
      const { entry, failureReasonType } = s.itemRefusal(contractEntry());
      const key = entry.accountingEntryId;
      expect(ITEM_FAILURE_TYPES).toContain(failureReasonType);
      const outcome = await s.adapter.record(entry, ctx(key));
      expect(outcome).toMatchObject({ status: 'failed', failureReasonType });
      expect(outcome.status === 'failed' && outcome.failureReason).toMatch(/\S{3}/);
      expect(await s.adapter.findExisting(key, { companyId: COMPANY })).toBeNull();
      if (s.countBookings) expect(await s.countBookings(key)).toBe(0);
      // A valid entry still books: the refusal concerned that item only.
      const next = contractEntry();
      expect((await s.adapter.record(next, ctx(next.accountingEntryId))).status).toBe('booked');
    });

    it('error classification: a job failure throws a non-retryable AccountingSystemError mapped to a Pleo job failure type', async () => {
      const s = await open();
      const jobFailure = s.faults?.jobFailure;
      if (!jobFailure) return;
      const first = contractEntry();
      expect((await s.adapter.record(first, ctx(first.accountingEntryId))).status).toBe('booked');
      const entry = contractEntry();
      await jobFailure();
      const failed = await settle(s.adapter.record(entry, ctx(entry.accountingEntryId)));
      expect('error' in failed).toBe(true);
      if (!('error' in failed)) return;
      expect(failed.error).toBeInstanceOf(AccountingSystemError);
      expect((failed.error as AccountingSystemError).retryable).toBe(false);
      const fault = classifyAccountingError(failed.error);
      expect(fault.kind).toBe('job');
      if (fault.kind === 'job') expect(JOB_FAILURE_TYPES).toContain(fault.failureReasonType);
      if (s.countBookings) expect(await s.countBookings(entry.accountingEntryId)).toBe(0);
    });

    it('validate: a broken connection or configuration is a refusal with a Pleo job failure type, or a classified fault', async () => {
      const s = await open();
      if (!s.breakValidation) return;
      const broken = (await s.breakValidation()) ?? s.adapter;
      try {
        // A refusal (`ok: false`) fails the job; a thrown fault follows the fault policy: a
        // transient one is retried, a job one fails the job with its type. Nothing else is allowed.
        const answer = await broken.validate({ companyId: COMPANY, vendorBasedBookkeeping: false }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        if ('error' in answer) {
          expect(answer.error).toBeInstanceOf(AccountingSystemError);
          const fault = classifyAccountingError(answer.error);
          expect(fault.kind).not.toBe('item');
          if (fault.kind === 'job') expect(JOB_FAILURE_TYPES).toContain(fault.failureReasonType);
          return;
        }
        const result = answer.value;
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(JOB_FAILURE_TYPES).toContain(result.failureReasonType);
        expect(result.failureReason).toMatch(/\S{3}/);
      } finally {
        if (broken !== s.adapter) await broken.close();
      }
    });

    it('abort mid-write: the entry is either not written or found by its key, never half-written or doubled', async () => {
      const s = await open();
      const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 33 }] });
      const key = entry.accountingEntryId;
      const files = [await receipt(`${key}-0`)];
      const controller = new AbortController();
      const abort = (): void => controller.abort(new Error('shutdown'));
      if (s.faults?.duringNextWrite) s.faults.duringNextWrite(abort);
      const writing = settle(s.adapter.record(entry, { ...ctx(key, files), signal: controller.signal }));
      if (!s.faults?.duringNextWrite) abort();
      const aborted = await writing;
      if ('error' in aborted) {
        // Cancelled: an AccountingSystemError the engine retries later (or resolves by lookup).
        expect(aborted.error).toBeInstanceOf(AccountingSystemError);
        expect((aborted.error as AccountingSystemError).retryable).toBe(true);
      } else {
        expect(aborted.status).toBe('booked');
      }
      const found = await s.adapter.findExisting(key, { companyId: COMPANY });
      if (!('error' in aborted) && aborted.status === 'booked')
        expect(found?.externalId).toBe(aborted.externalId);
      // Never doubled (a system may still be committing a write whose caller gave up: at most one).
      if (s.countBookings) expect(await s.countBookings(key)).toBeLessThanOrEqual(1);
      // What the engine does next: record again; whatever the abort left, one entry results.
      const again = await s.adapter.record(entry, ctx(key, files));
      expect(again.status).toBe('booked');
      if (found) expect(again.status === 'booked' && again.externalId).toBe(found.externalId);
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
      if (s.linkedReceipts) expect(await s.linkedReceipts(key)).toHaveLength(1);
    });

    it('attachments are linked once per entry, idempotent by key, across repeated and concurrent records', async () => {
      const s = await open();
      const entry = contractEntry({
        files: [
          { index: 0, contentType: 'application/pdf', size: 33 },
          { index: 1, contentType: 'application/pdf', size: 33 },
        ],
      });
      const key = entry.accountingEntryId;
      const files = [await receipt(`${key}-0`), await receipt(`${key}-1`)];
      const outcomes = await Promise.all([
        s.adapter.record(entry, ctx(key, files)),
        s.adapter.record(entry, ctx(key, files)),
      ]);
      const again = await s.adapter.record(entry, ctx(key, files));
      const ids = new Set([...outcomes, again].map((o) => (o.status === 'booked' ? o.externalId : 'failed')));
      expect([...ids]).toHaveLength(1);
      expect(ids.has('failed')).toBe(false);
      if (s.countBookings) expect(await s.countBookings(key)).toBe(1);
      if (s.linkedReceipts) {
        const linked = await s.linkedReceipts(key);
        expect(linked).toHaveLength(2);
        expect(new Set(linked).size).toBe(2);
      }
    });
  });
}
