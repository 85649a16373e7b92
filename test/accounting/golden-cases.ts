/**
 * Golden cases: hand-written items with hand-computed expected postings ([account, minor units],
 * debit > 0; line side first, in line order, then the counter side). The expectations were worked out on paper from the rules in src/accounting/map.ts
 * and lines.ts, not copied from the code's output. Reused by the hledger journal tests, which
 * check `hledger balance` against sums of these expectations.
 */
import type { AccountingConfig } from '../../src/accounting/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { item, line } from './items.js';

export const BASE_CONFIG: AccountingConfig = {
  accounts: {
    contra: '1920',
    outOfPocket: '2820',
    accountsPayable: '2440',
    inputVat: '2640',
    outputVat: '2610',
    reverseChargeInput: '2645',
    reverseChargeOutput: '2615',
    fees: '6570',
    cashback: '3990',
    bank: '1930',
    cash: '1910',
    externalReimbursement: '7210',
  },
};

export const VENDOR_CONFIG: AccountingConfig = {
  ...BASE_CONFIG,
  vendors: [
    { code: 'V-100', name: 'Acme Supplies', account: '2441', taxIdentifier: 'DK12345678' },
    { code: 'V-200', name: 'Blocked Ltd', blocked: true },
    { code: 'V-300', name: 'No Account AB' },
  ],
};

export interface GoldenCase {
  name: string;
  item: ExportItem;
  config?: AccountingConfig;
  /** Wallet currency postings, in order. */
  postings: [string, number][];
  kind?: string;
  cost?: [string, number, string][];
}

const vendor = (
  code: string,
  name: string,
  extra: Record<string, string> = {},
): NonNullable<ExportItem['vendor']> => ({
  id: '99999999-0000-4000-8000-000000000001',
  name,
  code,
  defaultCurrency: 'EUR',
  ...extra,
});

export const GOLDEN: GoldenCase[] = [
  {
    name: 'card purchase, inclusive VAT 25% (Pleo sends spend as negative)',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6010', amount: -12500, tax: { type: 'inclusive', rate: 0.25, amount: -2500 } }),
      ],
    }),
    // 125.00 paid incl. 25.00 VAT: expense 100.00, VAT 25.00, wallet -125.00
    postings: [
      ['6010', 10000],
      ['2640', 2500],
      ['1920', -12500],
    ],
  },
  {
    name: 'card purchase, inclusive VAT 25% (spend as positive: same entry)',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6010', amount: 12500, tax: { type: 'inclusive', rate: 0.25, amount: 2500 } }),
      ],
    }),
    postings: [
      ['6010', 10000],
      ['2640', 2500],
      ['1920', -12500],
    ],
  },
  {
    name: 'card purchase, exclusive VAT 12% on 50.00 net',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6020', amount: 5600, tax: { type: 'exclusive', rate: 0.12, amount: 600 } }),
      ],
    }),
    // paid 56.00 = 50.00 net + 6.00 VAT
    postings: [
      ['6020', 5000],
      ['2640', 600],
      ['1920', -5600],
    ],
  },
  {
    name: 'card purchase, exclusive tax 12% on top of the line, not paid to the supplier (net = line): self-assessed',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6020',
          amount: 10000,
          net: 10000,
          tax: { type: 'exclusive', rate: 0.12, amount: 1200 },
        }),
      ],
    }),
    // wallet paid 100.00; 12.00 use tax self-assessed: input 12.00 / output 12.00
    postings: [
      ['6020', 10000],
      ['2640', 1200],
      ['2610', -1200],
      ['1920', -10000],
    ],
  },
  {
    name: 'card purchase, reverse charge 25% with item tax accounts',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6540',
          amount: 20000,
          tax: { type: 'reverse', rate: 0.25, amount: 5000, ingoing: '2647', outgoing: '2617' },
        }),
      ],
    }),
    // supplier charged 200.00 without VAT; self-assessed 50.00 in and out
    postings: [
      ['6540', 20000],
      ['2647', 5000],
      ['2617', -5000],
      ['1920', -20000],
    ],
  },
  {
    name: 'card purchase, reverse charge with zero tax amount: derived from the rate, configured accounts',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({ account: '6540', amount: 8000, tax: { type: 'reverse', rate: 0.25, amount: 0 } }),
      ],
    }),
    postings: [
      ['6540', 8000],
      ['2645', 2000],
      ['2615', -2000],
      ['1920', -8000],
    ],
  },
  {
    name: 'split purchase: two lines with own accounts, tax and tags',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6010',
          amount: 8000,
          tax: { type: 'inclusive', rate: 0.25, amount: 1600 },
          tags: [{ groupCode: 'dept', code: 'Sales' }],
        }),
        line({ account: '6020', amount: 2000, tags: [{ groupCode: 'dept', code: 'RnD' }] }),
      ],
    }),
    postings: [
      ['6010', 6400],
      ['2640', 1600],
      ['6020', 2000],
      ['1920', -10000],
    ],
  },
  {
    name: 'refund with VAT: reversal of a purchase',
    item: item({
      type: 'refund',
      accountingEntryLines: [
        line({ account: '6010', amount: 5000, tax: { type: 'inclusive', rate: 0.25, amount: 1000 } }),
      ],
    }),
    postings: [
      ['6010', -4000],
      ['2640', -1000],
      ['1920', 5000],
    ],
  },
  {
    name: 'chargeback: reversal',
    item: item({ type: 'chargeback', accountingEntryLines: [line({ account: '6010', amount: 3000 })] }),
    postings: [
      ['6010', -3000],
      ['1920', 3000],
    ],
  },
  {
    name: 'out of pocket: credit the employee',
    item: item({ type: 'out_of_pocket', accountingEntryLines: [line({ account: '5800', amount: 4500 })] }),
    postings: [
      ['5800', 4500],
      ['2820', -4500],
    ],
  },
  {
    name: 'mileage',
    item: item({ type: 'mileage', accountingEntryLines: [line({ account: '5810', amount: 2590 })] }),
    postings: [
      ['5810', 2590],
      ['2820', -2590],
    ],
  },
  {
    name: 'per diem',
    item: item({ type: 'per_diem', accountingEntryLines: [line({ account: '5820', amount: 29000 })] }),
    postings: [
      ['5820', 29000],
      ['2820', -29000],
    ],
  },
  {
    name: 'direct reimbursement: settle the employee from the wallet',
    item: item({
      type: 'direct_reimbursement',
      accountingEntryLines: [line({ account: null, amount: 4500 })],
    }),
    postings: [
      ['2820', 4500],
      ['1920', -4500],
    ],
  },
  {
    name: 'external reimbursement: settle the employee outside Pleo',
    item: item({
      type: 'external_reimbursement',
      accountingEntryLines: [line({ account: null, amount: 2590 })],
    }),
    postings: [
      ['2820', 2590],
      ['7210', -2590],
    ],
  },
  {
    name: 'wallet top-up: always a journal entry, wallet from the item contra account',
    item: item({
      type: 'wallet_topup',
      bookkeeping: { method: 'accounts_payable' },
      contraAccount: { id: '88888888-0000-4000-8000-000000000001', name: 'Pleo EUR', code: '1921' },
      accountingEntryLines: [line({ account: null, amount: 100000 })],
    }),
    postings: [
      ['1930', -100000],
      ['1921', 100000],
    ],
  },
  {
    name: 'wallet unload',
    item: item({ type: 'wallet_unload', accountingEntryLines: [line({ account: null, amount: -20000 })] }),
    postings: [
      ['1930', 20000],
      ['1920', -20000],
    ],
  },
  {
    name: 'fee without category: configured fees account',
    item: item({ type: 'fee', accountingEntryLines: [line({ account: null, amount: 399 })] }),
    postings: [
      ['6570', 399],
      ['1920', -399],
    ],
  },
  {
    name: 'cashback: income',
    item: item({ type: 'cashback', accountingEntryLines: [line({ account: null, amount: 1250 })] }),
    postings: [
      ['3990', -1250],
      ['1920', 1250],
    ],
  },
  {
    name: 'ATM withdrawal',
    item: item({ type: 'atm_withdrawal', accountingEntryLines: [line({ account: null, amount: 10000 })] }),
    postings: [
      ['1910', 10000],
      ['1920', -10000],
    ],
  },
  {
    name: 'JPY wallet: 0 decimals',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6010',
          amount: 12345,
          currency: 'JPY',
          tax: { type: 'inclusive', rate: 0.1, amount: 1122 },
        }),
      ],
    }),
    // 12,345 yen incl. 10% VAT of 1,122 yen
    postings: [
      ['6010', 11223],
      ['2640', 1122],
      ['1920', -12345],
    ],
  },
  {
    name: 'KWD wallet: 3 decimals',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6010',
          amount: 10500,
          currency: 'KWD',
          tax: { type: 'inclusive', rate: 0.05, amount: 500 },
        }),
      ],
    }),
    // 10.500 KWD incl. 0.500 VAT
    postings: [
      ['6010', 10000],
      ['2640', 500],
      ['1920', -10500],
    ],
  },
  {
    name: 'foreign supplier currency: wallet amounts booked, USD kept as cost',
    item: item({
      type: 'card_purchase',
      accountingEntryLines: [
        line({
          account: '6010',
          amount: 9350,
          supplier: { amount: 10000, currency: 'USD' },
          tax: { type: 'inclusive', rate: 0.1, amount: 850, supplierAmount: 909 },
        }),
      ],
    }),
    postings: [
      ['6010', 8500],
      ['2640', 850],
      ['1920', -9350],
    ],
    // expense cost 100.00 - 9.09 = 90.91 USD; tax cost 9.09 USD
    cost: [
      ['6010', 9091, 'USD'],
      ['2640', 909, 'USD'],
    ],
  },
  {
    name: 'AP invoice: vendor found by code, own payable account',
    config: VENDOR_CONFIG,
    item: item({
      type: 'invoice',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('V-100', 'Acme'),
      additionalInformation: {
        reconciliationId: 'R-INV-1',
        invoiceInformation: { invoiceNumber: 'INV-77', invoiceDate: '2026-03-01', status: 'ready' },
      },
      accountingEntryLines: [
        line({ account: '6010', amount: 10000, tax: { type: 'inclusive', rate: 0.25, amount: 2000 } }),
      ],
    }),
    kind: 'supplier_invoice',
    postings: [
      ['6010', 8000],
      ['2640', 2000],
      ['2441', -10000],
    ],
  },
  {
    name: 'AP card purchase: invoice and its settlement in one entry',
    config: VENDOR_CONFIG,
    item: item({
      type: 'card_purchase',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('X-unknown-code', 'Acme', { taxRegistrationNumber: 'DK12345678' }),
      accountingEntryLines: [
        line({ account: '6010', amount: 10000, tax: { type: 'inclusive', rate: 0.25, amount: 2000 } }),
      ],
    }),
    kind: 'supplier_invoice',
    postings: [
      ['6010', 8000],
      ['2640', 2000],
      ['2441', -10000],
      ['2441', 10000],
      ['1920', -10000],
    ],
  },
  {
    name: 'AP invoice payment: debit the vendor, credit the wallet',
    config: VENDOR_CONFIG,
    item: item({
      type: 'invoice_payment',
      subType: 'invoice_payment_sent',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('V-100', 'Acme'),
      accountingEntryLines: [line({ account: '6010', amount: 10000 })],
    }),
    kind: 'payment',
    postings: [
      ['2441', 10000],
      ['1920', -10000],
    ],
  },
  {
    name: 'AP refund: credit note and refund receipt',
    config: VENDOR_CONFIG,
    item: item({
      type: 'refund',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('V-100', 'Acme'),
      accountingEntryLines: [
        line({ account: '6010', amount: 5000, tax: { type: 'inclusive', rate: 0.25, amount: 1000 } }),
      ],
    }),
    kind: 'supplier_credit_note',
    postings: [
      ['6010', -4000],
      ['2640', -1000],
      ['2441', 5000],
      ['2441', -5000],
      ['1920', 5000],
    ],
  },
  {
    name: 'AP invoice, vendor without own account: fallback AP',
    config: VENDOR_CONFIG,
    item: item({
      type: 'invoice',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('V-300', 'No Account'),
      accountingEntryLines: [line({ account: '6010', amount: 700 })],
    }),
    kind: 'supplier_invoice',
    postings: [
      ['6010', 700],
      ['2440', -700],
    ],
  },
  {
    name: 'AP without a vendor register: Pleo vendor as given, fallback AP',
    item: item({
      type: 'invoice',
      bookkeeping: { method: 'accounts_payable' },
      vendor: vendor('NEW-1', 'Newco'),
      accountingEntryLines: [line({ account: '6010', amount: 900 })],
    }),
    kind: 'supplier_invoice',
    postings: [
      ['6010', 900],
      ['2440', -900],
    ],
  },
  {
    name: 'legacy item (no bookkeeping): journal entry, supplier carried',
    item: item({
      type: 'invoice',
      bookkeeping: null,
      supplier: { name: 'Old Supplier', code: 'S-9' },
      accountingEntryLines: [line({ account: '6010', amount: 1500 })],
    }),
    kind: 'journal',
    postings: [
      ['6010', 1500],
      ['2440', -1500],
    ],
  },
  {
    name: 'method none: journal entry',
    item: item({
      type: 'card_purchase',
      bookkeeping: { method: 'none' },
      accountingEntryLines: [line({ account: '6010', amount: 100 })],
    }),
    kind: 'journal',
    postings: [
      ['6010', 100],
      ['1920', -100],
    ],
  },
  {
    name: 'category override maps a Pleo code to another account; contra per currency',
    config: {
      ...BASE_CONFIG,
      categoryOverrides: { '6010': '6011' },
      accounts: { ...BASE_CONFIG.accounts, contraByCurrency: { EUR: '1922' } },
    },
    item: item({ type: 'card_purchase', accountingEntryLines: [line({ account: '6010', amount: 1000 })] }),
    postings: [
      ['6011', 1000],
      ['1922', -1000],
    ],
  },
  {
    name: 'rounding difference of 1 cent posted to the configured account',
    config: { ...BASE_CONFIG, accounts: { ...BASE_CONFIG.accounts, roundingDifference: '3740' } },
    item: {
      ...item({
        type: 'card_purchase',
        accountingEntryLines: [
          line({ account: '6010', amount: 3333 }),
          line({ account: '6020', amount: 3333 }),
        ],
      }),
      amount: {
        inWalletCurrency: { value: 6667, currency: 'EUR' },
        inSupplierCurrency: { value: 6667, currency: 'EUR' },
      },
    },
    postings: [
      ['6010', 3333],
      ['6020', 3333],
      ['3740', 1],
      ['1920', -6667],
    ],
  },
];
