/**
 * Counterparties and people of an item: merchant (supplier), vendor and bookkeeping method,
 * user and team, attendees, and invoice information.
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';
import { bankAccountFor } from './bank.js';
import type { CatalogVendor } from './catalog.js';
import { isoDateTime } from './catalog.js';
import type { ExportItemType, FailureKind, JobContext } from './job.js';
import type { Rng } from './prng.js';
import type { MerchantSpec } from './merchants.js';
import { ATMS, MERCHANTS } from './merchants.js';
import { PEOPLE } from './reference.js';
import type { Counterparty, SubType, TypeRule } from './type-rules.js';

type S = components['schemas'];

const CARD_MERCHANTS = MERCHANTS.filter((m) => m.use !== 'invoice');
const INVOICE_MERCHANTS = MERCHANTS.filter((m) => m.use !== 'card' && m.vendorCode !== null);
const DAY_MS = 86_400_000;

function pleoMerchant(ctx: JobContext): MerchantSpec {
  return {
    name: 'Pleo Technologies A/S',
    mcc: '',
    country: 'DK',
    currency: ctx.walletCurrency,
    account: '6300',
    taxCode: 'I0',
    vendorCode: 'V1000',
    minEur: 0.5,
    maxEur: 50,
    use: 'card',
  };
}

function localFirst(
  ctx: JobContext,
  rng: Rng,
  pool: readonly MerchantSpec[],
  foreignRatio: number,
): MerchantSpec {
  const foreign = rng.chance(foreignRatio);
  const matching = pool.filter((m) => (m.currency === ctx.walletCurrency) !== foreign);
  return rng.pick(matching.length > 0 ? matching : pool);
}

/** The merchant an item is with, or null for types without one (mileage, top-ups…). */
export function pickMerchant(ctx: JobContext, rng: Rng, counterparty: Counterparty): MerchantSpec | null {
  switch (counterparty) {
    case 'card':
      return localFirst(ctx, rng, CARD_MERCHANTS, ctx.foreignCurrencyRatio);
    case 'invoice':
      return localFirst(ctx, rng, INVOICE_MERCHANTS, 0.4);
    case 'atm':
      return localFirst(ctx, rng, ATMS, 0.3);
    case 'pleo':
      return pleoMerchant(ctx);
    case 'none':
      return null;
  }
}

/** `supplier`: merchant data plus the legacy ERP supplier code/account of its vendor. */
export function supplierOf(merchant: MerchantSpec | null, vendor: CatalogVendor | null): S['SupplierV3'] {
  if (merchant === null) return null;
  return {
    name: merchant.name,
    categoryCode: merchant.mcc === '' ? null : merchant.mcc,
    country: merchant.country,
    code: vendor?.code ?? null,
    account: vendor?.externalId ?? null,
    taxIdentifier: vendor?.taxRegistrationNumber ?? null,
  };
}

/** `vendor`: the VendorV3 shape; optional non-nullable fields are omitted when unknown. */
export function vendorObject(v: CatalogVendor | null): S['VendorV3'] {
  if (v === null) return null;
  return {
    id: v.id,
    name: v.name,
    defaultCurrency: v.defaultCurrency,
    code: v.code,
    externalId: v.externalId,
    country: v.country,
    ...(v.registrationNumber !== null ? { registrationNumber: v.registrationNumber } : {}),
    ...(v.taxRegistrationNumber !== null ? { taxRegistrationNumber: v.taxRegistrationNumber } : {}),
  };
}

/** The merchant's own vendor, if the accounting system knows it. */
export function merchantVendor(ctx: JobContext, merchant: MerchantSpec | null): CatalogVendor | null {
  if (merchant === null || merchant.vendorCode === null) return null;
  return ctx.cat.vendorByCode.get(merchant.vendorCode) ?? null;
}

/**
 * Bookkeeping method and vendor. Without vendor-based bookkeeping both are null (Pleo sends
 * neither). Accounts-payable items always carry a vendor; an `unknown_vendor` failure is an
 * accounts-payable item whose vendor the accounting system does not know.
 */
export function bookkeepingOf(
  ctx: JobContext,
  rng: Rng,
  rule: TypeRule,
  known: CatalogVendor | null,
  failure: FailureKind | null,
): { bookkeeping: S['BookkeepingV3']; vendor: CatalogVendor | null } {
  if (!ctx.job.vendorBasedBookkeeping) return { bookkeeping: null, vendor: null };
  if (failure === 'unknown_vendor') {
    return { bookkeeping: { method: 'accounts_payable' }, vendor: rng.pick(ctx.cat.catalog.unknown.vendors) };
  }
  let method: 'journal' | 'accounts_payable' | 'none' =
    rule.method === 'ap_or_journal' ? (rng.chance(0.6) ? 'accounts_payable' : 'journal') : rule.method;
  if (method === 'journal' && rng.chance(0.03)) method = 'none';
  let vendor: CatalogVendor | null = null;
  if (method === 'accounts_payable') vendor = known ?? rng.pick(ctx.cat.catalog.vendors);
  else if (method === 'journal' && known !== null && rng.chance(0.8)) vendor = known;
  return { bookkeeping: { method }, vendor };
}

/** The user who made the spend and their team (both may be null). */
export function peopleOf(
  ctx: JobContext,
  rng: Rng,
  rule: TypeRule,
): { user: S['ExportItemUserV3']; team: S['TeamV3'] } {
  const { users, teams } = ctx.cat.catalog;
  const hasUser = rule.user === 'always' || (rule.user === 'sometimes' && rng.chance(0.6));
  if (!hasUser) {
    const t = rng.chance(0.3) ? rng.pick(teams) : null;
    return { user: null, team: t === null ? null : { id: t.id, name: t.name, code: t.code } };
  }
  const u = rng.pick(users);
  const t = rng.chance(0.85) ? ctx.cat.teamById.get(u.teamId) : undefined;
  return {
    user: { id: u.id, name: u.name, code: u.code },
    team: t === undefined ? null : { id: t.id, name: t.name, code: t.code },
  };
}

/** Attendees of meals (with the odd null entry the schema allows), else null. */
export function attendeesOf(
  rng: Rng,
  type: ExportItemType,
  merchant: MerchantSpec | null,
): (string | null)[] | null {
  const meal = merchant !== null && (merchant.mcc === '5812' || merchant.mcc === '5814');
  if (!meal || (type !== 'card_purchase' && type !== 'out_of_pocket') || !rng.chance(0.5)) return null;
  const names: (string | null)[] = rng.sample(PEOPLE, rng.range(1, 3));
  if (rng.chance(0.5))
    names.push(
      rng.pick(['Anna Berg (Kunde A/S)', 'Guest: Jean-Luc Picard', 'Hiroshi Sato (株式会社サンプル)']),
    );
  if (rng.chance(0.05)) names.push(null);
  return names;
}

const INVOICE_STATUSES: readonly (readonly [string, number])[] = [
  ['pending_approval', 8],
  ['parsed', 3],
  ['preparing', 3],
  ['prepared', 4],
  ['ready', 20],
  ['scheduled', 12],
  ['payment_in_progress', 6],
  ['paid', 25],
  ['marked_as_paid', 8],
  ['rejected_by_approver', 3],
  ['voided_by_user', 2],
  ['rejected_by_user', 2],
  ['failed_payment', 4],
];

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `invoiceInformation` for invoice-like types, else null. */
export function invoiceInformationOf(
  rng: Rng,
  type: ExportItemType,
  subType: SubType | undefined,
  dateMs: number,
  merchant: MerchantSpec | null,
): S['InvoiceInformationV3'] {
  let status: string;
  if (type === 'invoice_payment') status = subType === 'invoice_payment_returned' ? 'failed_payment' : 'paid';
  else if (type === 'card_invoice') status = rng.chance(0.8) ? 'paid' : 'marked_as_paid';
  else status = rng.weighted(INVOICE_STATUSES);
  const invoiceMs = dayStart(dateMs) - rng.int(10) * DAY_MS;
  const year = new Date(invoiceMs).getUTCFullYear();
  const seq = String(rng.range(1, 99999)).padStart(5, '0');
  const invoiceNumber = rng.pick([
    `INV-${String(year)}-${seq}`,
    `${String(year)}/${seq}`,
    `F${seq}`,
    `Faktura nr. ${seq}`,
  ]);
  const paid = status === 'paid' || status === 'marked_as_paid';
  const bank = type !== 'card_invoice' && merchant !== null && rng.chance(0.6);
  return {
    invoiceNumber,
    invoiceDate: isoDateTime(invoiceMs),
    dueDate: rng.chance(0.9) ? isoDateTime(invoiceMs + rng.pick([14, 30, 45]) * DAY_MS) : null,
    paymentDate: paid ? isoDateTime(dateMs) : null,
    status,
    supplierBankAccount: bank ? bankAccountFor(rng, merchant.country) : null,
  };
}

/** `servicePeriod` for subscriptions, telecom and rent (a month, sometimes a year), else null. */
export function servicePeriodOf(
  rng: Rng,
  type: ExportItemType,
  merchant: MerchantSpec | null,
  dateMs: number,
): S['ServicePeriodV3'] {
  const periodic = merchant !== null && ['5734', '4814', '6513', '8931'].includes(merchant.mcc);
  const eligible = type === 'card_purchase' || type === 'invoice' || type === 'card_invoice';
  if (!periodic || !eligible || !rng.chance(0.7)) return null;
  const d = new Date(dateMs);
  const months = rng.chance(0.15) ? 12 : 1;
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 0);
  return { from: isoDateTime(from), to: isoDateTime(to) };
}
