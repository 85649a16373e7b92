/**
 * The system-neutral accounting entry: what an export item becomes before any accounting system
 * sees it. Pure data; amounts are integers in minor units of their currency (never floats).
 *
 * Terminology:
 * - **entry**: one balanced booking for one export item (`accountingEntryId`).
 * - **posting**: one line of an entry; debit > 0, credit < 0, in the item's wallet currency.
 * - **line side / counter side**: the item's `accountingEntryLines` (expense, tax) versus the
 *   account the money came from or is owed to (Pleo wallet/contra, out-of-pocket, payables).
 * - **direction**: `out` for spend (debit the line side, credit the counter side), `in` for money
 *   coming back (refund, chargeback, cashback, wallet top-up: the mirror image).
 *
 * Invariant (checked by `assertBalanced`): for every entry, the sum of `postings[].amount.value`
 * is exactly zero, and every posting is in the entry's `currency`.
 */
import type { ExportItemType, ExportJobItemFailureReasonType, TaxType } from '../client/index.js';

export interface MinorAmount {
  /** ISO 4217 code. */
  currency: string;
  /** Integer amount in minor units (JPY: yen, EUR: cents, KWD: fils). Positive = debit. */
  value: number;
}

export type PostingRole =
  'expense' | 'tax' | 'reverse_charge_tax' | 'contra' | 'payable' | 'revenue' | 'rounding' | 'other';

export interface Posting {
  /** Account code in the accounting system (e.g. '6010', '2610'). */
  account: string;
  /** Human name of the account when the item or the configuration knows it. */
  accountName?: string;
  /** Wallet-currency amount, minor units; debit > 0, credit < 0. */
  amount: MinorAmount;
  /**
   * The same value in the supplier's currency, when that differs from the wallet currency: kept
   * as the cost (hledger `@@`) by systems that support it. Same sign as `amount`.
   */
  cost?: MinorAmount;
  /** Dimensions: tag group code → tag code, plus `team`/`user` when configured. */
  dimensions: Record<string, string>;
  /** Tax details for expense and tax postings. */
  tax?: { code?: string; rate: number; type: TaxType };
  /** Pleo line id for expense and tax postings. */
  lineId?: string;
  /** Vendor (or legacy supplier) code for payable postings: the sub-ledger key. */
  party?: string;
  role: PostingRole;
}

export type EntryKind = 'journal' | 'supplier_invoice' | 'supplier_credit_note' | 'payment';
export type ResolvedMethod = 'journal' | 'none' | 'accounts_payable' | 'legacy';

export interface Counterparty {
  /** `vendor` from vendor-based bookkeeping, `supplier` from legacy items. */
  source: 'vendor' | 'supplier';
  code?: string;
  name?: string;
  /** The payable account resolved for it (AP only). */
  account?: string;
  taxIdentifier?: string;
}

export interface AccountingEntry {
  accountingEntryId: string;
  jobId: string;
  companyId: string;
  /** Posting date, ISO `YYYY-MM-DD` (after closed-period handling). */
  date: string;
  /** The item's original date when it was moved out of a closed period. */
  originalDate?: string;
  kind: EntryKind;
  /** How the bookkeeping method was resolved (`legacy` = no `bookkeeping` on the item). */
  method: ResolvedMethod;
  itemType: ExportItemType;
  itemSubType?: string;
  description: string;
  note?: string;
  reconciliationId: string;
  reconciledEntries: string[];
  attendees: string[];
  /** Wallet currency of the entry. */
  currency: string;
  postings: Posting[];
  /** Draft (pending) or final (posted), from configuration. */
  posting: 'draft' | 'final';
  counterparty?: Counterparty;
  team?: { code?: string; name: string };
  user?: { code?: string; name: string };
  invoice?: { number: string; date: string; dueDate?: string };
  servicePeriod?: { from: string; to: string };
  /** Receipts the item carries (count and MIME types), so adapters can check none is dropped. */
  files: { index: number; contentType: string; size: number }[];
  /** Free-form string metadata (e.g. `supplierAmount`); adapters may show it, never parse it. */
  metadata: Record<string, string>;
}

/** An item the mapping refused: reported to Pleo as `failed` with this type and reason. */
export interface ItemFailure {
  failureReasonType: ExportJobItemFailureReasonType;
  /** Actionable, bookkeeper-facing text (Pleo's recommended templates where they exist). */
  failureReason: string;
}

export type MappingResult = { ok: true; entry: AccountingEntry } | ({ ok: false } & ItemFailure);

/** What the engine passes along with every item. */
export interface MappingContext {
  jobId: string;
  companyId: string;
}
