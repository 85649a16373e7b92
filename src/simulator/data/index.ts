/**
 * Deterministic, seeded generator of realistic Pleo Export API (v3) data for the simulator.
 *
 * Terminology:
 * - **seed**: any safe integer; with the same seed and arguments every function returns
 *   byte-identical results on every machine (no clock, no `Math.random`).
 * - **company**: `companyAt(seed, index)`: id, API key, wallet currency.
 * - **job**: a {@link JobSpec}; its items are numbered 0 … itemCount − 1.
 * - **item**: `exportItemAt(job, index, fileBaseUrl)` computes item `index` from the seed
 *   alone. Nothing proportional to the number of items is kept in memory, so a job of a
 *   million items can be served page by page.
 * - **catalog**: `catalog(seed)`: the accounts, tax codes, tags, teams, users and vendors the
 *   items refer to, as they exist in the accounting system, plus the deliberately unknown
 *   codes used by failing items and the data set's `epoch` and `lockDate`.
 * - **failure**: a deterministic share of items (`profile.failureRatio`, default 5 %) carries
 *   one deliberate defect; `expectedFailureAt(job, index)` says which.
 *
 * Conventions (details in the module comments of money.ts and type-rules.ts):
 * - Amounts are integers in minor units (JPY 0 decimals, KWD 3). Positive means money
 *   leaves the company (spend, fees, invoices, payments, unloads); negative means it comes
 *   back (refund, chargeback, cashback, wallet_topup, returned payments, reimbursements to
 *   the company). Line amounts sum exactly to the item amount in both currencies.
 * - `netAmount` is always the amount excluding tax; inclusive tax is inside the line,
 *   exclusive and reverse-charge tax come on top of it.
 * - Nullable fields are sent as `null` when empty; optional non-nullable fields (`subType`,
 *   tax accounts, vendor details) are omitted instead.
 *
 * @example
 * import { companyAt, exportItemAt, fileContentAt } from './data/index.js';
 * const company = companyAt(42, 0);
 * const job = { seed: 42, companyId: company.id, jobKey: 'job-1', itemCount: 1000, vendorBasedBookkeeping: true };
 * const item = exportItemAt(job, 0, 'http://127.0.0.1:4010');
 *
 * @module
 */
export type {
  Catalog,
  CatalogAccount,
  CatalogContraAccount,
  CatalogTag,
  CatalogTagGroup,
  CatalogTaxCode,
  CatalogTeam,
  CatalogUser,
  CatalogVendor,
} from './catalog.js';
export { catalog } from './catalog.js';
export { Rng } from './prng.js';
export type { CompanySpec } from './companies.js';
export { companyAt } from './companies.js';
export type { FileToken } from './files.js';
export { fileContentAt, parseFileToken } from './files.js';
export type { ExportItemV3 } from './items.js';
export { accountingEntryIdAt, expectedFailureAt, exportItemAt } from './items.js';
export type { DataProfile, ExportItemType, FailureKind, JobSpec } from './job.js';
export { DEFAULT_TYPE_WEIGHTS, FAILURE_KINDS } from './job.js';
export { FX_PER_EUR, MINOR_UNITS } from './money.js';
