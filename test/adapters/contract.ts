/**
 * The adapter conformance suite: every `AccountingAdapter` (hledger, http, the engine's in-memory
 * adapter) runs it through `runAdapterContract(name, factory)`.
 *
 * The factory returns a fresh, empty backing store per test. Optional capabilities:
 * - `reopen()`: close and open a new adapter on the same backing store (a restart);
 * - `countBookings(key)`: how many entries the backing store holds for a key, read independently
 *   of the adapter (the exactly-once check);
 * - `linkedReceipts(key)`: the receipts the backing store links to that entry;
 * - `cleanup()`: called after each test (after `adapter.close()`), e.g. to run `hledger check`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import type { AccountingAdapter, StoredAttachment } from '../../src/adapters/index.js';

export interface ContractSubject {
  adapter: AccountingAdapter;
  reopen?: () => Promise<AccountingAdapter>;
  countBookings?: (key: string) => Promise<number>;
  /** The receipts the backing store links to the entry of a key (names or keys, one per file). */
  linkedReceipts?: (key: string) => Promise<string[]>;
  cleanup?: () => Promise<void>;
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
  });
}
