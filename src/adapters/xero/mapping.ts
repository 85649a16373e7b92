/**
 * System-neutral entry → one Xero document. Pure; no I/O. The choice mirrors Pleo's own Xero
 * integration:
 *
 * | Entry | Xero document | Found again by |
 * | --- | --- | --- |
 * | money through the Pleo wallet (card spend, refunds, fees, cashback, top-ups, AP paid by card) | `BankTransaction` `SPEND` (money out) or `RECEIVE` (money in) on the bank account of the wallet currency (`bankAccounts`) | `Reference` = accountingEntryId |
 * | a supplier invoice owed to a vendor (AP, not paid in the same entry) | `Invoice` `ACCPAY` (a bill) for the vendor contact | `InvoiceNumber` ending in the accountingEntryId |
 * | anything else (out-of-pocket, mileage, per diem, legacy invoices, credit notes) in the base currency | `ManualJournal` | `Narration` ending in the accountingEntryId |
 *
 * Lines: paid tax is folded into its expense line (`TaxType` from `taxTypes`, `TaxAmount` = Pleo's
 * tax, `LineAmountTypes: Exclusive`), so Xero books it on the tax rate's account and reports it in
 * the VAT return. Self-assessed tax (reverse charge, use tax) is booked as the two explicit lines
 * the neutral entry carries (they net to zero), because a Xero reverse-charge rate would book the
 * self-assessment a second time. Tags become tracking options (`tracking`: group → category).
 * A card-paid AP entry carries the vendor's payable twice (invoice and settlement) netting to zero;
 * Xero shows the same as a spend-money transaction with the vendor as contact.
 */
import type { AccountingEntry, Posting } from '../../accounting/index.js';
import { currencyExponent, formatMinor } from '../../accounting/index.js';
import type { components } from '../../generated/xero-accounting.js';
import type { ItemRefusal } from '../types.js';

export type BankTransaction = components['schemas']['BankTransaction'];
export type Invoice = components['schemas']['Invoice'];
export type ManualJournal = components['schemas']['ManualJournal'];
type LineItem = components['schemas']['LineItem'];
type ManualJournalLine = components['schemas']['ManualJournalLine'];

export type XeroDocument =
  | { kind: 'bank_transaction'; body: BankTransaction }
  | { kind: 'bill'; body: Invoice }
  | { kind: 'manual_journal'; body: ManualJournal };

export interface MappingConfig {
  bankAccounts: Readonly<Record<string, string>>;
  tracking: Readonly<Record<string, string>>;
  taxTypes: Readonly<Record<string, string>>;
  noTaxType: string;
  defaultContact: string;
}

/** Item types whose counter side is the Pleo wallet (the rest: employee, payables, external). */
const WALLET_COUNTER = new Set<AccountingEntry['itemType']>([
  'card_purchase',
  'card_invoice',
  'fee',
  'atm_withdrawal',
  'personal_spend',
  'invoice_payment',
  'direct_reimbursement',
  'wallet_unload',
  'wallet_topup',
  'refund',
  'chargeback',
  'cashback',
]);

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws unless `id` is a UUID: the only ids ever put into a `where` clause. */
export function assertEntryId(id: string): string {
  if (!ID.test(id)) throw new Error(`not an accounting entry id (uuid expected): ${JSON.stringify(id)}`);
  return id;
}

/** The bill's `InvoiceNumber`: the supplier's number (when known), then the entry id. */
export function billNumber(entry: AccountingEntry): string {
  const number = entry.invoice?.number.replace(/\s+/g, ' ').trim().slice(0, 200);
  return number ? `${number} · ${entry.accountingEntryId}` : entry.accountingEntryId;
}

/** The manual journal's `Narration`: the description, then the entry id. */
export function journalNarration(entry: AccountingEntry): string {
  return `${entry.description.slice(0, 3800)} · ${entry.accountingEntryId}`;
}

/** Minor units → the decimal number Xero expects (exact for every ISO 4217 exponent). */
export function toDecimal(value: number, currency: string): number {
  return Number(formatMinor(value, currency).replace(/,/g, ''));
}

const refuse = (failureReasonType: ItemRefusal['failureReasonType'], failureReason: string): ItemRefusal => ({
  status: 'failed',
  failureReasonType,
  failureReason,
});

function tracking(posting: Posting, config: MappingConfig): { Name: string; Option: string }[] {
  const out: { Name: string; Option: string }[] = [];
  for (const [group, category] of Object.entries(config.tracking)) {
    const option = posting.dimensions[group];
    if (option !== undefined) out.push({ Name: category, Option: option });
  }
  return out;
}

function taxTypeFor(posting: Posting, config: MappingConfig): string | undefined {
  const code = posting.tax?.code;
  if (code !== undefined && config.taxTypes[code] !== undefined) return config.taxTypes[code];
  return config.taxTypes['default'];
}

/**
 * Line items for the postings of the line side. `sign` turns the entry's debit-positive amounts
 * into Xero's positive line amounts (+1 for spend and bills, -1 for money received).
 */
function lineItems(
  postings: readonly Posting[],
  sign: 1 | -1,
  entry: AccountingEntry,
  config: MappingConfig,
): LineItem[] | ItemRefusal {
  const items: LineItem[] = [];
  const amount = (value: number): number => toDecimal(value * sign, entry.currency);
  for (let i = 0; i < postings.length; i++) {
    const p = postings[i] as Posting;
    const next = postings[i + 1];
    const selfAssessedPair =
      p.role === 'tax' &&
      next?.role === 'tax' &&
      next.lineId === p.lineId &&
      next.amount.value === -p.amount.value;
    const last = items.at(-1);
    const foldable =
      p.role === 'tax' &&
      !selfAssessedPair &&
      last !== undefined &&
      last.TaxAmount === undefined &&
      i > 0 &&
      postings[i - 1]?.role === 'expense' &&
      postings[i - 1]?.lineId === p.lineId;
    if (foldable) {
      const taxType = taxTypeFor(p, config);
      if (taxType === undefined) {
        const code = p.tax?.code;
        return refuse(
          'tax_code_unknown',
          `No Xero tax rate for Pleo tax ${code ?? `at ${(p.tax?.rate ?? 0) * 100}%`}: add adapter.taxTypes.${code ?? 'default'} with the TaxType of the rate in Xero → Settings → Tax rates (e.g. INPUT2).`,
        );
      }
      last.TaxType = taxType;
      last.TaxAmount = amount(p.amount.value);
      continue;
    }
    const line: LineItem = {
      Description: (p.role === 'expense'
        ? entry.description
        : `${entry.description} (${p.role.replace(/_/g, ' ')})`
      ).slice(0, 4000),
      Quantity: 1,
      UnitAmount: amount(p.amount.value),
      AccountCode: p.account,
      TaxType: config.noTaxType,
      LineAmount: amount(p.amount.value),
    };
    const t = tracking(p, config);
    if (t.length > 0) line.Tracking = t;
    items.push(line);
    if (selfAssessedPair) {
      const pair: LineItem = {
        ...line,
        UnitAmount: amount(next.amount.value),
        AccountCode: next.account,
        LineAmount: amount(next.amount.value),
      };
      delete pair.Tracking;
      items.push(pair);
      i++;
    }
  }
  // Quantity × UnitAmount must equal LineAmount, and Xero recomputes it: keep them identical.
  return items;
}

function contactName(entry: AccountingEntry, config: MappingConfig): string {
  return (entry.counterparty?.name ?? config.defaultContact).slice(0, 255);
}

/**
 * The Xero document for an entry, or the item's refusal when Xero cannot take it as configured.
 * `baseCurrency` is the organisation's (manual journals are base-currency only).
 */
export function toXeroDocument(
  entry: AccountingEntry,
  config: MappingConfig,
  baseCurrency: string,
): { ok: true; document: XeroDocument } | { ok: false; refusal: ItemRefusal } {
  assertEntryId(entry.accountingEntryId);
  if (currencyExponent(entry.currency) === undefined) {
    return { ok: false, refusal: refuse('validation_failure', `Unknown currency ${entry.currency}`) };
  }
  const status = entry.posting === 'final' ? 'AUTHORISED' : 'DRAFT';
  // Drop a payable that nets to zero within the entry (invoice and its settlement by card).
  const payables = entry.postings.filter((p) => p.role === 'payable');
  const payableNet = payables.reduce((s, p) => s + p.amount.value, 0);
  const postings =
    payables.length > 1 && payableNet === 0
      ? entry.postings.filter((p) => p.role !== 'payable')
      : entry.postings;
  const counter = postings.filter((p) => p.role === 'contra');
  const wallet = WALLET_COUNTER.has(entry.itemType) && counter.length === 1 ? counter[0] : undefined;
  const bankAccount = config.bankAccounts[entry.currency];

  if (wallet !== undefined && bankAccount !== undefined) {
    const spend = wallet.amount.value <= 0;
    const lines = lineItems(
      postings.filter((p) => p !== wallet),
      spend ? 1 : -1,
      entry,
      config,
    );
    if (!Array.isArray(lines)) return { ok: false, refusal: lines };
    return {
      ok: true,
      document: {
        kind: 'bank_transaction',
        body: {
          Type: spend ? 'SPEND' : 'RECEIVE',
          Contact: { Name: contactName(entry, config) },
          BankAccount: { Code: bankAccount },
          Date: entry.date,
          Reference: entry.accountingEntryId,
          CurrencyCode: entry.currency as NonNullable<BankTransaction['CurrencyCode']>,
          LineAmountTypes: 'Exclusive',
          LineItems: lines,
          // Bank transactions have no draft state in Xero: they are always AUTHORISED.
          Status: 'AUTHORISED',
        },
      },
    };
  }

  const owed = postings.filter((p) => p.role === 'payable');
  if (entry.kind === 'supplier_invoice' && owed.length === 1 && counter.length === 0) {
    const lines = lineItems(
      postings.filter((p) => p.role !== 'payable'),
      1,
      entry,
      config,
    );
    if (!Array.isArray(lines)) return { ok: false, refusal: lines };
    return {
      ok: true,
      document: {
        kind: 'bill',
        body: {
          Type: 'ACCPAY',
          Contact: { Name: contactName(entry, config) },
          // The posting date of the neutral entry (as every target books it, and already moved out
          // of a closed period when so configured); the due date never before it.
          Date: entry.date,
          DueDate:
            entry.invoice?.dueDate !== undefined && entry.invoice.dueDate > entry.date
              ? entry.invoice.dueDate
              : entry.date,
          InvoiceNumber: billNumber(entry),
          CurrencyCode: entry.currency as NonNullable<Invoice['CurrencyCode']>,
          LineAmountTypes: 'Exclusive',
          LineItems: lines,
          Status: status,
        },
      },
    };
  }

  if (entry.currency !== baseCurrency) {
    const hint =
      wallet !== undefined
        ? `add adapter.bankAccounts.${entry.currency} with the code of the Xero bank account for the Pleo ${entry.currency} wallet`
        : `Xero manual journals are in the base currency (${baseCurrency}) only; this ${entry.itemType.replace(/_/g, ' ')} in ${entry.currency} has no Xero document that fits`;
    return {
      ok: false,
      refusal: refuse(
        wallet !== undefined ? 'missing_configuration' : 'accounting_system_validation_failure',
        `Cannot book in Xero: ${hint}.`,
      ),
    };
  }
  const journalLines: ManualJournalLine[] = entry.postings.map((p) => {
    const line: ManualJournalLine = {
      LineAmount: toDecimal(p.amount.value, entry.currency),
      AccountCode: p.account,
      Description: entry.description.slice(0, 4000),
      TaxType: config.noTaxType,
    };
    const t = tracking(p, config);
    if (t.length > 0) line.Tracking = t;
    return line;
  });
  return {
    ok: true,
    document: {
      kind: 'manual_journal',
      body: {
        Narration: journalNarration(entry),
        Date: entry.date,
        LineAmountTypes: 'NoTax',
        JournalLines: journalLines,
        Status: entry.posting === 'final' ? 'POSTED' : 'DRAFT',
      },
    },
  };
}
