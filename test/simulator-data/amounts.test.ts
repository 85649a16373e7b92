import { describe, expect, it } from 'vitest';
import type { ExportItemV3 } from '../../src/simulator/data/index.js';
import { exportItemAt, FX_PER_EUR, MINOR_UNITS } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

type Money = ExportItemV3['amount']['inWalletCurrency'];

function convert(value: number, from: string, to: string): number {
  if (from === to) return value;
  const fx = FX_PER_EUR as Record<string, number>;
  const minor = MINOR_UNITS as Record<string, number>;
  const x = ((value * fx[to]!) / fx[from]!) * (10 ** minor[to]! / 10 ** minor[from]!);
  return (x < 0 ? -Math.round(-x) : Math.round(x)) + 0;
}

function sumOf(values: readonly Money[]): number {
  return values.reduce((s, m) => s + m.value, 0);
}

describe('amounts', () => {
  const job = jobOf(11);
  const items = Array.from({ length: 10_000 }, (_, i) => exportItemAt(job, i, BASE_URL));

  it('splits lines that sum exactly to the amount in both currencies (10,000 items)', () => {
    let split = 0;
    for (const item of items) {
      const lines = item.accountingEntryLines;
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(4);
      if (lines.length > 1) split++;
      expect(sumOf(lines.map((l) => l.lineAmount.inSupplierCurrency))).toBe(
        item.amount.inSupplierCurrency.value,
      );
      expect(sumOf(lines.map((l) => l.lineAmount.inWalletCurrency))).toBe(item.amount.inWalletCurrency.value);
      for (const l of lines) {
        expect(l.lineAmount.inSupplierCurrency.currency).toBe(item.amount.inSupplierCurrency.currency);
        expect(l.lineAmount.inWalletCurrency.currency).toBe(item.amount.inWalletCurrency.currency);
      }
    }
    expect(split).toBeGreaterThan(300);
  });

  it('uses integer minor units, one sign per item, and the fixed FX table', () => {
    for (const item of items) {
      const s = item.amount.inSupplierCurrency;
      const w = item.amount.inWalletCurrency;
      expect(Number.isInteger(s.value) && Number.isInteger(w.value)).toBe(true);
      expect(s.value).not.toBe(0);
      expect(Math.sign(w.value)).toBe(Math.sign(s.value));
      const expected = convert(s.value, s.currency, w.currency);
      expect(w.value).toBe(expected === 0 ? Math.sign(s.value) : expected);
      for (const l of item.accountingEntryLines) {
        for (const m of [l.lineAmount.inSupplierCurrency, l.lineAmount.inWalletCurrency]) {
          expect(Number.isInteger(m.value)).toBe(true);
          expect(Math.sign(m.value)).toBe(Math.sign(s.value));
        }
      }
    }
  });

  it('keeps net and tax consistent with the tax type and rate', () => {
    const seen = new Set<string>();
    for (const item of items) {
      for (const l of item.accountingEntryLines) {
        for (const cur of ['inSupplierCurrency', 'inWalletCurrency'] as const) {
          const line = l.lineAmount[cur].value;
          const net = l.netAmount[cur].value;
          if (!l.tax) {
            expect(net).toBe(line);
            continue;
          }
          seen.add(l.tax.type);
          const tax = l.tax.amount[cur].value;
          const r = l.tax.rate;
          const round = (x: number): number => (x < 0 ? -Math.round(-x) : Math.round(x)) + 0;
          if (l.tax.type === 'inclusive') {
            expect(tax).toBe(round((line * r) / (1 + r)));
            expect(net + tax).toBe(line);
          } else {
            expect(['exclusive', 'reverse']).toContain(l.tax.type);
            expect(tax).toBe(round(line * r));
            expect(net).toBe(line);
          }
        }
        if (l.tax?.type === 'reverse') {
          expect(l.tax.ingoingTaxAccount).toBeTruthy();
          expect(l.tax.outgoingTaxAccount).toBeTruthy();
        }
      }
    }
    expect([...seen].sort()).toEqual(['exclusive', 'inclusive', 'reverse']);
  });

  it('includes JPY (0 decimals) and KWD (3 decimals), and foreign-currency spend', () => {
    const currencies = new Set(items.map((i) => i.amount.inSupplierCurrency.currency));
    expect(currencies).toContain('JPY');
    expect(currencies).toContain('KWD');
    expect(
      items.some((i) => i.amount.inSupplierCurrency.currency !== i.amount.inWalletCurrency.currency),
    ).toBe(true);
    expect(MINOR_UNITS.JPY).toBe(0);
    expect(MINOR_UNITS.KWD).toBe(3);
  });

  it('reports money coming back as negative amounts', () => {
    const negative = new Set(['refund', 'chargeback', 'cashback', 'wallet_topup']);
    const returned = new Set([
      'invoice_payment_returned',
      'reimbursement_to_company',
      'reimbursement_to_employee_refund',
    ]);
    for (const item of items) {
      const expectNegative = negative.has(item.type) || returned.has(item.subType ?? '');
      expect(item.amount.inWalletCurrency.value < 0).toBe(expectNegative);
    }
  });
});
