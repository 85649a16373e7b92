import type { ExportItem } from '../client/index.js';
import type { Counterparty } from './types.js';
import { cleanText } from './untrusted.js';

const TYPE_LABELS: Record<ExportItem['type'], string> = {
  card_purchase: 'Card purchase',
  card_invoice: 'Card invoice',
  out_of_pocket: 'Out-of-pocket expense',
  mileage: 'Mileage',
  per_diem: 'Per diem',
  external_reimbursement: 'External reimbursement',
  direct_reimbursement: 'Reimbursement',
  invoice: 'Invoice',
  invoice_payment: 'Invoice payment',
  chargeback: 'Chargeback',
  refund: 'Refund',
  cashback: 'Cashback',
  atm_withdrawal: 'ATM withdrawal',
  wallet_topup: 'Wallet top-up',
  wallet_unload: 'Wallet unload',
  personal_spend: 'Personal spend',
  fee: 'Fee',
};

function clean(text: string | null | undefined): string {
  return cleanText(text ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

function initials(name: string): string {
  return name
    .split(' ')
    .filter(Boolean)
    .map((part) => `${part[0] ?? ''}.`)
    .join('');
}

/**
 * Consolidated description (docs/decisions.md#w23): supplier name · user name · note. When longer than
 * `maxLength`, the user's name becomes initials, then the text is shortened with an ellipsis.
 * Falls back to the item type ("Card purchase") when Pleo sent none of the three.
 */
export function buildDescription(
  item: ExportItem,
  counterparty: Counterparty | undefined,
  maxLength: number,
): string {
  const who = clean(counterparty?.name ?? item.supplier?.name ?? item.vendor?.name) || TYPE_LABELS[item.type];
  const user = clean(item.user?.name);
  const note = clean(item.note);
  const join = (u: string): string => [who, u, note].filter(Boolean).join(' · ');
  let text = join(user);
  if (text.length > maxLength && user) text = join(initials(user));
  if (text.length > maxLength) text = `${text.slice(0, maxLength - 1).trimEnd()}…`;
  return text;
}
