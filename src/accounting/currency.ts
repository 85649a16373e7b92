/**
 * Currency helpers. Pleo sends money as integer minor units (`{currency, value}`: 896.96 SEK →
 * 89696). Everything here stays in integers: a decimal string is produced by placing the decimal
 * point per the currency's ISO 4217 exponent, never by dividing a float.
 */

/** ISO 4217 currencies whose minor unit is not 2 decimals. Everything else (and unknown codes) has 2. */
const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'
    .split(' ')
    .map((c) => [c, 0] as const),
  ...'BHD IQD JOD KWD LYD OMR TND'.split(' ').map((c) => [c, 3] as const),
  ...'CLF UYW'.split(' ').map((c) => [c, 4] as const),
]);

/** Number of decimals of a currency's minor unit (JPY 0, KWD 3, EUR 2). */
export function currencyExponent(currency: string): number {
  return EXPONENTS.get(currency) ?? 2;
}

/** True for a three-letter upper-case code (Pleo's `UNDEFINED` is not a currency). */
export function isCurrencyCode(currency: string): boolean {
  return /^[A-Z]{3}$/.test(currency);
}

/** Throws unless `value` is a safe integer (minor units must never be fractional). */
export function assertMinorUnits(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} must be an integer number of minor units, got ${String(value)}`);
  }
}

/**
 * Formats minor units as a plain decimal string with exactly the currency's number of decimals:
 * `formatMinor(-12345, 'EUR')` → `'-123.45'`, `formatMinor(1234, 'JPY')` → `'1234'`,
 * `formatMinor(1, 'KWD')` → `'0.001'`.
 */
export function formatMinor(value: number, currency: string): string {
  assertMinorUnits(value, `amount in ${currency}`);
  const exponent = currencyExponent(currency);
  const negative = value < 0;
  const digits = String(Math.abs(value));
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exponent + 1, '0');
  const whole = padded.slice(0, padded.length - exponent);
  const fraction = padded.slice(padded.length - exponent);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/**
 * Parses a decimal string into minor units of `currency`, exactly. Rejects more decimals than the
 * currency has. `parseMinor('123.45', 'EUR')` → `12345`.
 */
export function parseMinor(text: string, currency: string): number {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const exponent = currencyExponent(currency);
  const fraction = match[3] ?? '';
  if (fraction.length > exponent) {
    throw new RangeError(`${text} has more than ${exponent} decimals for ${currency}`);
  }
  const minor = BigInt((match[2] ?? '0') + fraction.padEnd(exponent, '0'));
  const value = Number(match[1] === '-' ? -minor : minor);
  assertMinorUnits(value, text);
  return value;
}

/** A decimal rate (0.25) as an exact fraction of integers, read from its shortest decimal form. */
export function rateAsFraction(rate: number): { numerator: bigint; denominator: bigint } {
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`invalid tax rate ${String(rate)}`);
  const text = rate.toString();
  if (/e/i.test(text)) {
    // Tiny or huge rates: fall back to a fixed 12-decimal representation (still exact for rates
    // anyone sends, which have at most a few decimals).
    return rateAsFraction(Number(rate.toFixed(12)));
  }
  const [whole = '0', fraction = ''] = text.split('.');
  const denominator = 10n ** BigInt(fraction.length);
  return { numerator: BigInt(whole + fraction), denominator };
}

/** `round(numerator / denominator)` for bigints, halves away from zero (commercial rounding). */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = (2n * n + d) / (2n * d);
  return negative ? -quotient : quotient;
}

/**
 * Tax contained in a gross amount at `rate` (inclusive pricing): `gross × r / (1 + r)`, rounded.
 * `taxIncludedIn(12500, 0.25)` → `2500`.
 */
export function taxIncludedIn(gross: number, rate: number): number {
  const { numerator, denominator } = rateAsFraction(rate);
  return Number(divideRounded(BigInt(gross) * numerator, denominator + numerator));
}

/** Tax on top of a net amount at `rate`: `net × r`, rounded. `taxOn(10000, 0.25)` → `2500`. */
export function taxOn(net: number, rate: number): number {
  const { numerator, denominator } = rateAsFraction(rate);
  return Number(divideRounded(BigInt(net) * numerator, denominator));
}

/** Exact sum of minor-unit amounts; throws if the total leaves the safe-integer range. */
export function sumMinor(values: Iterable<number>): number {
  let total = 0n;
  for (const value of values) total += BigInt(value);
  const result = Number(total);
  assertMinorUnits(result, 'sum');
  return result;
}
