/**
 * Currencies, a fixed FX table, exact splitting of amounts into lines, and tax arithmetic.
 *
 * All amounts are integers in minor units (øre, cents, yen, fils), as Pleo's `MoneyModel`
 * carries them. Rounding is half away from zero, so a negative amount (a refund) rounds to
 * exactly minus the rounding of the positive one.
 *
 * ## Tax interpretation (docs/decisions.md#w23, docs/decisions.md#c23)
 * The spec's `TaxTypeV3` table swaps the usual meaning of net and gross, and says
 * `netAmount` is "either including or excluding tax". We use the accounting meaning:
 * - `lineAmount` is what the line cost the wallet; lines sum to the item `amount`.
 * - `netAmount` is always the amount **excluding** tax.
 * - `inclusive`: the tax is inside the line: `tax = round(line × rate / (1 + rate))`,
 *   `net = line − tax`.
 * - `exclusive`: the tax comes on top of the line (US-style sales/use tax, self-assessed):
 *   `tax = round(line × rate)`, `net = line`.
 * - `reverse` (EU reverse charge): self-assessed like exclusive, `tax = round(line × rate)`,
 *   `net = line`; the tax code carries both an ingoing and an outgoing tax account, which
 *   cancel out in the books.
 * Tax is computed separately in supplier and in wallet currency from each currency's line
 * amount, so each currency is internally consistent.
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';

/** The currencies the simulator uses. */
export type Currency = 'DKK' | 'SEK' | 'NOK' | 'EUR' | 'GBP' | 'USD' | 'CHF' | 'PLN' | 'JPY' | 'KWD';

/** Currencies a Pleo wallet can be held in (supplier currencies may be any {@link Currency}). */
export const WALLET_CURRENCIES: readonly Currency[] = ['DKK', 'SEK', 'NOK', 'EUR', 'GBP', 'USD'];

/** Decimal places of each currency's minor unit (ISO 4217). */
export const MINOR_UNITS: Readonly<Record<Currency, number>> = {
  DKK: 2,
  SEK: 2,
  NOK: 2,
  EUR: 2,
  GBP: 2,
  USD: 2,
  CHF: 2,
  PLN: 2,
  JPY: 0,
  KWD: 3,
};

/** Fixed FX table: units of each currency per 1 EUR. Never changes, so output is stable. */
export const FX_PER_EUR: Readonly<Record<Currency, number>> = {
  EUR: 1,
  DKK: 7.46,
  SEK: 11.2,
  NOK: 11.6,
  GBP: 0.85,
  USD: 1.08,
  CHF: 0.95,
  PLN: 4.3,
  JPY: 162,
  KWD: 0.332,
};

const POW10: readonly number[] = [1, 10, 100, 1000];

/** Rounds half away from zero (symmetric for negative amounts); never returns -0. */
export function roundHalfAway(x: number): number {
  return (x < 0 ? -Math.round(-x) : Math.round(x)) + 0;
}

/** Converts an amount in minor units between currencies with the fixed table. */
export function convertMinor(value: number, from: Currency, to: Currency): number {
  if (from === to) return value;
  const scale = (POW10[MINOR_UNITS[to]] ?? 1) / (POW10[MINOR_UNITS[from]] ?? 1);
  return roundHalfAway(((value * FX_PER_EUR[to]) / FX_PER_EUR[from]) * scale);
}

/**
 * Splits `total` into integer parts proportional to `weights` that sum exactly to `total`
 * (cumulative rounding: part i = round(total·cum_i/W) − round(total·cum_{i−1}/W)).
 */
export function splitExact(total: number, weights: readonly number[]): number[] {
  let sum = 0;
  for (const w of weights) sum += w;
  const parts: number[] = [];
  let cum = 0;
  let prev = 0;
  for (let i = 0; i < weights.length; i++) {
    cum += weights[i] ?? 0;
    const upTo = i === weights.length - 1 ? total : roundHalfAway((total * cum) / sum);
    parts.push(upTo - prev);
    prev = upTo;
  }
  return parts;
}

/** The three tax types of `TaxTypeV3`. */
export type TaxType = 'inclusive' | 'exclusive' | 'reverse';

/** Tax and net (excluding tax) of one line amount; see the module comment. */
export function taxOf(line: number, rate: number, type: TaxType): { tax: number; net: number } {
  if (type === 'inclusive') {
    const tax = roundHalfAway((line * rate) / (1 + rate));
    return { tax, net: line - tax };
  }
  return { tax: roundHalfAway(line * rate), net: line };
}

/** A `MoneyModel` value. */
export function money(value: number, currency: Currency): components['schemas']['MoneyModel'] {
  return { currency, value };
}
