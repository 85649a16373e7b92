/**
 * Hand-written export items for golden tests. Every field is spelled out by the test that uses it;
 * these helpers only fill the required-but-irrelevant parts of the payload.
 */
import type { ExportItem, ExportItemLine, ExportItemTax, Money } from '../../src/client/index.js';

export const COMPANY = '11111111-1111-4111-8111-111111111111';
export const JOB = '22222222-2222-4222-8222-222222222222';

let counter = 0;
export function uuid(prefix = 'a'): string {
  counter += 1;
  const hex = counter.toString(16).padStart(12, '0');
  return `${prefix.repeat(8).slice(0, 8)}-0000-4000-8000-${hex}`;
}

export function money(value: number, currency = 'EUR'): Money {
  return { value, currency } as Money;
}

export interface LineSpec {
  account?: string | null;
  accountName?: string;
  amount: number;
  /** netAmount (excluding tax). Default: amount − tax (inclusive, exclusive), amount (reverse, no tax). */
  net?: number;
  currency?: string;
  supplier?: { amount: number; currency: string };
  tax?: {
    type: 'inclusive' | 'exclusive' | 'reverse';
    rate: number;
    amount: number;
    supplierAmount?: number;
    code?: string;
    ingoing?: string;
    outgoing?: string;
  };
  tags?: { groupCode: string; code: string }[];
}

export function line(spec: LineSpec): ExportItemLine {
  const currency = spec.currency ?? 'EUR';
  const supplier = spec.supplier
    ? money(spec.supplier.amount, spec.supplier.currency)
    : money(spec.amount, currency);
  let tax: ExportItemTax | null = null;
  if (spec.tax) {
    tax = {
      id: uuid('7'),
      type: spec.tax.type,
      rate: spec.tax.rate,
      amount: {
        inWalletCurrency: money(spec.tax.amount, currency),
        inSupplierCurrency: money(
          spec.tax.supplierAmount ?? spec.tax.amount,
          spec.supplier?.currency ?? currency,
        ),
      },
      ...(spec.tax.code ? { code: spec.tax.code } : {}),
      ...(spec.tax.ingoing ? { ingoingTaxAccount: spec.tax.ingoing } : {}),
      ...(spec.tax.outgoing ? { outgoingTaxAccount: spec.tax.outgoing } : {}),
    };
  }
  return {
    accountingEntryLineId: uuid('1'),
    lineAmount: { inWalletCurrency: money(spec.amount, currency), inSupplierCurrency: supplier },
    netAmount: {
      inWalletCurrency: money(
        spec.net ?? (spec.tax && spec.tax.type !== 'reverse' ? spec.amount - spec.tax.amount : spec.amount),
        currency,
      ),
      inSupplierCurrency: supplier,
    },
    account:
      spec.account === null || spec.account === undefined
        ? null
        : { id: uuid('3'), name: spec.accountName ?? `Account ${spec.account}`, code: spec.account },
    tags: (spec.tags ?? []).map((t) => ({ id: uuid('4'), ...t })),
    tax,
  };
}

export function item(
  partial: Partial<ExportItem> & Pick<ExportItem, 'type' | 'accountingEntryLines'>,
): ExportItem {
  const currency = partial.accountingEntryLines[0]?.lineAmount.inWalletCurrency.currency ?? 'EUR';
  const total = partial.accountingEntryLines.reduce((s, l) => s + l.lineAmount.inWalletCurrency.value, 0);
  const supplierTotal = partial.accountingEntryLines.reduce(
    (s, l) => s + l.lineAmount.inSupplierCurrency.value,
    0,
  );
  const supplierCurrency =
    partial.accountingEntryLines[0]?.lineAmount.inSupplierCurrency.currency ?? currency;
  return {
    _links: {},
    accountingEntryId: uuid('e'),
    companyId: COMPANY,
    date: '2026-03-10T09:30:00Z',
    additionalInformation: { reconciliationId: `R-${counter}` },
    amount: {
      inWalletCurrency: money(total, currency),
      inSupplierCurrency: money(supplierTotal, supplierCurrency),
    },
    bookkeeping: { method: 'journal' },
    supplier: { name: 'Hotel Alpha' },
    user: { id: uuid('5'), name: 'Jane Doe', code: 'JD' },
    ...partial,
  };
}
