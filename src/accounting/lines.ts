/**
 * The line side of an entry: one expense posting per Pleo line (own account, tax and tags) plus
 * its VAT postings.
 *
 * VAT (docs/decisions.md#w23; for Pleo's contradictory wording of the tax types, docs/decisions.md#c23):
 * - `lineAmount` is what was paid for the line (the lines add up to the wallet movement).
 * - `inclusive`: the tax is inside the line: expense `lineAmount − tax`, tax to input VAT.
 * - `exclusive`: the tax is on top of `netAmount` (the amount excluding tax). When
 *   `netAmount + tax = lineAmount` it was paid inside the line and is booked like inclusive; when
 *   `netAmount = lineAmount` it was not paid to the supplier (self-assessed, e.g. US use tax) and
 *   is booked like reverse charge: expense `lineAmount`, input tax debit, output tax credit.
 * - `reverse` (EU reverse charge): the supplier charged no VAT; the expense is the full
 *   `lineAmount`, and the self-assessed VAT is posted both as input (debit) and output (credit),
 *   which net to zero.
 * - The tax is `tax.amount.inWalletCurrency`; only when that is 0 with a non-zero rate is it
 *   derived from `tax.rate` (exact integer arithmetic, halves away from zero).
 */
import type { ExportItem, ExportItemLine } from '../client/index.js';
import type { AccountsConfig, CompiledAccountingConfig } from './config.js';
import { taxIncludedIn, taxOn } from './currency.js';
import {
  checkTaxCode,
  MappingFailure,
  resolveLineAccount,
  resolveTags,
  resolveTaxAccounts,
} from './resolve.js';
import type { MinorAmount, Posting } from './types.js';
import { cleanText } from './untrusted.js';

export interface LineFlow {
  lineDefaults: (keyof AccountsConfig)[];
  preferConfigured: boolean;
}

function invalid(reason: string): MappingFailure {
  return new MappingFailure({ failureReasonType: 'validation_failure', failureReason: reason });
}

/**
 * Postings for every line. `factor` (±1) turns a Pleo line amount into the posting amount of
 * the line side (debit for spend, credit for money coming back).
 */
export function linePostings(
  item: ExportItem,
  flow: LineFlow,
  factor: number,
  config: CompiledAccountingConfig,
): { postings: Posting[] } {
  const currency = item.amount.inWalletCurrency.currency;
  const postings: Posting[] = [];
  item.accountingEntryLines.forEach((line, index) => {
    postings.push(...postingsForLine(item, line, index, flow, factor, currency, config));
  });
  return { postings };
}

function postingsForLine(
  item: ExportItem,
  line: ExportItemLine,
  index: number,
  flow: LineFlow,
  factor: number,
  currency: string,
  config: CompiledAccountingConfig,
): Posting[] {
  const wallet = line.lineAmount.inWalletCurrency;
  if (wallet.currency !== currency) {
    throw invalid(
      `Line ${index + 1} is in ${wallet.currency} but the expense wallet currency is ${currency}.`,
    );
  }
  if (!Number.isSafeInteger(wallet.value))
    throw invalid(`Line ${index + 1} amount ${wallet.value} is not a whole number of minor units.`);
  const lineValue = wallet.value * factor;
  const lineSign = Math.sign(lineValue) || 1;
  const account = resolveLineAccount(line, flow.lineDefaults, flow.preferConfigured, config);
  const dimensions = resolveTags(line, config);
  if (config.dimensions.team && item.team) dimensions['team'] = item.team.code ?? cleanText(item.team.name);
  if (config.dimensions.user && item.user) dimensions['user'] = item.user.code ?? cleanText(item.user.name);

  const supplier = line.lineAmount.inSupplierCurrency;
  const foreign =
    supplier.currency !== currency &&
    /^[A-Z]{3}$/.test(supplier.currency) &&
    Number.isSafeInteger(supplier.value) &&
    supplier.value !== 0;
  const supplierLine = foreign ? Math.abs(supplier.value) * lineSign : 0;

  const tax = line.tax;
  let taxValue = 0;
  let supplierTax = 0;
  // Self-assessed: the tax is not part of what was paid (reverse charge; exclusive tax whose
  // netAmount equals the line amount), so it is posted both as input and as output tax.
  let selfAssessed = tax?.type === 'reverse';
  if (tax) {
    checkTaxCode(tax, config);
    const taxWallet = tax.amount.inWalletCurrency;
    if (taxWallet.currency !== currency && taxWallet.value !== 0) {
      throw invalid(
        `The tax of line ${index + 1} is in ${taxWallet.currency} but the expense wallet currency is ${currency}.`,
      );
    }
    if (!Number.isSafeInteger(taxWallet.value))
      throw invalid(`The tax of line ${index + 1} is not a whole number of minor units.`);
    const net = line.netAmount.inWalletCurrency;
    const netMagnitude =
      net.currency === currency && Number.isSafeInteger(net.value) ? Math.abs(net.value) : undefined;
    let magnitude = Math.abs(taxWallet.value);
    if (tax.type === 'exclusive') {
      // Exclusive tax sits on top of the net amount. It was paid inside the line when
      // net + tax = line; it is self-assessed (not paid to the supplier) when net = line.
      selfAssessed =
        netMagnitude === Math.abs(lineValue) &&
        (magnitude === 0 || netMagnitude + magnitude !== Math.abs(lineValue));
    }
    if (magnitude === 0 && tax.rate > 0) {
      magnitude = selfAssessed
        ? taxOn(Math.abs(lineValue), tax.rate)
        : taxIncludedIn(Math.abs(lineValue), tax.rate);
    }
    if (!selfAssessed && magnitude > Math.abs(lineValue)) {
      throw invalid(`The tax of line ${index + 1} is larger than the line amount.`);
    }
    taxValue = magnitude * lineSign;
    const taxSupplier = tax.amount.inSupplierCurrency;
    if (foreign && taxSupplier.currency === supplier.currency && Number.isSafeInteger(taxSupplier.value)) {
      supplierTax = Math.abs(taxSupplier.value) * lineSign;
    }
  }

  const taxInfo = tax
    ? { tax: { rate: tax.rate, type: tax.type, ...(tax.code ? { code: tax.code } : {}) } }
    : {};
  const cost = (value: number): { cost?: MinorAmount } =>
    foreign && value !== 0 && Math.sign(value) === lineSign
      ? { cost: { currency: supplier.currency, value } }
      : {};
  const reverse = tax?.type === 'reverse';
  const expenseValue = selfAssessed ? lineValue : lineValue - taxValue;
  const expenseCost = selfAssessed ? supplierLine : supplierLine - supplierTax;
  const postings: Posting[] = [
    {
      account: account.code,
      ...(account.name ? { accountName: account.name } : {}),
      amount: { currency, value: expenseValue },
      ...cost(expenseCost),
      dimensions,
      ...taxInfo,
      lineId: line.accountingEntryLineId,
      role: 'expense',
    },
  ];
  if (tax && taxValue !== 0) {
    const accounts = resolveTaxAccounts(tax, selfAssessed, config);
    postings.push({
      account: accounts.input,
      amount: { currency, value: taxValue },
      ...(selfAssessed ? {} : cost(supplierTax)),
      dimensions: {},
      ...taxInfo,
      lineId: line.accountingEntryLineId,
      role: reverse ? 'reverse_charge_tax' : 'tax',
    });
    if (selfAssessed && accounts.output !== undefined) {
      postings.push({
        account: accounts.output,
        amount: { currency, value: -taxValue },
        dimensions: {},
        ...taxInfo,
        lineId: line.accountingEntryLineId,
        role: reverse ? 'reverse_charge_tax' : 'tax',
      });
    }
  }
  return postings;
}
