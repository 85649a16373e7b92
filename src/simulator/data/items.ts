/**
 * Assembles one `ExportItemV3` from its index. Every part is drawn from random streams keyed
 * by (seed, company, job, index), so an item never depends on generating the ones before it.
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';
import { filesOf } from './files.js';
import { Kind } from './ids.js';
import type { FailureKind, JobContext, JobSpec } from './job.js';
import {
  checkIndex,
  entryIdAt,
  entryKeyOf,
  failureAt,
  jobContext,
  reconciliationIdAt,
  rngFor,
  typeAt,
} from './job.js';
import { buildLines, drawAmounts, planLines } from './lines.js';
import { money } from './money.js';
import {
  attendeesOf,
  bookkeepingOf,
  invoiceInformationOf,
  merchantVendor,
  peopleOf,
  pickMerchant,
  servicePeriodOf,
  supplierOf,
  vendorObject,
} from './parties.js';
import type { Rng } from './prng.js';
import { NOTES } from './reference.js';
import type { SubType } from './type-rules.js';
import { settledTypes, subTypeFor, TYPE_RULES } from './type-rules.js';
import { isoDateTime } from './catalog.js';

/** The export item payload, as GET /v3/export-items returns it. */
export type ExportItemV3 = components['schemas']['ExportItemV3'];

/** How far back a reimbursement looks for the expenses it settles. */
const SETTLE_WINDOW = 40;

function dateAt(ctx: JobContext, rng: Rng, failure: FailureKind | null): number {
  const { lockMs, epochMs } = ctx.cat;
  if (failure === 'closed_period') return lockMs - (1 + rng.int(90 * 86_400)) * 1000;
  return lockMs + rng.int((epochMs - lockMs) / 1000) * 1000;
}

/**
 * Reconciliation ids a reimbursement settles: earlier items of the job of a matching type,
 * or, when there are none nearby, entries from earlier exports.
 */
function reconciledEntriesOf(
  ctx: JobContext,
  rng: Rng,
  index: number,
  subType: SubType | undefined,
): string[] {
  const wanted = settledTypes(subType);
  const found: string[] = [];
  for (let j = index - 1; j >= 0 && j >= index - SETTLE_WINDOW && found.length < 3; j--) {
    if (wanted.includes(typeAt(ctx, j, failureAt(ctx, j)))) found.push(reconciliationIdAt(ctx, j));
  }
  if (found.length === 0) {
    const n = rng.range(1, 2);
    for (let k = 0; k < n; k++)
      found.push(reconciliationIdAt(ctx, index * 2 + k, Kind.foreignReconciliation));
  }
  return found;
}

/**
 * Item `index` of a job: a pure function of the job spec and the index.
 *
 * @param fileBaseUrl Base URL of receipts: `files[].url` is `${fileBaseUrl}/files/<token>` (see
 *   `parseFileToken`). Its origin also prefixes `_links.api` (`/v3/export-job-items?…`).
 * @throws RangeError when `index` is outside [0, job.itemCount) or the job/profile is invalid.
 * @example
 * const job = { seed: 42, companyId: companyAt(42, 0).id, jobKey: 'job-1', itemCount: 1_000_000, vendorBasedBookkeeping: true };
 * const item = exportItemAt(job, 999_999, 'http://127.0.0.1:4010');
 */
export function exportItemAt(job: JobSpec, index: number, fileBaseUrl: string): ExportItemV3 {
  checkIndex(job, index);
  const ctx = jobContext(job);
  const base = fileBaseUrl.replace(/\/+$/, '');
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+/i.exec(base)?.[0] ?? base;
  const failure = failureAt(ctx, index);
  const type = typeAt(ctx, index, failure);
  const rule = TYPE_RULES[type];
  const rng = rngFor(ctx, index, Kind.item);
  const sub = subTypeFor(type, rng);
  const merchant = pickMerchant(ctx, rng, rule.counterparty);
  const range =
    merchant !== null && rule.counterparty !== 'pleo'
      ? ([merchant.minEur, merchant.maxEur] as const)
      : (rule.eur ?? [10, 100]);
  const amounts = drawAmounts(
    rng,
    range,
    sub.sign,
    merchant?.currency ?? ctx.walletCurrency,
    ctx.walletCurrency,
  );
  const dateMs = dateAt(ctx, rng, failure);
  const plans = planLines(ctx, rng, sub.account ?? rule.account, merchant, amounts, failure);
  const lines = buildLines(ctx, rng, index, amounts, plans);
  const known = merchantVendor(ctx, merchant);
  const { bookkeeping, vendor } = bookkeepingOf(ctx, rng, rule, known, failure);
  const { user, team } = peopleOf(ctx, rng, rule);
  const contra = rule.contra ? ctx.cat.contraByCurrency.get(ctx.walletCurrency) : undefined;
  const id = entryIdAt(ctx.entryKey, index);
  const reimbursement = type === 'direct_reimbursement' || type === 'external_reimbursement';
  return {
    accountingEntryId: id,
    companyId: job.companyId,
    type,
    ...(sub.subType !== undefined ? { subType: sub.subType } : {}),
    date: isoDateTime(dateMs),
    amount: {
      inSupplierCurrency: money(amounts.supplier, amounts.supplierCurrency),
      inWalletCurrency: money(amounts.wallet, amounts.walletCurrency),
    },
    accountingEntryLines: lines,
    note: rng.pick(NOTES),
    supplier: supplierOf(merchant, failure === 'unknown_vendor' ? vendor : known),
    vendor: vendorObject(vendor),
    bookkeeping,
    contraAccount:
      contra === undefined
        ? null
        : { id: contra.id, name: contra.name, code: contra.code, identifier: contra.identifier },
    user,
    team,
    files: filesOf(ctx, index, type, base),
    servicePeriod: servicePeriodOf(rng, type, merchant, dateMs),
    additionalInformation: {
      reconciliationId: reconciliationIdAt(ctx, index),
      attendees: attendeesOf(rng, type, merchant),
      reconciledEntries: reimbursement ? reconciledEntriesOf(ctx, rng, index, sub.subType) : null,
      invoiceInformation: rule.invoice
        ? invoiceInformationOf(rng, type, sub.subType, dateMs, merchant)
        : null,
    },
    _links: {
      api: {
        exportItem: `${origin}/v3/export-job-items?company_id=${job.companyId}&accounting_entry_id=${id}`,
      },
      web: { exportItem: `https://app.pleo.io/export/${id}` },
      mobile: { exportItem: `pleo://expenses/${id}` },
    },
  };
}

/**
 * The accounting entry id (UUID) of item `index`. Unique per index within a job and, in
 * practice, across all jobs of a seed (the job key and company id are hashed into it).
 * Much cheaper than building the item.
 *
 * @throws RangeError when `index` is outside [0, job.itemCount).
 */
export function accountingEntryIdAt(job: JobSpec, index: number): string {
  checkIndex(job, index);
  return entryIdAt(entryKeyOf(job), index);
}

/**
 * The deliberate failure item `index` carries, or null. Exactly what `exportItemAt` puts in
 * the item:
 * - `missing_account`: line 0 has `account: null`;
 * - `unknown_account`: line 0's account code is one of `catalog.unknown.accountCodes`;
 * - `unknown_tax_code`: line 0's tax code is one of `catalog.unknown.taxCodes`;
 * - `unknown_tag`: line 0 has a tag whose code is one of `catalog.unknown.tagCodes`;
 * - `unknown_vendor`: an accounts_payable item whose vendor code is one of
 *   `catalog.unknown.vendorCodes` (only in jobs with vendor-based bookkeeping);
 * - `closed_period`: the item is dated before `catalog.lockDate`.
 *
 * @throws RangeError when `index` is outside [0, job.itemCount).
 */
export function expectedFailureAt(job: JobSpec, index: number): FailureKind | null {
  checkIndex(job, index);
  return failureAt(jobContext(job), index);
}
