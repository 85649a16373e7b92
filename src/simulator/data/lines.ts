/**
 * Amounts and accounting lines of an item.
 *
 * Invariants (tested): line amounts sum exactly to the item amount in supplier and in wallet
 * currency; each line's net and tax follow `taxOf` (see money.ts for the tax interpretation);
 * all amounts of an item share its sign.
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';
import type { CatalogAccount, CatalogTaxCode } from './catalog.js';
import type { FailureKind, JobContext } from './job.js';
import type { Currency } from './money.js';
import { convertMinor, money, splitExact, taxOf } from './money.js';
import type { Rng } from './prng.js';
import type { MerchantSpec } from './merchants.js';
import type { LineAccount } from './type-rules.js';
import { uuidAt, uuidOf } from './ids.js';
import { seedWord } from './prng.js';

type Line = components['schemas']['ExportItemLineV3'];
type Account = components['schemas']['AccountV3'];
type Tag = NonNullable<components['schemas']['TagV3']>;

/** The item total in both currencies. */
export interface Amounts {
  readonly supplier: number;
  readonly supplierCurrency: Currency;
  readonly wallet: number;
  readonly walletCurrency: Currency;
}

/** Draws the item total: skewed towards small amounts, converted with the fixed FX table. */
export function drawAmounts(
  rng: Rng,
  range: readonly [number, number],
  sign: 1 | -1,
  supplierCurrency: Currency,
  walletCurrency: Currency,
): Amounts {
  const r = rng.next();
  const eurCents = Math.round((range[0] + (range[1] - range[0]) * r * r) * 100);
  const supplier = sign * Math.max(1, convertMinor(eurCents, 'EUR', supplierCurrency));
  const converted = convertMinor(supplier, supplierCurrency, walletCurrency);
  const wallet = converted === 0 ? sign : converted;
  return { supplier, supplierCurrency, wallet, walletCurrency };
}

/** What one line will carry before amounts are split onto it. */
interface LinePlan {
  account: CatalogAccount | null | 'unknown';
  tax: CatalogTaxCode | null;
  tags: Tag[] | null;
}

function accountFor(ctx: JobContext, source: LineAccount, merchant: MerchantSpec | null): CatalogAccount {
  let found: CatalogAccount | undefined;
  if ('code' in source) found = ctx.cat.accountByCode.get(source.code);
  else if ('role' in source) found = ctx.cat.accountByRole.get(source.role);
  else found = ctx.cat.accountByCode.get(merchant?.account ?? '6040');
  const account = found ?? ctx.cat.expenseAccounts[0];
  if (account === undefined) throw new Error('catalog has no expense accounts');
  return account;
}

/** Accounts a split line may move spend to (allowance accounts are for mileage/per diem only). */
function splitAccounts(ctx: JobContext): readonly CatalogAccount[] {
  return ctx.cat.expenseAccounts.filter((a) => a.code !== '6085' && a.code !== '6090');
}

function drawTags(ctx: JobContext, rng: Rng): Tag[] | null {
  const r = rng.next();
  if (r < 0.15) return null;
  if (r < 0.25) return [];
  const groups = rng.sample(ctx.cat.catalog.tagGroups, rng.range(1, 3));
  return groups.map((g) => {
    const t = rng.pick(g.tags);
    return { id: t.id, code: t.code, groupCode: t.groupCode };
  });
}

/**
 * Plans the lines of an item: one line, or 2–4 for split expense items, each with account,
 * tax code and tags. Failures that live on a line are applied to line 0.
 */
export function planLines(
  ctx: JobContext,
  rng: Rng,
  account: LineAccount,
  merchant: MerchantSpec | null,
  amounts: Amounts,
  failure: FailureKind | null,
): LinePlan[] {
  const isExpense = 'merchant' in account;
  const taxed = isExpense && merchant !== null;
  const big = Math.abs(amounts.supplier) >= 100 && Math.abs(amounts.wallet) >= 100;
  const count = isExpense && big && rng.chance(ctx.multiLineRatio) ? rng.range(2, 4) : 1;
  const baseTax = taxed ? (ctx.cat.taxByCode.get(merchant.taxCode) ?? null) : null;
  const plans: LinePlan[] = [];
  for (let i = 0; i < count; i++) {
    const lineAccount = i === 0 ? accountFor(ctx, account, merchant) : rng.pick(splitAccounts(ctx));
    const tax = i > 0 && taxed && rng.chance(0.2) ? (ctx.cat.taxByCode.get('I0') ?? null) : baseTax;
    const tags = isExpense || 'code' in account ? drawTags(ctx, rng) : null;
    plans.push({ account: lineAccount, tax, tags });
  }
  const first = plans[0];
  if (first !== undefined) {
    if (failure === 'missing_account') first.account = null;
    if (failure === 'unknown_account') first.account = 'unknown';
    if (failure === 'unknown_tax_code') first.tax = unknownTax(ctx, rng);
    if (failure === 'unknown_tag') first.tags = [...(first.tags ?? []), unknownTag(ctx, rng)];
  }
  return plans;
}

function unknownTax(ctx: JobContext, rng: Rng): CatalogTaxCode {
  const code = rng.pick(ctx.cat.catalog.unknown.taxCodes);
  return {
    id: uuidOf(seedWord(ctx.job.seed), `unknown-tax:${code}`),
    code,
    rate: 0.25,
    type: 'inclusive',
    ingoingTaxAccount: '7200',
  };
}

function unknownTag(ctx: JobContext, rng: Rng): Tag {
  const code = rng.pick(ctx.cat.catalog.unknown.tagCodes);
  const groupCode = code.startsWith('P-') ? 'PROJ' : 'DEPT';
  return { id: uuidOf(seedWord(ctx.job.seed), `unknown-tag:${code}`), code, groupCode };
}

function accountObject(ctx: JobContext, rng: Rng, plan: LinePlan['account']): Account {
  if (plan === null) return null;
  if (plan === 'unknown') {
    const code = rng.pick(ctx.cat.catalog.unknown.accountCodes);
    return {
      id: uuidOf(seedWord(ctx.job.seed), `unknown-account:${code}`),
      name: `Old account ${code}`,
      code,
      identifier: `gl-${code}`,
    };
  }
  return { id: plan.id, name: plan.name, code: plan.code, identifier: plan.identifier };
}

/** Splits the amounts over the planned lines and computes net and tax per line. */
export function buildLines(
  ctx: JobContext,
  rng: Rng,
  index: number,
  amounts: Amounts,
  plans: readonly LinePlan[],
): Line[] {
  const weights = plans.map(() => rng.range(1, 4));
  const supplierParts = splitExact(amounts.supplier, weights);
  const walletParts = splitExact(amounts.wallet, supplierParts);
  const { supplierCurrency: sc, walletCurrency: wc } = amounts;
  return plans.map((plan, i): Line => {
    const s = supplierParts[i] ?? 0;
    const w = walletParts[i] ?? 0;
    const line: Line = {
      accountingEntryLineId: uuidAt(ctx.lineKey, index, i),
      lineAmount: { inSupplierCurrency: money(s, sc), inWalletCurrency: money(w, wc) },
      netAmount: { inSupplierCurrency: money(s, sc), inWalletCurrency: money(w, wc) },
      account: accountObject(ctx, rng, plan.account),
      tax: null,
      tags: plan.tags,
    };
    if (plan.tax !== null) {
      const ts = taxOf(s, plan.tax.rate, plan.tax.type);
      const tw = taxOf(w, plan.tax.rate, plan.tax.type);
      line.netAmount = { inSupplierCurrency: money(ts.net, sc), inWalletCurrency: money(tw.net, wc) };
      line.tax = {
        id: plan.tax.id,
        code: plan.tax.code,
        rate: plan.tax.rate,
        type: plan.tax.type,
        amount: { inSupplierCurrency: money(ts.tax, sc), inWalletCurrency: money(tw.tax, wc) },
        ...(plan.tax.ingoingTaxAccount !== undefined
          ? { ingoingTaxAccount: plan.tax.ingoingTaxAccount }
          : {}),
        ...(plan.tax.outgoingTaxAccount !== undefined
          ? { outgoingTaxAccount: plan.tax.outgoingTaxAccount }
          : {}),
      };
    }
    return line;
  });
}
