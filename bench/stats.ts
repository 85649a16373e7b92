/** Median and spread of repeated measurements. */

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: readonly number[]): Stat {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Half the range as a share of the median: "±3 %". */
export function spread(s: Stat): number {
  return s.n < 2 || !(s.median > 0) ? 0 : (s.max - s.min) / 2 / s.median;
}

export function median(values: readonly number[]): number {
  return stat(values).median;
}
