/**
 * Exact amount arithmetic for Tryton: minor units ↔ decimal strings with a given number of digits,
 * and conversion between currencies at Tryton's rates (bigint, half away from zero, no floats).
 */

/** Minor units → decimal string with `digits` decimals: (-12345, 2) → '-123.45'. */
export function toDecimal(minor: number, digits: number): string {
  const negative = minor < 0;
  const text = String(Math.abs(minor));
  if (digits <= 0) return (negative ? '-' : '') + text;
  const padded = text.padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/** Decimal string → minor units with `digits` decimals, exactly ('123.4500', 2 → 12345). */
export function fromDecimal(text: string, digits: number): number {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal: ${JSON.stringify(text)}`);
  const fraction = (m[3] ?? '').padEnd(digits, '0');
  if (/[1-9]/.test(fraction.slice(digits))) throw new RangeError(`${text} has more than ${digits} decimals`);
  const value = Number(`${m[2] ?? '0'}${fraction.slice(0, digits)}`);
  return m[1] === '-' && value !== 0 ? -value : value;
}

function fraction(text: string): { n: bigint; d: bigint } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a positive decimal rate: ${JSON.stringify(text)}`);
  const decimals = m[2] ?? '';
  return { n: BigInt(`${m[1] ?? '0'}${decimals}`), d: 10n ** BigInt(decimals.length) };
}

function divideRounded(n: bigint, d: bigint): bigint {
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  const q = (an * 2n + ad) / (ad * 2n);
  return negative ? -q : q;
}

/**
 * Converts `minor` (with `fromDigits` decimals) into minor units with `toDigits` decimals at
 * Tryton's rates (each currency's rate against the same base, as in `currency.currency.rate`):
 * amount × toRate / fromRate.
 */
export function convert(
  minor: number,
  fromDigits: number,
  fromRate: string,
  toDigits: number,
  toRate: string,
): number {
  const from = fraction(fromRate);
  const to = fraction(toRate);
  if (from.n === 0n) throw new RangeError('a rate of 0');
  // minor / 10^fd × (to.n/to.d) / (from.n/from.d) × 10^td
  const n = BigInt(minor) * to.n * from.d * 10n ** BigInt(Math.max(toDigits, 0));
  const d = to.d * from.n * 10n ** BigInt(Math.max(fromDigits, 0));
  return Number(divideRounded(n, d));
}
