/**
 * The Xero adapter against Xero's official OpenAPI file: every request goes through Stoplight
 * Prism 5.14.2 (`prism proxy --errors`) to the stateful fake, and any spec violation fails the
 * test. Runs the adapter contract suite, the golden catalogue (same expected results as hledger),
 * receipts, closed periods and lost answers. Prism starts once for the file (it takes a while).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { compileAccountingConfig, mapExportItem, type AccountingEntry } from '../../src/accounting/index.js';
import type { StoredAttachment } from '../../src/adapters/index.js';
import { BASE_CONFIG, GOLDEN } from '../accounting/golden-cases.js';
import { contractEntry, runAdapterContract } from './contract.js';
import { str, XeroFake } from './xero/fake.js';
import { checkedFetch, startPrism, type Prism } from './xero/prism.js';
import { memoryKv, xeroAdapter, type MemoryKv } from './xero/setup.js';

// Prism handles Xero's Invoice operations slowly (about 10 s per call on a loaded 2-core machine:
// the Invoice schemas are large), so the tests of this file get more time than the default.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const COMPANY = '11111111-1111-4111-8111-111111111111';
const fake = new XeroFake();
let prism: Prism;
const violations: string[] = [];
const specFetch = checkedFetch(violations);

beforeAll(async () => {
  await fake.start();
  prism = await startPrism(fake.url);
}, 300_000);

afterAll(async () => {
  await prism?.stop();
  await fake.stop();
});

afterEach(() => {
  // Every request the adapter sent (and every answer) matched Xero's spec.
  expect(violations.splice(0)).toEqual([]);
});

function subject(kv: MemoryKv = memoryKv(), seed?: string, config = {}) {
  return xeroAdapter({ fake, baseUrl: prism.url, kv, fetch: specFetch, ...(seed ? { seed } : {}), config });
}

runAdapterContract('xero (requests validated by Prism against the official spec)', () => {
  fake.reset();
  const kv = memoryKv();
  const seed = fake.issueSeed();
  let { adapter } = subject(kv, seed);
  return Promise.resolve({
    adapter,
    async reopen() {
      await adapter.close();
      ({ adapter } = subject(kv, seed));
      return adapter;
    },
    countBookings: (key) => Promise.resolve(fake.documentsFor(key).length),
    linkedReceipts(key) {
      const [doc] = fake.documentsFor(key);
      const id = str(doc?.['BankTransactionID'] ?? doc?.['InvoiceID'] ?? doc?.['ManualJournalID']);
      return Promise.resolve(fake.attachmentsOf(id).map((a) => a.FileName));
    },
  });
});

/** What Xero books for a stored document: [account, minor units] per ledger line, debit > 0. */
function ledgerOf(
  doc: Record<string, unknown>,
  kind: 'bank' | 'bill' | 'journal',
  exponent: number,
): [string, number][] {
  const minor = (v: unknown): number => Math.round(Number(v) * 10 ** exponent);
  // Xero books a line's TaxAmount on its tax rate's account; INPUT2 is the 2640 input VAT here.
  const TAX_ACCOUNT: Record<string, string> = { INPUT2: '2640' };
  const out: [string, number][] = [];
  if (kind === 'journal') {
    for (const l of doc['JournalLines'] as Record<string, unknown>[])
      out.push([String(l['AccountCode']), minor(l['LineAmount'])]);
    return out;
  }
  const sign = kind === 'bank' && doc['Type'] === 'RECEIVE' ? -1 : 1;
  let total = 0;
  for (const l of doc['LineItems'] as Record<string, unknown>[]) {
    const line = minor(l['LineAmount']);
    const tax = l['TaxAmount'] === undefined ? 0 : minor(l['TaxAmount']);
    out.push([String(l['AccountCode']), sign * line]);
    if (tax !== 0) out.push([TAX_ACCOUNT[String(l['TaxType'])] ?? `tax:${String(l['TaxType'])}`, sign * tax]);
    total += line + tax;
  }
  const counter =
    kind === 'bank' ? `BANK:${String((doc['BankAccount'] as Record<string, unknown>)['Code'])}` : 'AP';
  out.push([counter, -sign * total]);
  return out;
}

const netted = (lines: [string, number][]): [string, number][] => {
  const sums = new Map<string, number>();
  for (const [a, v] of lines) sums.set(a, (sums.get(a) ?? 0) + v);
  return [...sums].filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b));
};

describe('golden catalogue: what Xero books equals the golden postings (the hledger expectations)', () => {
  const BANKS: Record<string, string> = { EUR: '090', JPY: '091', KWD: '092' };
  const EXPONENT: Record<string, number> = { EUR: 2, JPY: 0, KWD: 3 };
  for (const c of GOLDEN) {
    it(c.name, async () => {
      fake.reset();
      const mapped = mapExportItem(c.item, compileAccountingConfig(c.config ?? BASE_CONFIG), {
        jobId: 'j',
        companyId: COMPANY,
      });
      if (!mapped.ok) throw new Error(mapped.failureReason);
      const entry = mapped.entry;
      const { adapter } = subject();
      const outcome = await adapter.record(entry, {
        companyId: COMPANY,
        idempotencyKey: entry.accountingEntryId,
        attachments: [],
      });
      expect(outcome).toMatchObject({ status: 'booked' });
      const docs = fake.documentsFor(entry.accountingEntryId);
      expect(docs).toHaveLength(1);
      const doc = docs[0]!;
      const kind = 'BankTransactionID' in doc ? 'bank' : 'InvoiceID' in doc ? 'bill' : 'journal';
      // The golden postings, with the wallet's account standing for the Xero bank account of its
      // currency and (for bills) the payable standing for Xero's accounts-payable control account.
      const expected: [string, number][] = c.postings.map(([account, value], i) => {
        const role = entry.postings[i]?.role;
        if (kind === 'bank' && role === 'contra') return [`BANK:${BANKS[entry.currency] ?? '?'}`, value];
        if (kind === 'bill' && role === 'payable') return ['AP', value];
        return [account, value];
      });
      expect(netted(ledgerOf(doc, kind, EXPONENT[entry.currency] ?? 2))).toEqual(netted(expected));
      // Which document type Pleo's own Xero integration would create.
      const expectedKind =
        entry.kind === 'supplier_invoice' && !entry.postings.some((p) => p.role === 'contra')
          ? 'bill'
          : entry.postings.some((p) => p.role === 'contra') &&
              !['out_of_pocket', 'mileage', 'per_diem', 'external_reimbursement'].includes(entry.itemType)
            ? 'bank'
            : 'journal';
      expect(kind).toBe(expectedKind);
      if (kind === 'bank') expect(doc['Reference']).toBe(entry.accountingEntryId);
      if (kind === 'bank') expect(doc['CurrencyCode']).toBe(entry.currency);
      if (entry.counterparty?.name && kind !== 'journal')
        expect((doc['Contact'] as { Name: string }).Name).toBe(entry.counterparty.name);
      // Tags became tracking options.
      const tagged = entry.postings
        .filter((p) => p.dimensions['dept'] !== undefined)
        .map((p) => p.dimensions['dept']);
      const lines = (doc['LineItems'] ?? doc['JournalLines']) as {
        Tracking?: { Name: string; Option: string }[];
      }[];
      expect(lines.flatMap((l) => (l.Tracking ?? []).map((t) => t.Option))).toEqual(tagged);
    });
  }
});

async function receipt(key: string, bytes = '%PDF-1.4\n% receipt\n'): Promise<StoredAttachment> {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-xero-'));
  const path = join(dir, `${key}.pdf`);
  await writeFile(path, bytes);
  return { key, path, name: 'receipt.pdf', contentType: 'application/pdf', size: Buffer.byteLength(bytes) };
}

describe('xero specifics through Prism', () => {
  it('every create carries an Idempotency-Key; receipts are uploaded as bytes with a .pdf name', async () => {
    fake.reset();
    const { adapter } = subject();
    const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 19 }] });
    const key = entry.accountingEntryId;
    const outcome = await adapter.record(entry, {
      companyId: COMPANY,
      idempotencyKey: key,
      attachments: [await receipt(`${key}-0`)],
    });
    expect(outcome).toMatchObject({
      status: 'booked',
      externalUrl: expect.stringContaining('go.xero.com') as unknown,
    });
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers['idempotency-key'])).toEqual([
      expect.stringMatching(new RegExp(`^${key}:bank_transaction:[0-9a-f]{16}$`)),
      `${key}-0:attachment`,
    ]);
    const [doc] = fake.documentsFor(key);
    const [file] = fake.attachmentsOf(String(doc?.['BankTransactionID']));
    expect(file?.FileName).toBe(`${key}-0.pdf`);
    expect(file?.bytes.toString('utf8')).toBe('%PDF-1.4\n% receipt\n');
  });

  it('a lost answer is retried with the same key: Xero (the fake) replays it, one document', async () => {
    fake.reset();
    const { adapter } = subject();
    const entry = contractEntry();
    fake.loseAnswers(1);
    const outcome = await adapter.record(entry, {
      companyId: COMPANY,
      idempotencyKey: entry.accountingEntryId,
      attachments: [],
    });
    expect(outcome.status).toBe('booked');
    expect(fake.documentsFor(entry.accountingEntryId)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('answers lost on every attempt: record fails retryably; findExisting then finds the one document', async () => {
    fake.reset();
    const kv = memoryKv();
    const seed = fake.issueSeed();
    const { adapter } = subject(kv, seed);
    const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 19 }] });
    const key = entry.accountingEntryId;
    const files = [await receipt(`${key}-0`)];
    fake.loseAnswers(5);
    await expect(
      adapter.record(entry, { companyId: COMPANY, idempotencyKey: key, attachments: files }),
    ).rejects.toMatchObject({
      retryable: true,
    });
    expect(fake.documentsFor(key)).toHaveLength(1);
    // A restart: the document is there but its receipt is not, so it is not reported booked yet…
    const { adapter: again } = subject(kv, seed);
    expect(await again.findExisting(key, { companyId: COMPANY })).toBeNull();
    // …and recording finds the document (no second one) and attaches the receipt once.
    const outcome = await again.record(entry, {
      companyId: COMPANY,
      idempotencyKey: key,
      attachments: files,
    });
    expect(outcome.status).toBe('booked');
    const docs = fake.documentsFor(key);
    expect(docs).toHaveLength(1);
    expect(fake.attachmentsOf(String(docs[0]?.['BankTransactionID']))).toHaveLength(1);
    expect((await again.findExisting(key, { companyId: COMPANY }))?.externalId).toBe(
      docs[0]?.['BankTransactionID'],
    );
  });

  it('closed period in Xero (lock date) → item failure with an actionable message, nothing booked', async () => {
    fake.reset();
    fake.lockDate = '2026-03-31';
    const { adapter } = subject();
    const entry = contractEntry();
    const outcome = await adapter.record(entry, {
      companyId: COMPANY,
      idempotencyKey: entry.accountingEntryId,
      attachments: [],
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      failureReasonType: 'accounting_system_validation_failure',
    });
    expect(outcome.status === 'failed' && outcome.failureReason).toMatch(
      /period lock date.*closedPeriod: move/s,
    );
    expect(fake.documentsFor(entry.accountingEntryId)).toHaveLength(0);
    // Moved to the first open day by the accounting configuration, it books.
    const moved: AccountingEntry = { ...entry, date: '2026-04-01', originalDate: entry.date };
    expect(
      (
        await adapter.record(moved, {
          companyId: COMPANY,
          idempotencyKey: entry.accountingEntryId,
          attachments: [],
        })
      ).status,
    ).toBe('booked');
  });

  it('Xero validation errors become item failures of the right Pleo type', async () => {
    fake.reset();
    const { adapter } = subject();
    const cases: [Partial<AccountingEntry>, string][] = [
      [
        {
          postings: [
            { account: '6099', amount: { currency: 'EUR', value: 100 }, dimensions: {}, role: 'expense' },
            { account: '1920', amount: { currency: 'EUR', value: -100 }, dimensions: {}, role: 'contra' },
          ],
        },
        'account_unknown',
      ],
      [
        {
          postings: [
            {
              account: '6010',
              amount: { currency: 'EUR', value: 100 },
              dimensions: { dept: 'Nope' },
              role: 'expense',
            },
            { account: '1920', amount: { currency: 'EUR', value: -100 }, dimensions: {}, role: 'contra' },
          ],
        },
        'tag_unknown',
      ],
    ];
    for (const [overrides, type] of cases) {
      const entry = contractEntry(overrides);
      const outcome = await adapter.record(entry, {
        companyId: COMPANY,
        idempotencyKey: entry.accountingEntryId,
        attachments: [],
      });
      expect(outcome).toMatchObject({ status: 'failed', failureReasonType: type });
    }
    const { adapter: wrongTax } = subject(memoryKv(), undefined, { taxTypes: { default: 'INPUT9' } });
    const entry = contractEntry();
    const outcome = await wrongTax.record(entry, {
      companyId: COMPANY,
      idempotencyKey: entry.accountingEntryId,
      attachments: [],
    });
    expect(outcome).toMatchObject({ status: 'failed', failureReasonType: 'tax_code_unknown' });
  });

  it('a wallet currency without a bank account and not the base currency → missing_configuration', async () => {
    fake.reset();
    const { adapter } = subject();
    const entry = contractEntry({
      currency: 'SEK',
      postings: [
        { account: '6010', amount: { currency: 'SEK', value: 100 }, dimensions: {}, role: 'expense' },
        { account: '1920', amount: { currency: 'SEK', value: -100 }, dimensions: {}, role: 'contra' },
      ],
    });
    const outcome = await adapter.record(entry, {
      companyId: COMPANY,
      idempotencyKey: entry.accountingEntryId,
      attachments: [],
    });
    expect(outcome).toMatchObject({ status: 'failed', failureReasonType: 'missing_configuration' });
    expect(outcome.status === 'failed' && outcome.failureReason).toContain('adapter.bankAccounts.SEK');
  });

  it('Prism does refuse a request the spec does not allow (the check is real)', async () => {
    fake.reset();
    const { adapter } = subject();
    const before = fake.requests.length;
    await adapter.http
      .call({
        method: 'PUT',
        path: '/BankTransactions',
        json: {
          BankTransactions: [
            { Type: 'SPEND', BankAccount: { Code: '090' }, LineItems: [{ LineAmount: 'ten' }] },
          ],
        },
        idempotencyKey: 'not-valid-anyway',
      })
      .catch(() => undefined);
    const found = violations.splice(0);
    expect(found.join('\n')).toContain('LineAmount must be number');
    // It never reached the fake.
    expect(fake.requests.slice(before).some((r) => r.method === 'PUT')).toBe(false);
  });

  it('ids never reach a where clause unvalidated', async () => {
    const { adapter } = subject();
    await expect(adapter.findExisting('x") OR Reference.Contains("', { companyId: COMPANY })).rejects.toThrow(
      /uuid expected/,
    );
  });
});
