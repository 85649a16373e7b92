import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem, type AccountingEntry } from '../../src/accounting/index.js';
import { createHledgerAdapter, type HledgerAdapterOptions } from '../../src/adapters/index.js';
import { BASE_CONFIG, GOLDEN } from '../accounting/golden-cases.js';
import { COMPANY, JOB } from '../accounting/items.js';
import { contractEntry } from './contract.js';
import { balances, checkStrict, findByTag, hledger } from './hledger-cli.js';

async function tempJournal(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'pleo-hledger-')), 'books.journal');
}

function goldenEntries(postingMode: 'draft' | 'final' = 'draft'): AccountingEntry[] {
  return GOLDEN.map((c) => {
    const r = mapExportItem(c.item, compileAccountingConfig({ ...(c.config ?? BASE_CONFIG), postingMode }), {
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

async function writeAll(options: HledgerAdapterOptions, entries: AccountingEntry[]): Promise<void> {
  const adapter = createHledgerAdapter(options);
  for (const e of entries) {
    const o = await adapter.record(e, {
      companyId: COMPANY,
      idempotencyKey: e.accountingEntryId,
      attachments: [],
    });
    expect(o.status).toBe('booked');
  }
  await adapter.close();
}

describe('hledger journal from the golden entries', () => {
  it('passes hledger check --strict; balances equal the hand-computed sums', async () => {
    const journalPath = await tempJournal();
    await writeAll({ journalPath }, goldenEntries());
    checkStrict(journalPath);
    expect(balances(journalPath)).toEqual(expectedBalances());
    // Independent cross-check on the wallet: Pleo amounts of the contra-side items, summed by hand.
    // EUR on 1920: -125 -125 -56 -200 -80 -100 +50 +30 -45 +200(unload) -3.99 +12.50 -100 -93.50 -1.00 (AP card) +... see golden-cases
    const eur1920 = GOLDEN.flatMap((c) =>
      c.postings
        .filter(([a]) => a === '1920')
        .map(([, v]) => (c.item.amount.inWalletCurrency.currency === 'EUR' ? v : 0)),
    );
    expect(balances(journalPath).get('1920')?.get('EUR')).toBe(eur1920.reduce((s, v) => s + v, 0));
  });

  it('draft entries are pending (!), final entries cleared (*); hledger finds each by its pleo-entry tag', async () => {
    const journalPath = await tempJournal();
    const drafts = goldenEntries('draft').slice(0, 3);
    const finals = goldenEntries('final').slice(3, 6);
    await writeAll({ journalPath }, [...drafts, ...finals]);
    checkStrict(journalPath);
    for (const e of drafts)
      expect(findByTag(journalPath, e.accountingEntryId).map((t) => t.tstatus)).toEqual(['Pending']);
    for (const e of finals)
      expect(findByTag(journalPath, e.accountingEntryId).map((t) => t.tstatus)).toEqual(['Cleared']);
    expect(hledger(journalPath, ['print', 'tag:pleo-job', '-O', 'csv']).length).toBeGreaterThan(0);
  });

  it('JPY has 0 and KWD 3 decimals in the journal', async () => {
    const journalPath = await tempJournal();
    await writeAll({ journalPath }, goldenEntries());
    const text = await readFile(journalPath, 'utf8');
    expect(text).toContain('commodity 1000. JPY');
    expect(text).toContain('commodity 1000.000 KWD');
    expect(text).toMatch(/6010\s+11223 JPY/);
    expect(text).toMatch(/6010\s+10\.000 KWD/);
  });

  it('cost notation: supplier amount as @@ cost; balances at cost equal the wallet sums', async () => {
    const journalPath = await tempJournal();
    const entries = goldenEntries();
    await writeAll({ journalPath, costNotation: 'cost' }, entries);
    checkStrict(journalPath);
    const text = await readFile(journalPath, 'utf8');
    expect(text).toContain('90.91 USD @@ 85.00 EUR');
    expect(balances(journalPath, ['-B'])).toEqual(expectedBalances());
    // Without -B the expense account holds the supplier currency.
    expect(balances(journalPath).get('6010')?.get('USD')).toBe(9091);
  });

  it('tag mode keeps the supplier amount as a tag', async () => {
    const journalPath = await tempJournal();
    await writeAll({ journalPath }, goldenEntries());
    expect(await readFile(journalPath, 'utf8')).toContain('supplier-amount:90.91 USD');
  });
});

describe('hledger journal file safety', () => {
  it('an entry the journal cannot represent is refused alone; the entries written with it are booked', async () => {
    const journalPath = await tempJournal();
    const adapter = createHledgerAdapter({ journalPath });
    const good = contractEntry();
    // Balanced, but without its attendees list: rendering it throws (it once left the whole batch
    // waiting for ever).
    const broken = { ...contractEntry(), attendees: undefined } as unknown as AccountingEntry;
    const ctx = (key: string) => ({ companyId: COMPANY, idempotencyKey: key, attachments: [] });
    const [refused, booked] = await Promise.allSettled([
      adapter.record(broken, ctx(broken.accountingEntryId)),
      adapter.record(good, ctx(good.accountingEntryId)),
    ]);
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { code: 'ACCOUNTING_REJECTED', retryable: false },
    });
    expect(booked).toMatchObject({ status: 'fulfilled', value: { status: 'booked' } });
    expect(await adapter.findExisting(broken.accountingEntryId, { companyId: COMPANY })).toBeNull();
    await adapter.close();
    checkStrict(journalPath);
  });

  it('one writer at a time: a second adapter on the same journal is refused while the first holds the lock', async () => {
    const journalPath = await tempJournal();
    const first = createHledgerAdapter({ journalPath });
    expect(await first.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({ ok: true });
    const second = createHledgerAdapter({ journalPath });
    // Transient: thrown retryable, so the engine retries and never fails a job for it.
    const refused = await second
      .validate({ companyId: COMPANY, vendorBasedBookkeeping: false })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'ACCOUNTING_UNREACHABLE', retryable: true });
    expect((refused as Error).message).toContain(`locked by process ${process.pid}`);
    await first.close();
    expect(await second.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({
      ok: true,
    });
    await second.close();
  });

  it('a stale lock (dead pid) is taken over', async () => {
    const journalPath = await tempJournal();
    await writeFile(`${journalPath}.lock`, '999999\n');
    const adapter = createHledgerAdapter({ journalPath });
    expect(await adapter.validate({ companyId: COMPANY, vendorBasedBookkeeping: false })).toEqual({
      ok: true,
    });
    await adapter.close();
  });

  it('a torn final block is cut off on open (kept aside), the rest stays, and the entry can be written again', async () => {
    const journalPath = await tempJournal();
    const [a, b] = [contractEntry(), contractEntry()];
    await writeAll({ journalPath }, [a]);
    const good = await readFile(journalPath, 'utf8');
    // Simulate a crash in the middle of the next block.
    await appendFile(
      journalPath,
      `# pleo-begin:${b.accountingEntryId}\naccount 9999\n2026-03-10 ! (P000002) half  ; pleo-entry:${b.accountingEntryId}\n    6010   10`,
    );
    const adapter = createHledgerAdapter({ journalPath });
    expect(await adapter.findExisting(b.accountingEntryId, { companyId: COMPANY })).toBeNull();
    expect(await readFile(journalPath, 'utf8')).toBe(good);
    expect((await readdir(join(journalPath, '..'))).some((f) => f.startsWith('books.journal.torn-'))).toBe(
      true,
    );
    const o = await adapter.record(b, {
      companyId: COMPANY,
      idempotencyKey: b.accountingEntryId,
      attachments: [],
    });
    expect(o.status === 'booked' && o.externalId).toBe('P000002');
    await adapter.close();
    checkStrict(journalPath);
    // The torn block declared 9999; it must not count as declared (it was cut off).
    expect(await readFile(journalPath, 'utf8')).not.toContain('account 9999');
  });

  it('a block whose end marker does not match its content is torn when last, an error when in the middle', async () => {
    const journalPath = await tempJournal();
    const [a, b] = [contractEntry(), contractEntry()];
    await writeAll({ journalPath }, [a, b]);
    const text = await readFile(journalPath, 'utf8');
    await writeFile(journalPath, text.replace('Contract test', 'Contract TEST'));
    const adapter = createHledgerAdapter({ journalPath });
    // Permanent: thrown ACCOUNTING_UNUSABLE, which fails the job (a person must fix the file).
    const damaged = await adapter
      .validate({ companyId: COMPANY, vendorBasedBookkeeping: false })
      .catch((error: unknown) => error);
    expect(damaged).toMatchObject({ code: 'ACCOUNTING_UNUSABLE', retryable: false });
    expect((damaged as Error).message).toMatch(/damaged at line \d+/);
    await adapter.close();
    // Damage in the last block (e.g. garbage after a power loss): cut off like a torn write.
    const at = text.lastIndexOf('Contract test');
    await writeFile(journalPath, `${text.slice(0, at)}Contract TEST${text.slice(at + 13)}`);
    const reopened = createHledgerAdapter({ journalPath });
    expect(await reopened.findExisting(a.accountingEntryId, { companyId: COMPANY })).not.toBeNull();
    expect(await reopened.findExisting(b.accountingEntryId, { companyId: COMPANY })).toBeNull();
    await reopened.close();
    checkStrict(journalPath);
  });

  it('hand-written transactions outside blocks are kept and their accounts count as declared', async () => {
    const journalPath = await tempJournal();
    await writeFile(
      journalPath,
      'account 6010\naccount 2640\naccount 1920\ncommodity 1000.00 EUR\n\n2026-01-01 opening\n    1920   100.00 EUR\n    6010  -100.00 EUR',
    );
    await writeAll({ journalPath }, [contractEntry()]);
    checkStrict(journalPath);
    const text = await readFile(journalPath, 'utf8');
    expect(text).toContain('2026-01-01 opening');
    expect(text.match(/^account 6010$/gm)).toHaveLength(1);
  });

  it('text appended by hand while the adapter is open is never overwritten', async () => {
    const journalPath = await tempJournal();
    const adapter = createHledgerAdapter({ journalPath });
    const [a, b] = [contractEntry(), contractEntry()];
    await adapter.record(a, { companyId: COMPANY, idempotencyKey: a.accountingEntryId, attachments: [] });
    await appendFile(journalPath, '2026-03-11 hand-made\n    6010   1.00 EUR\n    1920  -1.00 EUR\n');
    const o = await adapter.record(b, {
      companyId: COMPANY,
      idempotencyKey: b.accountingEntryId,
      attachments: [],
    });
    await adapter.close();
    expect(o.status).toBe('booked');
    const text = await readFile(journalPath, 'utf8');
    expect(text).toContain('2026-03-11 hand-made\n    6010   1.00 EUR\n    1920  -1.00 EUR\n# pleo-begin:');
    checkStrict(journalPath);
    expect(balances(journalPath).get('6010')?.get('EUR')).toBe(20100);
  });

  it('externalUrl points at the transaction line; receipts are linked by relative path', async () => {
    const journalPath = await tempJournal();
    const adapter = createHledgerAdapter({ journalPath });
    const e = contractEntry();
    const src = join(await mkdtemp(join(tmpdir(), 'pleo-r-')), 'downloaded.bin');
    await writeFile(src, 'receipt bytes');
    const att = {
      key: `${e.accountingEntryId}-0`,
      path: src,
      name: 'scan.pdf',
      contentType: 'application/pdf',
      size: 13,
    };
    const o = await adapter.record(e, {
      companyId: COMPANY,
      idempotencyKey: e.accountingEntryId,
      attachments: [att],
    });
    await adapter.close();
    if (o.status !== 'booked') throw new Error('not booked');
    const lines = (await readFile(journalPath, 'utf8')).split('\n');
    const lineNo = Number(/#L(\d+)$/.exec(o.externalUrl ?? '')?.[1]);
    expect(lines[lineNo - 1]).toContain(`pleo-entry:${e.accountingEntryId}`);
    expect(lines).toContain(`    ; receipt:receipts/${COMPANY}/${e.accountingEntryId}-0.pdf`);
    expect(
      await readFile(join(journalPath, '..', 'receipts', COMPANY, `${e.accountingEntryId}-0.pdf`), 'utf8'),
    ).toBe('receipt bytes');
    checkStrict(journalPath);
  });

  it('a receipt survives removal of the downloaded file, and a temporary copy left by a crash is not used', async () => {
    const journalPath = await tempJournal();
    const adapter = createHledgerAdapter({ journalPath });
    const e = contractEntry();
    const src = join(await mkdtemp(join(tmpdir(), 'pleo-r-')), 'downloaded.pdf');
    await writeFile(src, 'the real receipt');
    const target = join(journalPath, '..', 'receipts', COMPANY, `${e.accountingEntryId}-0.pdf`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.tmp-${process.pid}`, 'half a copy from before the crash');
    const att = {
      key: `${e.accountingEntryId}-0`,
      path: src,
      name: 'scan.pdf',
      contentType: 'application/pdf',
      size: 16,
    };
    const o = await adapter.record(e, {
      companyId: COMPANY,
      idempotencyKey: e.accountingEntryId,
      attachments: [att],
    });
    await adapter.close();
    expect(o.status).toBe('booked');
    await rm(src);
    expect(await readFile(target, 'utf8')).toBe('the real receipt');
    // Issue 20: a new receipt name is one hard link, with no temporary file, so a stale temporary
    // (only ever reused by a process of the same pid) is no longer swept on the way; it is never
    // named by the journal nor read as the receipt.
    expect(await readFile(journalPath, 'utf8')).not.toContain('.tmp-');
    // Where a temporary is used (a name held by other content is replaced), a stale one is replaced.
    const e2 = contractEntry();
    const target2 = join(dirname(target), `${e2.accountingEntryId}-0.pdf`);
    await writeFile(target2, 'another file');
    await writeFile(`${target2}.tmp-${process.pid}`, 'half a copy from before the crash');
    await writeFile(src, 'the real receipt');
    const again = createHledgerAdapter({ journalPath });
    const o2 = await again.record(e2, {
      companyId: COMPANY,
      idempotencyKey: e2.accountingEntryId,
      attachments: [{ ...att, key: `${e2.accountingEntryId}-0` }],
    });
    await again.close();
    expect(o2.status).toBe('booked');
    expect(await readFile(target2, 'utf8')).toBe('the real receipt');
    expect(existsSync(`${target2}.tmp-${process.pid}`)).toBe(false);
    checkStrict(journalPath);
  });

  it('group commit: many concurrent records, one journal, all findable', async () => {
    const journalPath = await tempJournal();
    const adapter = createHledgerAdapter({ journalPath });
    const entries = Array.from({ length: 500 }, () => contractEntry());
    const started = performance.now();
    await Promise.all(
      entries.map((e) =>
        adapter.record(e, { companyId: COMPANY, idempotencyKey: e.accountingEntryId, attachments: [] }),
      ),
    );
    const ms = performance.now() - started;
    await adapter.close();
    checkStrict(journalPath);
    const reopened = createHledgerAdapter({ journalPath });
    for (const e of entries.slice(0, 20))
      expect(await reopened.findExisting(e.accountingEntryId, { companyId: COMPANY })).not.toBeNull();
    await reopened.close();
    expect(ms).toBeLessThan(10_000);
  });
});
