/**
 * Export item → balanced, system-neutral entry (docs/decisions.md#w19). Pure: no I/O, no clock.
 *
 * Steps, in Pleo's order: bookkeeping method → accounts → data (amounts, VAT, dimensions,
 * description) → accounting period → posting mode. Any failure makes this item `failed` with an
 * actionable reason; it never throws for bad data or missing configuration.
 *
 * Signs: Pleo's sign convention for amounts is not documented, so amounts are read relative to
 * the item's own sign (a line with the item's sign is "part of the movement", one with the
 * opposite sign reduces it) and the item's `type`/`subType` decides the direction: spend debits
 * the line side and credits the counter side; refunds, chargebacks, cashback and top-ups are the
 * mirror image (reversal / credit note).
 */
import type { ExportItem } from '../client/index.js';
import { assertBalanced } from './balance.js';
import type { AccountsConfig, CompiledAccountingConfig } from './config.js';
import { formatMinor, isCurrencyCode, sumMinor } from './currency.js';
import { buildDescription } from './description.js';
import { linePostings } from './lines.js';
import {
  configuredAccount,
  describeCounterparty,
  MappingFailure,
  resolveContra,
  resolveVendor,
} from './resolve.js';
import { checkItemFormats, cleanEntry, cleanFailure, cleanText } from './untrusted.js';
import type {
  AccountingEntry,
  Counterparty,
  EntryKind,
  MappingContext,
  MappingResult,
  Posting,
} from './types.js';

type CounterKind = 'contra' | 'wallet' | 'outOfPocket' | 'externalReimbursement' | 'payable';

interface Flow {
  direction: 'out' | 'in';
  counter: CounterKind;
  /** Configured accounts for lines without an account (first set wins). */
  lineDefaults: (keyof AccountsConfig)[];
  /** Settlement types: the configured account wins over the line's account. */
  preferConfigured: boolean;
}

const RETURN_SUBTYPES = new Set([
  'reimbursement_to_company',
  'reimbursement_to_employee_refund',
  'invoice_payment_returned',
]);

/** How each item type moves money (docs/decisions.md#w22 type hints). */
export function flowFor(type: ExportItem['type'], subType: string | null | undefined): Flow {
  const returned = subType ? RETURN_SUBTYPES.has(subType) : false;
  const out = (
    counter: CounterKind,
    lineDefaults: (keyof AccountsConfig)[] = [],
    preferConfigured = false,
  ): Flow => ({
    direction: returned ? 'in' : 'out',
    counter,
    lineDefaults,
    preferConfigured,
  });
  switch (type) {
    case 'card_purchase':
    case 'card_invoice':
      return out('contra');
    case 'fee':
      return out('contra', ['fees']);
    case 'atm_withdrawal':
      return out('contra', ['cash']);
    case 'personal_spend':
      return out('contra', ['personalSpend', 'outOfPocket']);
    case 'invoice_payment':
      return out('contra', ['accountsPayable'], true);
    case 'direct_reimbursement':
      return out('contra', ['outOfPocket'], true);
    case 'external_reimbursement':
      return out('externalReimbursement', ['outOfPocket'], true);
    case 'out_of_pocket':
    case 'mileage':
    case 'per_diem':
      return out('outOfPocket');
    case 'invoice':
      return out('payable');
    case 'wallet_unload':
      return out('wallet', ['bank'], true);
    case 'wallet_topup':
      return {
        direction: returned ? 'out' : 'in',
        counter: 'wallet',
        lineDefaults: ['bank'],
        preferConfigured: true,
      };
    case 'refund':
    case 'chargeback':
      return { direction: 'in', counter: 'contra', lineDefaults: [], preferConfigured: false };
    case 'cashback':
      return { direction: 'in', counter: 'contra', lineDefaults: ['cashback'], preferConfigured: false };
    default: {
      const never: never = type;
      throw new MappingFailure({
        failureReasonType: 'validation_failure',
        failureReason: `Unknown export item type ${String(never)}`,
      });
    }
  }
}

/** Types booked through the accounts-payable flow when the item's method is `accounts_payable`. */
const AP_TYPES = new Set<ExportItem['type']>([
  'invoice',
  'card_invoice',
  'card_purchase',
  'invoice_payment',
  'refund',
  'chargeback',
]);

/**
 * Maps one export item to a balanced entry or an item failure.
 *
 * @example
 * const result = mapExportItem(item, compileAccountingConfig(raw), { jobId, companyId });
 * if (result.ok) await adapter.record(result.entry, ...); else report(result.failureReasonType, result.failureReason);
 */
export function mapExportItem(
  item: ExportItem,
  config: CompiledAccountingConfig,
  ctx: MappingContext,
): MappingResult {
  try {
    // Pleo's data is untrusted (issue 17): formats, enums and the company first; the entry's
    // identifiers checked and its free text cleaned last, so no adapter sees raw text.
    checkItemFormats(item, ctx);
    return { ok: true, entry: cleanEntry(buildEntry(item, config, ctx)) };
  } catch (error) {
    if (error instanceof MappingFailure) return { ok: false, ...cleanFailure(error.failure) };
    throw error;
  }
}

function invalid(reason: string): MappingFailure {
  return new MappingFailure({ failureReasonType: 'validation_failure', failureReason: reason });
}

function buildEntry(
  item: ExportItem,
  config: CompiledAccountingConfig,
  ctx: MappingContext,
): AccountingEntry {
  const currency = item.amount.inWalletCurrency.currency;
  if (!isCurrencyCode(currency)) throw invalid(`The expense has no valid wallet currency (got ${currency}).`);
  if (item.accountingEntryLines.length === 0) throw invalid('The expense has no accounting lines.');
  const itemValue = item.amount.inWalletCurrency.value;
  if (!Number.isSafeInteger(itemValue))
    throw invalid(`The expense amount ${itemValue} is not a whole number of minor units.`);

  const methodRaw = item.bookkeeping?.method;
  const method = methodRaw === undefined || methodRaw === null ? 'legacy' : methodRaw;
  const isWalletMove = item.type === 'wallet_topup' || item.type === 'wallet_unload';
  const ap = method === 'accounts_payable' && !isWalletMove && AP_TYPES.has(item.type);
  const flow = flowFor(item.type, item.subType);

  // Sign normalisation: +1 when the item's own amount is positive (or zero with positive lines).
  const lineSum = sumMinor(item.accountingEntryLines.map((l) => l.lineAmount.inWalletCurrency.value));
  const sign = itemValue !== 0 ? Math.sign(itemValue) : lineSum < 0 ? -1 : 1;
  const directionSign = flow.direction === 'out' ? 1 : -1;

  let counterparty: Counterparty | undefined;
  if (ap) counterparty = resolveVendor(item, config);
  else counterparty = describeCounterparty(item, config);

  // Line side. AP payments book against the vendor's payable account instead of the lines' accounts.
  const lines = linePostings(item, flow, sign * directionSign, config);
  const total = sumMinor(item.accountingEntryLines.map((l) => l.lineAmount.inWalletCurrency.value * sign));
  const itemTotal = itemValue * sign;
  const postings: Posting[] = [];
  let kind: EntryKind = 'journal';
  const payable = (value: number, party: Counterparty & { account: string }): Posting => ({
    account: party.account,
    amount: { currency, value },
    dimensions: {},
    role: 'payable',
    ...(party.code ? { party: party.code } : {}),
  });

  if (ap && item.type === 'invoice_payment') {
    kind = 'payment';
    const party = counterparty as Counterparty & { account: string };
    postings.push(payable(total * directionSign, party));
  } else {
    postings.push(...lines.postings);
  }

  // Rounding: the item amount and the sum of its lines must agree (docs/decisions.md#w20).
  let counterTotal = total;
  if (itemTotal !== total) {
    const diff = itemTotal - total;
    const rounding = config.accounts.roundingDifference;
    if (rounding === undefined || Math.abs(diff) > item.accountingEntryLines.length) {
      throw invalid(
        `The lines of this expense add up to ${formatMinor(total, currency)} ${currency} but its amount is ${formatMinor(itemTotal, currency)} ${currency}: correct the split in Pleo, or configure ${config.keyPrefix}.accounts.roundingDifference for differences of a few minor units.`,
      );
    }
    postings.push({
      account: rounding,
      amount: { currency, value: diff * directionSign },
      dimensions: {},
      role: 'rounding',
    });
    counterTotal = itemTotal;
  }

  // The counter side moved wallet currency: it never carries a supplier-currency cost.
  const counterValue = -counterTotal * directionSign;
  switch (flow.counter) {
    case 'contra':
    case 'wallet': {
      const contra = resolveContra(item, currency, flow.counter === 'wallet', config);
      if (ap && item.type !== 'invoice_payment') {
        // Card-paid AP: invoice (or credit note) and its settlement in one entry; the vendor's
        // payable nets to zero but its sub-ledger shows both.
        const party = counterparty as Counterparty & { account: string };
        kind = flow.direction === 'out' ? 'supplier_invoice' : 'supplier_credit_note';
        postings.push(payable(counterValue, party), payable(-counterValue, party));
      }
      postings.push({
        account: contra.code,
        ...(contra.name ? { accountName: contra.name } : {}),
        amount: { currency, value: counterValue },
        dimensions: {},
        role: 'contra',
      });
      break;
    }
    case 'outOfPocket':
    case 'externalReimbursement': {
      const account = configuredAccount([flow.counter], config);
      postings.push({
        account,
        amount: { currency, value: counterValue },
        dimensions: counterDimensions(item, config),
        role: 'contra',
      });
      break;
    }
    case 'payable': {
      let party: Counterparty & { account: string };
      if (ap) party = counterparty as Counterparty & { account: string };
      else {
        const account = counterparty?.account ?? configuredAccount(['accountsPayable'], config);
        party = { ...(counterparty ?? { source: 'supplier' }), account };
      }
      kind = ap ? (flow.direction === 'out' ? 'supplier_invoice' : 'supplier_credit_note') : 'journal';
      postings.push(payable(counterValue, party));
      break;
    }
    default: {
      const never: never = flow.counter;
      throw new Error(`unhandled counter ${String(never)}`);
    }
  }

  const { date, originalDate } = postingDate(item.date, config);
  const supplierAmount = item.amount.inSupplierCurrency;
  const info = item.additionalInformation;
  const entry: AccountingEntry = {
    accountingEntryId: item.accountingEntryId,
    jobId: ctx.jobId,
    companyId: ctx.companyId,
    date,
    ...(originalDate ? { originalDate } : {}),
    kind,
    method,
    itemType: item.type,
    ...(item.subType ? { itemSubType: item.subType } : {}),
    description: buildDescription(item, counterparty, config.descriptionMaxLength),
    ...(item.note ? { note: item.note } : {}),
    reconciliationId: info.reconciliationId,
    reconciledEntries: (info.reconciledEntries ?? []).filter((e): e is string => typeof e === 'string'),
    attendees: (info.attendees ?? []).filter((e): e is string => typeof e === 'string'),
    currency,
    postings: dropZeroPostings(postings),
    posting: config.postingMode,
    ...(counterparty ? { counterparty } : {}),
    ...(item.team
      ? { team: { name: item.team.name, ...(item.team.code ? { code: item.team.code } : {}) } }
      : {}),
    ...(item.user
      ? { user: { name: item.user.name, ...(item.user.code ? { code: item.user.code } : {}) } }
      : {}),
    ...(info.invoiceInformation
      ? {
          invoice: {
            number: info.invoiceInformation.invoiceNumber,
            date: info.invoiceInformation.invoiceDate.slice(0, 10),
            ...(info.invoiceInformation.dueDate
              ? { dueDate: info.invoiceInformation.dueDate.slice(0, 10) }
              : {}),
          },
        }
      : {}),
    ...(item.servicePeriod
      ? {
          servicePeriod: {
            from: item.servicePeriod.from.slice(0, 10),
            to: item.servicePeriod.to.slice(0, 10),
          },
        }
      : {}),
    files: (item.files ?? []).flatMap((f, index) =>
      f ? [{ index, contentType: f.type, size: f.size }] : [],
    ),
    metadata: {
      ...(supplierAmount.currency !== currency &&
      isCurrencyCode(supplierAmount.currency) &&
      Number.isSafeInteger(supplierAmount.value)
        ? {
            supplierAmount: `${formatMinor(supplierAmount.value, supplierAmount.currency)} ${supplierAmount.currency}`,
          }
        : {}),
      ...(item.supplier?.categoryCode ? { mcc: item.supplier.categoryCode } : {}),
    },
  };
  assertBalanced(entry);
  return entry;
}

function counterDimensions(item: ExportItem, config: CompiledAccountingConfig): Record<string, string> {
  const dims: Record<string, string> = {};
  if (config.dimensions.user && item.user) dims['user'] = item.user.code ?? cleanText(item.user.name);
  return dims;
}

/** Zero postings carry no information; keep at least two so an all-zero entry still has both sides. */
function dropZeroPostings(postings: Posting[]): Posting[] {
  const nonZero = postings.filter((p) => p.amount.value !== 0);
  if (nonZero.length >= 2) return nonZero;
  return postings.slice(0, Math.max(2, nonZero.length));
}

/** The posting date (date part of `date`), moved or refused when it falls in a closed period. */
export function postingDate(
  itemDate: string,
  config: CompiledAccountingConfig,
): { date: string; originalDate?: string } {
  const date = itemDate.slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw invalid(`The expense date ${JSON.stringify(itemDate)} is not a date.`);
  const lock = config.lockDate;
  if (lock === undefined || date > lock) return { date };
  if (config.closedPeriod === 'move') {
    const next = new Date(`${lock}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    return { date: next.toISOString().slice(0, 10), originalDate: date };
  }
  throw new MappingFailure({
    failureReasonType: 'accounting_system_validation_failure',
    failureReason: `The expense is dated ${date}, in a closed accounting period (locked up to ${lock}). Reopen the period, or set ${config.keyPrefix}.closedPeriod to "move" to post it on the first open date.`,
  });
}
