/**
 * How each item type is shaped: sign of its amounts, which account its lines use, where its
 * counterparty and currency come from, whether it moves the wallet (contra account), how
 * many receipts it has, and its bookkeeping method.
 *
 * ## Sign convention
 * Amounts are positive when money leaves the company's Pleo wallet or the company owes it
 * (purchases, fees, invoices, payments sent, reimbursements paid to employees, wallet
 * unloads), and negative when money comes back in: `refund`, `chargeback`, `cashback`,
 * `wallet_topup`, `invoice_payment_returned`, `reimbursement_to_company` and
 * `reimbursement_to_employee_refund`. Pleo reports refunds as negative values; the rest
 * follows from treating the contra (wallet) account as the credit side of a positive amount.
 * Line, net and tax amounts carry the same sign as the item amount.
 *
 * @module
 */
import type { ExportItemType } from './job.js';
import type { Rng } from './prng.js';
import type { AccountRole } from './reference.js';

/** Where a line's account comes from. */
export type LineAccount =
  { readonly merchant: true } | { readonly role: AccountRole } | { readonly code: string };

/** Where the counterparty comes from. */
export type Counterparty = 'card' | 'invoice' | 'atm' | 'pleo' | 'none';

export interface TypeRule {
  readonly sign: 1 | -1;
  readonly account: LineAccount;
  readonly counterparty: Counterparty;
  /** Amount range in EUR when there is no merchant range. */
  readonly eur?: readonly [min: number, max: number];
  /** Balance-affecting: carries the wallet's contra account. */
  readonly contra: boolean;
  /** Relative weights of 0, 1, 2, 3 receipts; null means `files: null`. */
  readonly receipts: readonly number[] | null;
  readonly user: 'always' | 'sometimes' | 'never';
  readonly method: 'journal' | 'accounts_payable' | 'none' | 'ap_or_journal';
  readonly invoice: boolean;
}

const expense = { merchant: true } as const;

export const TYPE_RULES: Readonly<Record<ExportItemType, TypeRule>> = {
  card_purchase: {
    sign: 1,
    account: expense,
    counterparty: 'card',
    contra: true,
    receipts: [10, 75, 10, 5],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  card_invoice: {
    sign: 1,
    account: expense,
    counterparty: 'invoice',
    contra: true,
    receipts: [0, 70, 20, 10],
    user: 'always',
    method: 'ap_or_journal',
    invoice: true,
  },
  out_of_pocket: {
    sign: 1,
    account: expense,
    counterparty: 'card',
    contra: false,
    receipts: [5, 80, 10, 5],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  mileage: {
    sign: 1,
    account: { code: '6085' },
    counterparty: 'none',
    eur: [10, 400],
    contra: false,
    receipts: [70, 30],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  per_diem: {
    sign: 1,
    account: { code: '6090' },
    counterparty: 'none',
    eur: [30, 600],
    contra: false,
    receipts: [90, 10],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  external_reimbursement: {
    sign: 1,
    account: { role: 'reimbursement_payable' },
    counterparty: 'none',
    eur: [20, 3000],
    contra: false,
    receipts: null,
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  direct_reimbursement: {
    sign: 1,
    account: { role: 'reimbursement_payable' },
    counterparty: 'none',
    eur: [20, 3000],
    contra: true,
    receipts: null,
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  invoice: {
    sign: 1,
    account: expense,
    counterparty: 'invoice',
    contra: false,
    receipts: [0, 75, 20, 5],
    user: 'sometimes',
    method: 'accounts_payable',
    invoice: true,
  },
  invoice_payment: {
    sign: 1,
    account: { role: 'accounts_payable' },
    counterparty: 'invoice',
    contra: true,
    receipts: [90, 10],
    user: 'sometimes',
    method: 'accounts_payable',
    invoice: true,
  },
  chargeback: {
    sign: -1,
    account: expense,
    counterparty: 'card',
    contra: true,
    receipts: [80, 20],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  refund: {
    sign: -1,
    account: expense,
    counterparty: 'card',
    contra: true,
    receipts: [50, 50],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  cashback: {
    sign: -1,
    account: { role: 'cashback_income' },
    counterparty: 'pleo',
    eur: [1, 100],
    contra: true,
    receipts: null,
    user: 'never',
    method: 'journal',
    invoice: false,
  },
  atm_withdrawal: {
    sign: 1,
    account: { role: 'cash' },
    counterparty: 'atm',
    contra: true,
    receipts: [60, 40],
    user: 'always',
    method: 'none',
    invoice: false,
  },
  wallet_topup: {
    sign: -1,
    account: { role: 'bank' },
    counterparty: 'none',
    eur: [1000, 50000],
    contra: true,
    receipts: null,
    user: 'never',
    method: 'none',
    invoice: false,
  },
  wallet_unload: {
    sign: 1,
    account: { role: 'bank' },
    counterparty: 'none',
    eur: [500, 20000],
    contra: true,
    receipts: null,
    user: 'never',
    method: 'none',
    invoice: false,
  },
  personal_spend: {
    sign: 1,
    account: { role: 'employee_receivable' },
    counterparty: 'card',
    contra: true,
    receipts: [70, 30],
    user: 'always',
    method: 'journal',
    invoice: false,
  },
  fee: {
    sign: 1,
    account: { role: 'bank_fees' },
    counterparty: 'pleo',
    eur: [0.5, 50],
    contra: true,
    receipts: null,
    user: 'never',
    method: 'journal',
    invoice: false,
  },
};

/** One of `ExportItemSubTypeV3`. */
export type SubType =
  | 'reimbursement_to_employee_refund'
  | 'reimbursement_to_company'
  | 'reimbursement_to_employee'
  | 'invoice_payment_returned'
  | 'invoice_payment_sent'
  | 'interest';

/** The sub-type (absent where it has no meaning), the effective sign and a line-account override. */
export interface SubTypeChoice {
  readonly subType: SubType | undefined;
  readonly sign: 1 | -1;
  readonly account: LineAccount | undefined;
}

/** Draws the sub-type of an item of `type`. */
export function subTypeFor(type: ExportItemType, rng: Rng): SubTypeChoice {
  const rule = TYPE_RULES[type];
  const plain: SubTypeChoice = { subType: undefined, sign: rule.sign, account: undefined };
  const r = rng.next();
  switch (type) {
    case 'fee':
      return r < 0.2 ? { subType: 'interest', sign: 1, account: { role: 'interest' } } : plain;
    case 'invoice_payment':
      return r < 0.9
        ? { subType: 'invoice_payment_sent', sign: 1, account: undefined }
        : { subType: 'invoice_payment_returned', sign: -1, account: undefined };
    case 'direct_reimbursement':
      if (r < 0.8) return { subType: 'reimbursement_to_employee', sign: 1, account: undefined };
      if (r < 0.92)
        return { subType: 'reimbursement_to_company', sign: -1, account: { role: 'employee_receivable' } };
      return { subType: 'reimbursement_to_employee_refund', sign: -1, account: undefined };
    case 'external_reimbursement':
      return r < 0.9
        ? { subType: 'reimbursement_to_employee', sign: 1, account: undefined }
        : { subType: 'reimbursement_to_company', sign: -1, account: { role: 'employee_receivable' } };
    default:
      return plain;
  }
}

/** Item types a reimbursement with this sub-type settles (for `reconciledEntries`). */
export function settledTypes(subType: SubType | undefined): readonly ExportItemType[] {
  if (subType === 'reimbursement_to_company') return ['personal_spend'];
  return ['out_of_pocket', 'mileage', 'per_diem'];
}
