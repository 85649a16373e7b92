/**
 * Jobs and their per-index decisions: which items fail (and how), which type each item has,
 * and the ids that other items or files refer to. Each decision is computed from
 * (seed, company id, job key, index) alone, so any index can be generated without the others.
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';
import type { CatalogIndex } from './catalog.js';
import { catalogIndex } from './catalog.js';
import { walletCurrencyOf } from './companies.js';
import type { Key } from './ids.js';
import { base32, Kind, keyOf, streamSeed, subKey, uuidAt } from './ids.js';
import type { Currency } from './money.js';
import { WALLET_CURRENCIES } from './money.js';
import type { Weighted } from './prng.js';
import { fmix32, hashWords, Rng, seedWord } from './prng.js';

/** One of the 17 `ExportItemTypeV3` values. */
export type ExportItemType = components['schemas']['ExportItemTypeV3'];

/** The deliberate failure an item carries, if any. */
export type FailureKind =
  | 'missing_account'
  | 'unknown_account'
  | 'unknown_tax_code'
  | 'unknown_tag'
  | 'unknown_vendor'
  | 'closed_period';

/** Every failure kind, in a fixed order. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  'missing_account',
  'unknown_account',
  'unknown_tax_code',
  'unknown_tag',
  'unknown_vendor',
  'closed_period',
];

/** Knobs for the generated data. Every field is optional. */
export interface DataProfile {
  /**
   * Share of items that carry exactly one deliberate failure (see `expectedFailureAt`).
   * 0 gives no failures at all.
   * @default 0.05
   */
  failureRatio?: number;
  /**
   * Failure kinds to draw from. `unknown_vendor` is only used when the job has
   * `vendorBasedBookkeeping` (vendors are absent otherwise).
   * @default every kind
   */
  failureKinds?: readonly FailureKind[];
  /**
   * Relative weights of item types, merged over the defaults (card_purchase dominant).
   * A weight of 0 removes a type.
   */
  typeWeights?: Partial<Record<ExportItemType, number>>;
  /**
   * Share of expense items split into 2–4 lines.
   * @default 0.15
   */
  multiLineRatio?: number;
  /**
   * Share of card spend at merchants whose currency differs from the wallet's.
   * @default 0.3
   */
  foreignCurrencyRatio?: number;
}

/** An export job whose items the generator produces. Treat it as immutable. */
export interface JobSpec {
  seed: number;
  /** Company id; its wallet currency is derived from it (see `companyAt`). */
  companyId: string;
  /** Any string unique per job (for example the job id). Ids are unique per (seed, jobKey). */
  jobKey: string;
  /** Number of items; valid indexes are 0 … itemCount − 1. */
  itemCount: number;
  vendorBasedBookkeeping: boolean;
  profile?: DataProfile;
  /**
   * Wallet currency of the company, when it differs from the one `companyAt` derived for
   * `companyId` (for example a company created with an override). One of DKK, SEK, NOK, EUR,
   * GBP, USD (the currencies the catalog has contra accounts for).
   * @default the wallet currency derived from (seed, companyId)
   */
  walletCurrency?: string;
}

/** Default relative weights of item types (per mille, roughly). */
export const DEFAULT_TYPE_WEIGHTS: Readonly<Record<ExportItemType, number>> = {
  card_purchase: 520,
  out_of_pocket: 80,
  invoice: 70,
  invoice_payment: 50,
  mileage: 30,
  refund: 30,
  per_diem: 25,
  fee: 25,
  card_invoice: 25,
  direct_reimbursement: 25,
  external_reimbursement: 20,
  wallet_topup: 20,
  cashback: 15,
  atm_withdrawal: 15,
  personal_spend: 12,
  chargeback: 10,
  wallet_unload: 8,
};

/** Types whose lines are expense lines with tax and tags. */
export const EXPENSE_TYPES: readonly ExportItemType[] = [
  'card_purchase',
  'out_of_pocket',
  'invoice',
  'card_invoice',
  'refund',
  'chargeback',
];

/**
 * Failures that live on an expense line (its category, tax code or tags). Settlement types
 * (top-ups, unloads, reimbursements, fees…) are booked on configured accounts, where a broken
 * line category would not be a failure, so these kinds only go to expense types.
 */
const NEEDS_EXPENSE_LINE: readonly FailureKind[] = [
  'missing_account',
  'unknown_account',
  'unknown_tax_code',
  'unknown_tag',
];

/** Types bookkept as accounts payable when vendor-based bookkeeping is on. */
export const AP_TYPES: readonly ExportItemType[] = ['invoice', 'invoice_payment', 'card_invoice'];

/** Everything derived once per call from a JobSpec. Internal. */
export interface JobContext {
  readonly job: JobSpec;
  readonly key: Key;
  readonly entryKey: Key;
  readonly lineKey: Key;
  readonly cat: CatalogIndex;
  readonly walletCurrency: Currency;
  readonly failureRatio: number;
  readonly failureKinds: readonly FailureKind[];
  readonly types: Weighted<ExportItemType>;
  readonly multiLineRatio: number;
  readonly foreignCurrencyRatio: number;
}

function ratio(value: number | undefined, fallback: number, name: string): number {
  const r = value ?? fallback;
  if (!(r >= 0 && r <= 1)) throw new RangeError(`profile.${name} must be in [0, 1], got ${String(r)}`);
  return r;
}

function checkJob(job: JobSpec): void {
  if (!Number.isSafeInteger(job.itemCount) || job.itemCount < 0 || job.itemCount > 0x7fffffff) {
    throw new RangeError(`itemCount must be an integer in [0, 2^31), got ${String(job.itemCount)}`);
  }
}

/** Entry-id namespace only: what `accountingEntryIdAt` needs, kept minimal for speed. */
export function entryKeyOf(job: JobSpec): Key {
  return subKey(keyOf(seedWord(job.seed), `${job.companyId}\u0000${job.jobKey}`), Kind.entryId);
}

function walletCurrencyFor(job: JobSpec): Currency {
  if (job.walletCurrency === undefined) return walletCurrencyOf(job.seed, job.companyId);
  const found = WALLET_CURRENCIES.find((c) => c === job.walletCurrency);
  if (found === undefined) {
    throw new RangeError(
      `walletCurrency ${job.walletCurrency} is not one of ${WALLET_CURRENCIES.join(', ')}`,
    );
  }
  return found;
}

/** The spec fields a context is derived from, to notice a spec changed after it was cached. */
type SpecKey = readonly [
  number,
  string,
  string,
  number,
  boolean,
  DataProfile | undefined,
  string | undefined,
];

function specKey(job: JobSpec): SpecKey {
  return [
    job.seed,
    job.companyId,
    job.jobKey,
    job.itemCount,
    job.vendorBasedBookkeeping,
    job.profile,
    job.walletCurrency,
  ];
}

function sameKey(a: SpecKey, b: SpecKey): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Contexts of recently used specs. Building one costs about as much as generating a third of an
 * item (BENCHMARKS.md#found-by-profiling-and-fixed), and the server asks for the same job
 * spec once per item and once per receipt. Keyed by the spec object and checked against its
 * fields, so a spec changed in place (they are documented as immutable) is rebuilt, not served stale.
 */
const contexts = new WeakMap<JobSpec, { key: SpecKey; ctx: JobContext }>();

/** The context of a job (cached per spec object), validating the profile. */
export function jobContext(job: JobSpec): JobContext {
  const key = specKey(job);
  const hit = contexts.get(job);
  if (hit !== undefined && sameKey(hit.key, key)) return hit.ctx;
  const ctx = buildJobContext(job);
  contexts.set(job, { key, ctx });
  return ctx;
}

function buildJobContext(job: JobSpec): JobContext {
  checkJob(job);
  const profile = job.profile ?? {};
  const key = keyOf(seedWord(job.seed), `${job.companyId}\u0000${job.jobKey}`);
  const overrides: Partial<Record<string, number>> = profile.typeWeights ?? {};
  for (const type of Object.keys(overrides)) {
    if (!(type in DEFAULT_TYPE_WEIGHTS))
      throw new RangeError(`profile.typeWeights: unknown item type ${type}`);
  }
  const types: [ExportItemType, number][] = [];
  for (const [type, fallback] of Object.entries(DEFAULT_TYPE_WEIGHTS) as [ExportItemType, number][]) {
    const w = overrides[type] ?? fallback;
    if (!(w >= 0 && Number.isFinite(w)))
      throw new RangeError(`profile.typeWeights.${type} must be a finite number >= 0`);
    if (w > 0) types.push([type, w]);
  }
  if (types.length === 0)
    throw new RangeError('profile.typeWeights leaves no item type with a positive weight');
  const requested = profile.failureKinds ?? FAILURE_KINDS;
  for (const k of requested)
    if (!FAILURE_KINDS.includes(k)) throw new RangeError(`unknown failure kind ${String(k)}`);
  const hasAp = types.some(([t]) => AP_TYPES.includes(t));
  const hasExpense = types.some(([t]) => EXPENSE_TYPES.includes(t));
  // Drop kinds the job cannot express: vendors only exist with vendor-based bookkeeping, and
  // some kinds need an accounts-payable or an expense type to be enabled.
  const kinds = requested.filter(
    (k, i, all) =>
      all.indexOf(k) === i &&
      (k !== 'unknown_vendor' || (job.vendorBasedBookkeeping && hasAp)) &&
      (!NEEDS_EXPENSE_LINE.includes(k) || hasExpense),
  );
  return {
    job,
    key,
    entryKey: subKey(key, Kind.entryId),
    lineKey: subKey(key, Kind.lineId),
    cat: catalogIndex(job.seed),
    walletCurrency: walletCurrencyFor(job),
    failureRatio: ratio(profile.failureRatio, 0.05, 'failureRatio'),
    failureKinds: kinds,
    types,
    multiLineRatio: ratio(profile.multiLineRatio, 0.15, 'multiLineRatio'),
    foreignCurrencyRatio: ratio(profile.foreignCurrencyRatio, 0.3, 'foreignCurrencyRatio'),
  };
}

/** Throws unless `index` is a valid item index of the job. */
export function checkIndex(job: JobSpec, index: number): void {
  checkJob(job);
  if (!Number.isInteger(index) || index < 0 || index >= job.itemCount) {
    throw new RangeError(`item index ${String(index)} is outside [0, ${String(job.itemCount)})`);
  }
}

/** A random stream for one purpose of one item. */
export function rngFor(ctx: JobContext, index: number, kind: number, sub = 0): Rng {
  return new Rng(streamSeed(ctx.key, index, hashWords(kind, sub)));
}

/** The deliberate failure of item `index`, or null. */
export function failureAt(ctx: JobContext, index: number): FailureKind | null {
  if (ctx.failureRatio === 0 || ctx.failureKinds.length === 0) return null;
  const rng = rngFor(ctx, index, Kind.failure);
  if (!rng.chance(ctx.failureRatio)) return null;
  return rng.pick(ctx.failureKinds);
}

/**
 * The type of item `index`. An `unknown_vendor` item is always an accounts-payable type;
 * category, tax-code and tag failures need an expense line, so they draw from the expense types.
 */
export function typeAt(ctx: JobContext, index: number, failure: FailureKind | null): ExportItemType {
  const rng = rngFor(ctx, index, Kind.type);
  // jobContext only keeps these failure kinds when the job has types that can carry them.
  let table = ctx.types;
  if (failure === 'unknown_vendor') table = ctx.types.filter(([t]) => AP_TYPES.includes(t));
  else if (failure !== null && NEEDS_EXPENSE_LINE.includes(failure)) {
    table = ctx.types.filter(([t]) => EXPENSE_TYPES.includes(t));
  }
  return rng.weighted(table);
}

/** The accounting entry id of item `index` (no range check). */
export function entryIdAt(entryKey: Key, index: number): string {
  return uuidAt(entryKey, index);
}

/** The reconciliation ("book") id of item `index`: `BK-` + 10 base32 characters, unique per job. */
export function reconciliationIdAt(
  ctx: JobContext,
  index: number,
  kind: number = Kind.reconciliation,
): string {
  const k = subKey(ctx.key, kind);
  const w0 = fmix32(((index + k.k0) | 0) ^ k.k1);
  return `BK-${base32([w0, hashWords(k.k2, index)], 10).toUpperCase()}`;
}
