import { describe, expect, it } from 'vitest';
import type { ExportItemType, ExportItemV3 } from '../../src/simulator/data/index.js';
import { catalog, DEFAULT_TYPE_WEIGHTS, exportItemAt } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

const ALL_TYPES = Object.keys(DEFAULT_TYPE_WEIGHTS) as ExportItemType[];
const BALANCE_AFFECTING = new Set<string>([
  'card_purchase',
  'fee',
  'cashback',
  'refund',
  'chargeback',
  'direct_reimbursement',
  'invoice_payment',
  'card_invoice',
  'atm_withdrawal',
  'personal_spend',
  'wallet_topup',
  'wallet_unload',
]);
const SUB_TYPES: Partial<Record<string, readonly string[]>> = {
  fee: ['interest'],
  invoice_payment: ['invoice_payment_sent', 'invoice_payment_returned'],
  direct_reimbursement: [
    'reimbursement_to_employee',
    'reimbursement_to_company',
    'reimbursement_to_employee_refund',
  ],
  external_reimbursement: ['reimbursement_to_employee', 'reimbursement_to_company'],
};
const INVOICE_STATUSES = [
  'pending_approval',
  'parsed',
  'preparing',
  'prepared',
  'ready',
  'rejected_by_approver',
  'marked_as_paid',
  'scheduled',
  'payment_in_progress',
  'paid',
  'voided_by_user',
  'rejected_by_user',
  'failed_payment',
];

function generate(seed: number, count: number, vendorBasedBookkeeping = true): ExportItemV3[] {
  const job = jobOf(seed, { vendorBasedBookkeeping });
  return Array.from({ length: count }, (_, i) => exportItemAt(job, i, BASE_URL));
}

describe('item shape', () => {
  const items = generate(21, 5_000);

  it('uses every item type within 2,000 items, card_purchase dominant', () => {
    for (const seed of [21, 22, 23]) {
      const types = generate(seed, 2_000).map((i) => i.type);
      expect(new Set(types)).toEqual(new Set(ALL_TYPES));
      const cards = types.filter((t) => t === 'card_purchase').length;
      expect(cards).toBeGreaterThan(800);
    }
  });

  it('sets subType only where meaningful, from ExportItemSubTypeV3', () => {
    const seen = new Set<string>();
    for (const item of items) {
      const allowed = SUB_TYPES[item.type];
      if (item.subType === undefined) {
        expect(['invoice_payment', 'direct_reimbursement', 'external_reimbursement']).not.toContain(
          item.type,
        );
      } else {
        expect(allowed).toContain(item.subType);
        seen.add(item.subType);
      }
      expect('subType' in item).toBe(item.subType !== undefined);
    }
    expect(seen.size).toBe(6);
  });

  it('carries a contra account exactly on balance-affecting types, in the wallet currency', () => {
    const cat = catalog(21);
    for (const item of items) {
      if (BALANCE_AFFECTING.has(item.type)) {
        const contra = cat.contraAccounts.find((c) => c.id === item.contraAccount?.id);
        expect(contra?.currency).toBe(item.amount.inWalletCurrency.currency);
      } else {
        expect(item.contraAccount).toBeNull();
      }
    }
  });

  it('applies the bookkeeping rules of vendor-based bookkeeping', () => {
    const methods = new Set<string>();
    for (const item of items) {
      const method = item.bookkeeping?.method;
      expect(['journal', 'accounts_payable', 'none']).toContain(method);
      methods.add(method!);
      if (method === 'accounts_payable') expect(item.vendor?.id).toBeTruthy();
      if (method === 'none') expect(item.vendor).toBeNull();
      if (item.vendor) expect(item.vendor.defaultCurrency).toHaveLength(3);
    }
    expect(methods.size).toBe(3);
    for (const item of generate(21, 2_000, false)) {
      expect(item.bookkeeping).toBeNull();
      expect(item.vendor).toBeNull();
    }
  });

  it('fills invoice information, reconciliation data, people and notes realistically', () => {
    const statuses = new Set<string>();
    let servicePeriods = 0;
    let attendees = 0;
    let longNotes = 0;
    let unicodeNotes = 0;
    let bankAccounts = 0;
    for (const item of items) {
      const info = item.additionalInformation;
      expect(info.reconciliationId).toMatch(/^BK-[A-Z2-7]{10}$/);
      const invoiceLike = ['invoice', 'invoice_payment', 'card_invoice'].includes(item.type);
      expect(info.invoiceInformation != null).toBe(invoiceLike);
      if (info.invoiceInformation) {
        statuses.add(info.invoiceInformation.status);
        expect(INVOICE_STATUSES).toContain(info.invoiceInformation.status);
        expect(info.invoiceInformation.invoiceNumber).not.toBe('');
        if (info.invoiceInformation.supplierBankAccount) bankAccounts++;
      }
      const reimbursement = item.type.endsWith('_reimbursement');
      expect(info.reconciledEntries != null).toBe(reimbursement);
      if (info.reconciledEntries) {
        expect(info.reconciledEntries.length).toBeGreaterThan(0);
        expect(new Set(info.reconciledEntries).size).toBe(info.reconciledEntries.length);
      }
      if (item.servicePeriod) {
        servicePeriods++;
        expect(item.servicePeriod.from < item.servicePeriod.to).toBe(true);
      }
      if (info.attendees) attendees++;
      if ((item.note ?? '').length > 300) longNotes++;
      if ([...(item.note ?? '')].some((ch) => ch.charCodeAt(0) > 127)) unicodeNotes++;
      if (item.user) expect(item.user.name).not.toBe('');
      if (item.supplier?.country) expect(item.supplier.country).toMatch(/^[A-Z]{2}$/);
    }
    expect(statuses.size).toBe(13);
    for (const n of [servicePeriods, attendees, longNotes, unicodeNotes, bankAccounts])
      expect(n).toBeGreaterThan(10);
  });

  it('dates items in the ~13 months before the epoch, reproducibly', () => {
    const cat = catalog(21);
    const lock = `${cat.lockDate}T00:00:00Z`;
    for (const item of generate(21, 2_000).filter((_, i) => i % 2 === 0)) {
      expect(item.date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(item.date < cat.epoch).toBe(true);
    }
    const open = generate(21, 2_000).filter((i) => i.date >= lock);
    expect(open.length).toBeGreaterThan(1_800);
  });

  it('links to the item and points file URLs at the base URL', () => {
    for (const item of items.slice(0, 500)) {
      expect(item._links.api?.exportItem).toContain(item.accountingEntryId);
      expect(item._links.web?.exportItem).toContain(item.accountingEntryId);
      expect(item._links.mobile?.exportItem).toContain(item.accountingEntryId);
      for (const f of item.files ?? []) expect(f?.url.startsWith(`${BASE_URL}/files/`)).toBe(true);
    }
  });
});
