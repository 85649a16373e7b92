/** Shared fixtures and checks for the simulator data generator tests. */
import type { Catalog, ExportItemV3, FailureKind, JobSpec } from '../../src/simulator/data/index.js';
import { companyAt } from '../../src/simulator/data/index.js';

export const BASE_URL = 'http://127.0.0.1:4010';

/** A job of `itemCount` items for company 0 of `seed`. */
export function jobOf(seed: number, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    seed,
    companyId: companyAt(seed, 0).id,
    jobKey: `job-${String(seed)}`,
    itemCount: 1_000_000,
    vendorBasedBookkeeping: true,
    ...overrides,
  };
}

/**
 * The defects an item visibly carries, judged only from the item and the catalog, the way an
 * accounting adapter would see them.
 */
export function detectFailures(item: ExportItemV3, cat: Catalog): FailureKind[] {
  const found = new Set<FailureKind>();
  const accountCodes = new Set(cat.accounts.map((a) => a.code));
  const taxCodes = new Set(cat.taxCodes.map((t) => t.code));
  const tagCodes = new Set(cat.tagGroups.flatMap((g) => g.tags.map((t) => `${g.code}/${t.code}`)));
  const vendorCodes = new Set(cat.vendors.map((v) => v.code));
  if (item.date < `${cat.lockDate}T00:00:00Z`) found.add('closed_period');
  for (const line of item.accountingEntryLines) {
    if (line.account === null || line.account === undefined) found.add('missing_account');
    else if (!accountCodes.has(line.account.code ?? '')) found.add('unknown_account');
    if (line.tax && !taxCodes.has(line.tax.code ?? '')) found.add('unknown_tax_code');
    for (const tag of line.tags ?? [])
      if (tag && !tagCodes.has(`${tag.groupCode}/${tag.code}`)) found.add('unknown_tag');
  }
  if (item.vendor && !vendorCodes.has(item.vendor.code ?? '')) found.add('unknown_vendor');
  return [...found];
}
