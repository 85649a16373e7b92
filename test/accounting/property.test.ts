import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { BASE_CONFIG } from './golden-cases.js';
import { COMPANY, item, line } from './items.js';

const TYPES: ExportItem['type'][] = [
  'card_purchase',
  'card_invoice',
  'out_of_pocket',
  'mileage',
  'per_diem',
  'external_reimbursement',
  'direct_reimbursement',
  'invoice',
  'invoice_payment',
  'chargeback',
  'refund',
  'cashback',
  'atm_withdrawal',
  'wallet_topup',
  'wallet_unload',
  'personal_spend',
  'fee',
];
const CURRENCIES = ['EUR', 'SEK', 'JPY', 'KWD', 'USD'];
const config = compileAccountingConfig({
  ...BASE_CONFIG,
  accounts: { ...BASE_CONFIG.accounts, wallet: '1921', personalSpend: '1680', roundingDifference: '3740' },
});

const lineArb = (currency: string) =>
  fc
    .record({
      amount: fc.integer({ min: 0, max: 50_000_000 }),
      account: fc.option(fc.constantFrom('6010', '6020', '5800'), { nil: null }),
      tax: fc.option(
        fc.record({
          type: fc.constantFrom('inclusive' as const, 'exclusive' as const, 'reverse' as const),
          rate: fc.constantFrom(0, 0.06, 0.1, 0.12, 0.2, 0.25, 0.255),
          share: fc.integer({ min: 0, max: 100 }),
          onTop: fc.boolean(),
        }),
        { nil: undefined },
      ),
      supplier: fc.option(
        fc.record({
          currency: fc.constantFrom('USD', 'GBP', 'JPY'),
          factor: fc.integer({ min: 1, max: 300 }),
        }),
        { nil: undefined },
      ),
    })
    .map(({ amount, account, tax, supplier }) =>
      line({
        account: account ?? '6010',
        amount,
        currency,
        ...(supplier && supplier.currency !== currency
          ? {
              supplier: { currency: supplier.currency, amount: Math.round((amount * supplier.factor) / 100) },
            }
          : {}),
        ...(tax
          ? {
              tax: { type: tax.type, rate: tax.rate, amount: Math.floor((amount * tax.share) / 500) },
              ...(tax.onTop && tax.type === 'exclusive' ? { net: amount } : {}),
            }
          : {}),
      }),
    );

const itemArb = fc
  .record({
    type: fc.constantFrom(...TYPES),
    currency: fc.constantFrom(...CURRENCIES),
    negative: fc.boolean(),
    method: fc.constantFrom('journal', 'none', 'accounts_payable', null),
  })
  .chain(({ type, currency, negative, method }) =>
    fc.array(lineArb(currency), { minLength: 1, maxLength: 6 }).map((lines) => {
      const signed = negative
        ? lines.map((l) => ({
            ...l,
            lineAmount: {
              ...l.lineAmount,
              inWalletCurrency: {
                ...l.lineAmount.inWalletCurrency,
                value: -l.lineAmount.inWalletCurrency.value,
              },
            },
          }))
        : lines;
      return item({
        type,
        bookkeeping: method === null ? null : { method },
        vendor: { id: 'v', name: 'Vendor', code: 'V-1', defaultCurrency: currency },
        accountingEntryLines: signed,
      });
    }),
  );

describe('property: every produced entry balances to the minor unit', () => {
  it('holds for generated items of every type, method, currency and VAT mode', () => {
    let booked = 0;
    fc.assert(
      fc.property(itemArb, (i) => {
        const result = mapExportItem(i, config, { jobId: 'j', companyId: COMPANY });
        if (!result.ok) {
          // Only data problems may fail here (the configuration covers every account).
          expect(['validation_failure']).toContain(result.failureReasonType);
          return;
        }
        booked += 1;
        let sum = 0n;
        for (const p of result.entry.postings) {
          expect(Number.isSafeInteger(p.amount.value)).toBe(true);
          expect(p.amount.currency).toBe(i.amount.inWalletCurrency.currency);
          sum += BigInt(p.amount.value);
        }
        expect(sum).toBe(0n);
        // The wallet/counter side moves exactly the item amount.
        const lineSide = result.entry.postings.filter(
          (p) => p.role === 'expense' || p.role === 'tax' || p.role === 'rounding',
        );
        const lineTotal = lineSide.reduce((s, p) => s + p.amount.value, 0);
        if (result.entry.kind === 'journal')
          expect(Math.abs(lineTotal)).toBe(Math.abs(i.amount.inWalletCurrency.value));
      }),
      { numRuns: 2000, seed: 20260310 },
    );
    expect(booked).toBeGreaterThan(1000);
  });
});
