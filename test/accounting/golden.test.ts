import { describe, expect, it } from 'vitest';

import {
  compileAccountingConfig,
  mapExportItem,
  VENDOR_UNKNOWN_MESSAGE,
  type AccountingConfig,
} from '../../src/accounting/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { BASE_CONFIG, GOLDEN, VENDOR_CONFIG } from './golden-cases.js';
import { item, JOB, COMPANY, line } from './items.js';

const ctx = { jobId: JOB, companyId: COMPANY };
const map = (i: ExportItem, config: AccountingConfig = BASE_CONFIG) =>
  mapExportItem(i, compileAccountingConfig(config), ctx);

describe('golden entries (hand-computed postings)', () => {
  for (const c of GOLDEN) {
    it(c.name, () => {
      const result = map(c.item, c.config);
      if (!result.ok) throw new Error(`${result.failureReasonType}: ${result.failureReason}`);
      const { entry } = result;
      expect(entry.postings.map((p) => [p.account, p.amount.value])).toEqual(c.postings);
      const currency = c.item.amount.inWalletCurrency.currency;
      expect(entry.postings.every((p) => p.amount.currency === currency)).toBe(true);
      expect(entry.postings.reduce((s, p) => s + p.amount.value, 0)).toBe(0);
      if (c.kind) expect(entry.kind).toBe(c.kind);
      if (c.cost) {
        expect(
          entry.postings.filter((p) => p.cost).map((p) => [p.account, p.cost?.value, p.cost?.currency]),
        ).toEqual(c.cost);
      }
      expect(entry.accountingEntryId).toBe(c.item.accountingEntryId);
      expect(entry.reconciliationId).toBe(c.item.additionalInformation.reconciliationId);
      expect(entry.posting).toBe('draft');
    });
  }
});

describe('carried-over data', () => {
  it('description, dimensions, attendees, note, team, user, invoice', () => {
    const i = item({
      type: 'card_purchase',
      note: 'Client dinner',
      team: { id: 't', name: 'Sales Nordics', code: 'T-SN' },
      additionalInformation: {
        reconciliationId: 'BOOK-42',
        attendees: ['Ann', null, 'Bob'],
        reconciledEntries: ['X-1'],
      },
      accountingEntryLines: [
        line({ account: '6010', amount: 1000, tags: [{ groupCode: 'project', code: 'P-7' }] }),
      ],
    });
    const result = map(i);
    if (!result.ok) throw new Error(result.failureReason);
    const e = result.entry;
    expect(e.description).toBe('Hotel Alpha · Jane Doe · Client dinner');
    expect(e.reconciliationId).toBe('BOOK-42');
    expect(e.attendees).toEqual(['Ann', 'Bob']);
    expect(e.reconciledEntries).toEqual(['X-1']);
    expect(e.note).toBe('Client dinner');
    expect(e.team).toEqual({ name: 'Sales Nordics', code: 'T-SN' });
    expect(e.postings[0]?.dimensions).toEqual({ project: 'P-7', team: 'T-SN', user: 'JD' });
    expect(e.date).toBe('2026-03-10');
  });

  it('long descriptions use initials, then are shortened', () => {
    const i = item({
      type: 'card_purchase',
      note: 'n'.repeat(10),
      user: { id: 'u', name: 'Maximilian Alexander Schmidt' },
      accountingEntryLines: [line({ account: '6010', amount: 1 })],
    });
    const r = map(i, { ...BASE_CONFIG, descriptionMaxLength: 40 });
    expect(r.ok && r.entry.description).toBe('Hotel Alpha · M.A.S. · nnnnnnnnnn');
    const r2 = map({ ...i, note: 'n'.repeat(100) }, { ...BASE_CONFIG, descriptionMaxLength: 40 });
    expect(r2.ok && r2.entry.description.length).toBe(40);
  });

  it('dimensions team/user can be switched off; posting mode final', () => {
    const i = item({
      type: 'card_purchase',
      team: { id: 't', name: 'T' },
      accountingEntryLines: [line({ account: '6010', amount: 1 })],
    });
    const r = map(i, { ...BASE_CONFIG, postingMode: 'final', dimensions: { team: false, user: false } });
    expect(r.ok && r.entry.postings[0]?.dimensions).toEqual({});
    expect(r.ok && r.entry.posting).toBe('final');
  });
});

describe('item failures with actionable messages', () => {
  const purchase = (account: string | null = '6010') =>
    item({ type: 'card_purchase', accountingEntryLines: [line({ account, amount: 1000 })] });

  it('missing contra account → missing_configuration naming the keys', () => {
    const r = map(purchase(), { accounts: {} });
    expect(r).toEqual({
      ok: false,
      failureReasonType: 'missing_configuration',
      failureReason:
        'Account Pleo contra (EUR) missing: provide account Pleo contra (EUR) in the configurations (accounting.accounts.contraByCurrency.EUR or accounting.accounts.contra)',
    });
  });

  it('line without category → missing_configuration', () => {
    const r = map(purchase(null));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.failureReasonType).toBe('missing_configuration');
    expect(!r.ok && r.failureReason).toMatch(/^Account for the expense category missing: provide account/);
  });

  it('account outside the chart of accounts → account_unknown', () => {
    const r = map(purchase('6099'), {
      ...BASE_CONFIG,
      knownAccounts: [
        '1920',
        '6010',
        '2820',
        '2440',
        '2640',
        '2610',
        '2645',
        '2615',
        '6570',
        '3990',
        '1930',
        '1910',
        '7210',
      ],
    });
    expect(r).toEqual({
      ok: false,
      failureReasonType: 'account_unknown',
      failureReason: 'Account No. 6099 does not exist in the Accounting System. Check Category.',
    });
  });

  it('unknown tax code → tax_code_unknown', () => {
    const i = item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6010',
          amount: 1250,
          tax: { type: 'inclusive', rate: 0.25, amount: 250, code: 'S25X' },
        }),
      ],
    });
    const r = map(i, { ...BASE_CONFIG, taxCodes: { S25: { inputAccount: '2641' } } });
    expect(r).toEqual({
      ok: false,
      failureReasonType: 'tax_code_unknown',
      failureReason: 'Tax Code S25X does not exist in the Accounting System',
    });
    const ok = map(
      {
        ...i,
        accountingEntryLines: [
          line({
            account: '6010',
            amount: 1250,
            tax: { type: 'inclusive', rate: 0.25, amount: 250, code: 'S25' },
          }),
        ],
      },
      { ...BASE_CONFIG, taxCodes: { S25: { inputAccount: '2641' } } },
    );
    expect(ok.ok && ok.entry.postings.map((p) => [p.account, p.amount.value])).toEqual([
      ['6010', 1000],
      ['2641', 250],
      ['1920', -1250],
    ]);
  });

  it('unknown tag → tag_unknown', () => {
    const i = item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6010', amount: 1, tags: [{ groupCode: 'dept', code: 'Nope' }] }),
      ],
    });
    const r = map(i, { ...BASE_CONFIG, tags: { dept: ['Sales'] } });
    expect(!r.ok && r.failureReasonType).toBe('tag_unknown');
    expect(!r.ok && r.failureReason).toMatch(
      /^Tag with code Nope does not exist on the Accounting System\. Check the Tag\./,
    );
  });

  it('unknown and blocked vendors → vendor_unknown with Pleo’s message', () => {
    for (const code of ['V-999', 'V-200']) {
      const i = item({
        type: 'invoice',
        bookkeeping: { method: 'accounts_payable' },
        vendor: { id: 'v', name: 'X', code, defaultCurrency: 'EUR' },
        accountingEntryLines: [line({ account: '6010', amount: 1 })],
      });
      expect(map(i, VENDOR_CONFIG)).toEqual({
        ok: false,
        failureReasonType: 'vendor_unknown',
        failureReason: VENDOR_UNKNOWN_MESSAGE,
      });
    }
    expect(VENDOR_UNKNOWN_MESSAGE).toContain('vendor’s status');
    const noVendor = item({
      type: 'invoice',
      bookkeeping: { method: 'accounts_payable' },
      accountingEntryLines: [line({ account: '6010', amount: 1 })],
    });
    expect(map({ ...noVendor, vendor: null }).ok).toBe(false);
  });

  it('closed period: fail (default) or move to the first open date', () => {
    const i = purchase();
    const failed = map(i, { ...BASE_CONFIG, lockDate: '2026-03-31' });
    expect(!failed.ok && failed.failureReasonType).toBe('accounting_system_validation_failure');
    expect(!failed.ok && failed.failureReason).toContain('closedPeriod');
    const moved = map(i, { ...BASE_CONFIG, lockDate: '2026-03-31', closedPeriod: 'move' });
    expect(moved.ok && [moved.entry.date, moved.entry.originalDate]).toEqual(['2026-04-01', '2026-03-10']);
    const open = map(i, { ...BASE_CONFIG, lockDate: '2026-03-09' });
    expect(open.ok && open.entry.date).toBe('2026-03-10');
  });

  it('lines that do not add up to the amount → validation_failure unless a rounding account takes it', () => {
    const i = {
      ...item({ type: 'card_purchase', accountingEntryLines: [line({ account: '6010', amount: 1000 })] }),
      amount: {
        inWalletCurrency: { value: 1500, currency: 'EUR' },
        inSupplierCurrency: { value: 1500, currency: 'EUR' },
      },
    } as ExportItem;
    const r = map(i);
    expect(!r.ok && r.failureReasonType).toBe('validation_failure');
    expect(!r.ok && r.failureReason).toContain('10.00 EUR but its amount is 15.00 EUR');
  });

  it('a line in another wallet currency or a fractional amount → validation_failure', () => {
    const i = item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6010', amount: 1000 }),
        line({ account: '6010', amount: 5, currency: 'SEK' }),
      ],
    });
    expect(!map(i).ok && (map(i) as { failureReasonType: string }).failureReasonType).toBe(
      'validation_failure',
    );
    const f = item({
      type: 'card_purchase',
      accountingEntryLines: [line({ account: '6010', amount: 10.5 })],
    });
    expect(map(f).ok).toBe(false);
  });
});
