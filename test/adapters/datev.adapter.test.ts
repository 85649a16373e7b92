/**
 * The DATEV adapter against the golden table (the same hand-computed postings hledger is checked
 * against), a reviewed golden file, hostile text, refusals, batching, sealing and re-exports.
 * Every file written here is checked with the EXTF validator (`readBatches`).
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem, type AccountingEntry } from '../../src/accounting/index.js';
import {
  createDatevAdapter,
  MANIFEST_NAME,
  type DatevAdapterOptions,
  type Manifest,
} from '../../src/adapters/datev/index.js';
import { classifyAccountingError, type StoredAttachment } from '../../src/adapters/index.js';
import { BASE_CONFIG, GOLDEN } from '../accounting/golden-cases.js';
import { COMPANY, JOB } from '../accounting/items.js';
import { contractEntry } from './contract.js';
import { balancesOf, entryCounts, readBatches } from './datev-files.js';

const GOLDEN_FILE = fileURLToPath(new URL('./fixtures/datev/EXTF_golden.csv', import.meta.url));
const FIXED_NOW = Date.UTC(2026, 3, 2, 9, 30, 15, 123);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pleo-datev-'));
}

function options(outputDir: string, extra: Partial<DatevAdapterOptions> = {}): DatevAdapterOptions {
  return { outputDir, consultantNumber: 1001, clientNumber: 4711, now: () => FIXED_NOW, ...extra };
}

const ctx = (key: string, attachments: StoredAttachment[] = []) => ({
  companyId: COMPANY,
  idempotencyKey: key,
  attachments,
});

async function writeAll(opts: DatevAdapterOptions, entries: AccountingEntry[]): Promise<void> {
  const adapter = createDatevAdapter(opts);
  for (const e of entries) expect((await adapter.record(e, ctx(e.accountingEntryId))).status).toBe('booked');
  await adapter.close();
}

function goldenEntries(): AccountingEntry[] {
  return GOLDEN.map((c) => {
    const r = mapExportItem(c.item, compileAccountingConfig(c.config ?? BASE_CONFIG), {
      jobId: JOB,
      companyId: COMPANY,
    });
    if (!r.ok) throw new Error(`${c.name}: ${r.failureReason}`);
    return r.entry;
  });
}

/** Per account and currency, the sum of the hand-computed golden postings (not the code's output). */
function expectedBalances(): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const c of GOLDEN) {
    const currency = c.item.amount.inWalletCurrency.currency;
    for (const [account, value] of c.postings) {
      const per = out.get(account) ?? new Map<string, number>();
      per.set(currency, (per.get(currency) ?? 0) + value);
      out.set(account, per);
    }
  }
  for (const [account, per] of out) {
    for (const [currency, value] of per) if (value === 0) per.delete(currency);
    if (per.size === 0) out.delete(account);
  }
  return out;
}

describe('DATEV files from the golden table', () => {
  it('every file passes the validator; balances equal the hand-computed sums; each entry once', async () => {
    const dir = await tempDir();
    const entries = goldenEntries();
    await writeAll(options(dir), entries);
    const batches = await readBatches(dir);
    expect(balancesOf(batches)).toEqual(expectedBalances());
    const counts = entryCounts(batches);
    expect([...counts.keys()].sort()).toEqual(entries.map((e) => e.accountingEntryId).sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // One file per currency of the job (EUR, JPY, KWD), each sealed (.csv), each in its currency.
    expect(batches.map((b) => [b.file.replace(/^EXTF_Pleo_\d+_/, ''), b.header[21]])).toEqual([
      ['WJ2026_EUR_22222222.csv', 'EUR'],
      ['WJ2026_JPY_22222222.csv', 'JPY'],
      ['WJ2026_KWD_22222222.csv', 'KWD'],
    ]);
    // JPY has no decimals and KWD three: written with DATEV's two decimals, exactly.
    const jpy = batches.find((b) => b.header[21] === 'JPY')?.rows.map((r) => r.fields[0]);
    expect(jpy).toEqual(['11223,00', '1122,00']);
    const kwd = batches.find((b) => b.header[21] === 'KWD')?.rows.map((r) => r.fields[0]);
    expect(kwd).toEqual(['10,00', '0,50']);
  });

  it('the rows of each golden entry: reverse charge, AP card purchase and refund read as an accountant expects', async () => {
    const dir = await tempDir();
    const entries = goldenEntries();
    await writeAll(options(dir), entries);
    const rows = (await readBatches(dir)).flatMap((b) => b.rows);
    const of = (name: string) => {
      const index = GOLDEN.findIndex((c) => c.name.startsWith(name));
      const id = entries[index]?.accountingEntryId;
      return rows.filter((r) => r.entryId === id).map((r) => [r.konto, r.gegenkonto, r.amount, r.position]);
    };
    expect(of('card purchase, reverse charge 25% with item tax')).toEqual([
      ['2647', '2617', 5000, '1/2'],
      ['6540', '1920', 20000, '2/2'],
    ]);
    expect(of('AP card purchase')).toEqual([
      ['6010', '2441', 8000, '1/3'],
      ['2640', '2441', 2000, '2/3'],
      ['2441', '1920', 10000, '3/3'],
    ]);
    expect(of('refund with VAT')).toEqual([
      ['1920', '6010', 4000, '1/2'],
      ['1920', '2640', 1000, '2/2'],
    ]);
    expect(of('foreign supplier currency')[0]).toEqual(['6010', '1920', 8500, '1/2']);
    const fx = rows.find((r) => r.fields[47] === 'Betrag Lieferant');
    expect(fx?.fields[48]).toBe('100.00 USD');
  });
});

/** Hand-written entries for the reviewed golden file (fixed ids, hostile text). */
function fixtureEntries(): AccountingEntry[] {
  const base = (n: number, overrides: Partial<AccountingEntry>): AccountingEntry =>
    contractEntry({
      accountingEntryId: `0e5e0000-0000-4000-8000-00000000000${String(n)}`,
      jobId: 'f00dcafe-0000-4000-8000-000000000001',
      reconciliationId: `RC-${String(n)}`,
      date: '2026-03-10',
      ...overrides,
    });
  const p = (
    account: string,
    value: number,
    role: AccountingEntry['postings'][number]['role'],
    lineId?: string,
  ) => ({
    account,
    amount: { currency: 'EUR', value },
    dimensions: { dept: 'Sales & Marketing; "EU"' },
    role,
    ...(lineId ? { lineId } : {}),
  });
  return [
    base(1, {
      description: 'Café "Zur Post"; Mü\nnchen ☕ – Łódź',
      postings: [p('4650', 10000, 'expense'), p('1576', 1900, 'tax'), p('1361', -11900, 'contra')],
    }),
    base(2, {
      date: '2026-03-31',
      description: 'Cloud hosting (reverse charge)',
      postings: [
        p('4920', 20000, 'expense', 'L1'),
        p('1577', 3800, 'reverse_charge_tax', 'L1'),
        p('1787', -3800, 'reverse_charge_tax', 'L1'),
        p('1361', -20000, 'contra'),
      ],
    }),
    base(3, {
      kind: 'supplier_invoice',
      method: 'accounts_payable',
      posting: 'final',
      description: 'Acme GmbH · office chairs',
      invoice: { number: 'RE-2026/03.17', date: '2026-03-08', dueDate: '2026-04-07' },
      counterparty: { source: 'vendor', code: 'V-1', name: 'Acme GmbH', account: '70001' },
      metadata: { supplierAmount: '108.00 USD' },
      postings: [
        p('4930', 8000, 'expense'),
        p('1576', 2000, 'tax'),
        p('70001', -10000, 'payable'),
        p('70001', 10000, 'payable'),
        p('1361', -10000, 'contra'),
      ],
    }),
    base(4, {
      itemType: 'refund',
      description: 'Refund: Café',
      postings: [p('4650', -4000, 'expense'), p('1576', -1000, 'tax'), p('1361', 5000, 'contra')],
    }),
  ];
}

describe('golden file (reviewed line by line)', () => {
  it('the adapter writes exactly test/adapters/fixtures/datev/EXTF_golden.csv', async () => {
    const dir = await tempDir();
    const receiptDir = await tempDir();
    const receipt = join(receiptDir, 'download.pdf');
    await writeFile(receipt, '%PDF-1.4\n% golden receipt\n');
    const adapter = createDatevAdapter(options(dir, { chart: '03', costCenters: { kost1: 'dept' } }));
    for (const e of fixtureEntries()) {
      const attachments: StoredAttachment[] =
        e.kind === 'supplier_invoice'
          ? [
              {
                key: `${e.accountingEntryId}-0`,
                path: receipt,
                name: 'invoice.pdf',
                contentType: 'application/pdf',
                size: 26,
              },
            ]
          : [];
      expect((await adapter.record(e, ctx(e.accountingEntryId, attachments))).status).toBe('booked');
    }
    await adapter.close();
    const [batch] = await readBatches(dir);
    if (!batch) throw new Error('no batch');
    const written = await readFile(join(dir, batch.file));
    if (process.env.UPDATE_DATEV_GOLDEN === '1') await writeFile(GOLDEN_FILE, written);
    expect(written.equals(await readFile(GOLDEN_FILE))).toBe(true);
    expect(batch.file).toBe('EXTF_Pleo_000001_WJ2026_EUR_f00dcafe.csv');
    expect(
      await readFile(join(dir, 'receipts', '0e5e0000-0000-4000-8000-000000000003-0.pdf'), 'utf8'),
    ).toContain('golden');
  });
});

describe('DATEV adapter behaviour', () => {
  it('refuses what DATEV cannot hold, with actionable messages, writing nothing', async () => {
    const dir = await tempDir();
    const adapter = createDatevAdapter(options(dir));
    const named = contractEntry({
      postings: [
        {
          account: 'Expenses:Food',
          amount: { currency: 'EUR', value: 100 },
          dimensions: {},
          role: 'expense',
        },
        { account: '1920', amount: { currency: 'EUR', value: -100 }, dimensions: {}, role: 'contra' },
      ],
    });
    expect(await adapter.record(named, ctx(named.accountingEntryId))).toEqual({
      status: 'failed',
      failureReasonType: 'account_unknown',
      failureReason:
        'Account No. Expenses:Food cannot be used in DATEV because DATEV account numbers have digits only. Check Category (or the configured accounts).',
    });
    const long = contractEntry({
      postings: [
        { account: '123456', amount: { currency: 'EUR', value: 100 }, dimensions: {}, role: 'expense' },
        { account: '1920', amount: { currency: 'EUR', value: -100 }, dimensions: {}, role: 'contra' },
      ],
    });
    const refused = await adapter.record(long, ctx(long.accountingEntryId));
    expect(refused.status === 'failed' && refused.failureReason).toContain('more than 4 digits');
    const fils = contractEntry({
      currency: 'KWD',
      postings: [
        { account: '6010', amount: { currency: 'KWD', value: 10503 }, dimensions: {}, role: 'expense' },
        { account: '1920', amount: { currency: 'KWD', value: -10503 }, dimensions: {}, role: 'contra' },
      ],
    });
    const kwd = await adapter.record(fils, ctx(fils.accountingEntryId));
    expect(kwd).toMatchObject({ status: 'failed', failureReasonType: 'validation_failure' });
    expect(kwd.status === 'failed' && kwd.failureReason).toContain('two decimals');
    await adapter.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('EXTF_'))).toEqual([]);
  });

  it('batchBy period: one file per job and month, header period = that month', async () => {
    const dir = await tempDir();
    const entries = ['2026-01-31', '2026-02-01', '2026-02-28'].map((date) => contractEntry({ date }));
    await writeAll(options(dir, { batchBy: 'period' }), entries);
    const batches = await readBatches(dir);
    expect(batches.map((b) => [b.header[14], b.header[15], b.rows.length])).toEqual([
      ['20260101', '20260131', 2],
      ['20260201', '20260228', 4],
    ]);
  });

  it('a fiscal year starting in July: WJ-Beginn and the batch period follow it', async () => {
    const dir = await tempDir();
    await writeAll(options(dir, { fiscalYearStartMonth: 7 }), [
      contractEntry({ date: '2026-03-10' }),
      contractEntry({ date: '2026-08-01' }),
    ]);
    const batches = await readBatches(dir);
    expect(batches.map((b) => [b.header[12], b.header[14], b.header[15]])).toEqual([
      ['20250701', '20250701', '20260630'],
      ['20260701', '20260701', '20270630'],
    ]);
  });

  it('a re-export in a later job and a re-run after restart book nothing twice; files of a finished job never change', async () => {
    const dir = await tempDir();
    const first = Array.from({ length: 3 }, () =>
      contractEntry({ jobId: 'aaaaaaaa-0000-4000-8000-000000000001' }),
    );
    const adapter = createDatevAdapter(options(dir));
    for (const e of first) await adapter.record(e, ctx(e.accountingEntryId));
    // The next job starts (validate) while the adapter lives on (daemon): job 1's file is sealed.
    expect(await adapter.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({
      ok: true,
    });
    const sealed = (await readdir(dir)).filter((f) => f.startsWith('EXTF_'));
    expect(sealed).toEqual(['EXTF_Pleo_000001_WJ2026_EUR_aaaaaaaa.csv']);
    const before = await readFile(join(dir, sealed[0]!));
    const second = [...first, contractEntry({ jobId: 'bbbbbbbb-0000-4000-8000-000000000002' })].map((e) => ({
      ...e,
      jobId: 'bbbbbbbb-0000-4000-8000-000000000002',
    }));
    const outcomes = [];
    for (const e of second) outcomes.push(await adapter.record(e, ctx(e.accountingEntryId)));
    expect(outcomes.slice(0, 3).map((o) => o.status === 'booked' && o.externalId)).toEqual([
      'EXTF_Pleo_000001_WJ2026_EUR_aaaaaaaa.csv#L3',
      'EXTF_Pleo_000001_WJ2026_EUR_aaaaaaaa.csv#L5',
      'EXTF_Pleo_000001_WJ2026_EUR_aaaaaaaa.csv#L7',
    ]);
    await adapter.close();
    const again = createDatevAdapter(options(dir));
    for (const e of second) await again.record(e, ctx(e.accountingEntryId));
    await again.close();
    expect((await readFile(join(dir, sealed[0]!))).equals(before)).toBe(true);
    const counts = entryCounts(await readBatches(dir));
    expect(counts.size).toBe(4);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
    expect(manifest.files.map((f) => [f.name, f.status, f.entries.length])).toEqual([
      ['EXTF_Pleo_000001_WJ2026_EUR_aaaaaaaa.csv', 'final', 3],
      ['EXTF_Pleo_000002_WJ2026_EUR_bbbbbbbb.csv', 'final', 1],
    ]);
  });

  it('a file moved away after import stays booked through the manifest', async () => {
    const dir = await tempDir();
    const entry = contractEntry();
    await writeAll(options(dir), [entry]);
    const [file] = (await readdir(dir)).filter((f) => f.startsWith('EXTF_'));
    await writeFile(join(dir, file!), ''); // emptied by hand …
    const { rm } = await import('node:fs/promises');
    await rm(join(dir, file!)); // … and removed
    const adapter = createDatevAdapter(options(dir));
    expect((await adapter.findExisting(entry.accountingEntryId, { companyId: COMPANY }))?.externalId).toBe(
      `${file!}#L3`,
    );
    expect((await adapter.record(entry, ctx(entry.accountingEntryId))).status).toBe('booked');
    await adapter.close();
    expect((await readdir(dir)).filter((f) => f.startsWith('EXTF_'))).toEqual([]);
  });

  it('one writer per output directory: a second writer is told to retry later (transient)', async () => {
    const dir = await tempDir();
    const first = createDatevAdapter(options(dir));
    expect(await first.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({ ok: true });
    const second = createDatevAdapter(options(dir));
    const error: unknown = await second
      .validate({ companyId: COMPANY, vendorBasedBookkeeping: false })
      .catch((e: unknown) => e);
    expect(classifyAccountingError(error).kind).toBe('transient');
    expect((error as Error).message).toContain(`in use by process ${String(process.pid)}`);
    await first.close();
    expect(await second.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({
      ok: true,
    });
    await second.close();
  });

  it('a damaged manifest fails the job with what to do; an unwritable directory is a configuration problem', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, MANIFEST_NAME), '{"version":1,"files":[');
    const adapter = createDatevAdapter(options(dir));
    const error: unknown = await adapter
      .validate({ companyId: COMPANY, vendorBasedBookkeeping: false })
      .catch((e: unknown) => e);
    const fault = classifyAccountingError(error);
    expect(fault.kind).toBe('job');
    expect(fault.kind === 'job' && fault.failureReason).toContain('restore it from a backup');
    await adapter.close();
    const file = join(await tempDir(), 'not-a-dir');
    await writeFile(file, 'x');
    const blocked = createDatevAdapter(options(join(file, 'datev')));
    const v = await blocked.validate({ companyId: COMPANY, vendorBasedBookkeeping: false });
    expect(v.ok === false && v.failureReasonType).toBe('invalid_configuration');
    expect(v.ok === false && v.failureReason).toContain('check adapter.outputDir');
    await blocked.close();
  });

  it('a cancelled record writes nothing and is retried; a failed write is cut off and retried', async () => {
    const dir = await tempDir();
    let failNext = false;
    const adapter = createDatevAdapter(
      options(dir, {
        faultHooks: {
          midWrite: () => {
            if (failNext) {
              failNext = false;
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            }
          },
        },
      }),
    );
    const [a, b] = [contractEntry(), contractEntry()];
    const aborted = AbortSignal.abort();
    const cancelled: unknown = await adapter
      .record(a, { ...ctx(a.accountingEntryId), signal: aborted })
      .catch((e: unknown) => e);
    expect(classifyAccountingError(cancelled).kind).toBe('transient');
    expect(await adapter.findExisting(a.accountingEntryId, { companyId: COMPANY })).toBeNull();
    expect((await adapter.record(a, ctx(a.accountingEntryId))).status).toBe('booked');
    failNext = true;
    const failed: unknown = await adapter.record(b, ctx(b.accountingEntryId)).catch((e: unknown) => e);
    expect(classifyAccountingError(failed).kind).toBe('transient');
    expect((failed as Error).message).toContain('ENOSPC');
    expect(await adapter.findExisting(b.accountingEntryId, { companyId: COMPANY })).toBeNull();
    expect((await adapter.record(b, ctx(b.accountingEntryId))).status).toBe('booked');
    await adapter.close();
    const counts = entryCounts(await readBatches(dir)); // the half-written rows are gone: valid file
    expect([...counts.entries()].sort()).toEqual(
      [a.accountingEntryId, b.accountingEntryId].sort().map((id) => [id, 1]),
    );
  });
});

describe('DATEV manifest lost', () => {
  it('final files are adopted from disk (never cut or changed), so nothing is booked twice', async () => {
    const dir = await tempDir();
    const entries = [contractEntry(), contractEntry()];
    await writeAll(options(dir), entries);
    const { rm, appendFile } = await import('node:fs/promises');
    await rm(join(dir, MANIFEST_NAME));
    const [file] = (await readdir(dir)).filter((f) => f.startsWith('EXTF_'));
    await appendFile(join(dir, file!), 'edited by hand\r\n');
    const edited = await readFile(join(dir, file!));
    const warnings: unknown[] = [];
    const adapter = createDatevAdapter(options(dir, { logger: { warn: (obj) => warnings.push(obj) } }));
    for (const e of entries)
      expect((await adapter.findExisting(e.accountingEntryId, { companyId: COMPANY }))?.externalId).toMatch(
        /#L[35]$/,
      );
    const fresh = contractEntry();
    expect((await adapter.record(fresh, ctx(fresh.accountingEntryId))).status).toBe('booked');
    await adapter.close();
    expect((await readFile(join(dir, file!))).equals(edited)).toBe(true);
    expect(warnings).toEqual([{ outputDir: dir, repair: `${file!}: not in the manifest; adopted` }]);
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
    expect(manifest.files.map((f) => [f.name, f.entries.length])).toEqual([
      [file, 2],
      ['EXTF_Pleo_000002_WJ2026_EUR_dddddddd.csv', 1],
    ]);
  });
});
