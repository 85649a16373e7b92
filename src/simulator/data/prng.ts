/**
 * Fast, portable 32-bit hashing and a small seeded PRNG.
 *
 * Everything here is integer arithmetic on 32-bit words (`Math.imul`, shifts), so the same
 * inputs give the same outputs on every JavaScript engine and CPU. Nothing reads a clock or
 * `Math.random`.
 *
 * - {@link fmix32} is MurmurHash3's finaliser: a bijection on 32-bit words, which the id code
 *   uses to turn an index into a word that is unique per index.
 * - {@link hashWords} and {@link hashString} are MurmurHash3 (x86, 32-bit) over words or UTF-16
 *   code units.
 * - {@link Rng} is mulberry32: one 32-bit word of state, plenty for picking realistic values.
 *
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 finaliser. Bijective on uint32, good avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(h: number, word: number): number {
  let k = Math.imul(word | 0, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 of up to four 32-bit words (missing words are not hashed). */
export function hashWords(seed: number, a: number, b?: number, c?: number, d?: number): number {
  let h = round(seed | 0, a);
  let n = 1;
  if (b !== undefined) {
    h = round(h, b);
    n++;
  }
  if (c !== undefined) {
    h = round(h, c);
    n++;
  }
  if (d !== undefined) {
    h = round(h, d);
    n++;
  }
  return fmix32(h ^ n);
}

/** MurmurHash3 of a string's UTF-16 code units. */
export function hashString(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) h = round(h, text.charCodeAt(i));
  return fmix32(h ^ text.length);
}

/**
 * Folds a user seed (any safe integer, negative allowed) into one 32-bit word.
 *
 * @throws RangeError when the seed is not a safe integer.
 */
export function seedWord(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) | 0;
  return hashWords(0x5eed5eed, lo, hi);
}

/** A weighted choice: the value and its relative weight (need not sum to anything). */
export type Weighted<T> = readonly (readonly [T, number])[];

/** mulberry32: a tiny deterministic PRNG. Create one per (purpose, item) from a hash. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** Next uint32. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const value = items[this.int(items.length)];
    if (value === undefined) throw new RangeError('pick() from an empty array');
    return value;
  }

  /** An element chosen with probability proportional to its weight. */
  weighted<T>(entries: Weighted<T>): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.next() * total;
    for (const [value, w] of entries) {
      if (r < w) return value;
      r -= w;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new RangeError('weighted() from an empty list');
    return last[0];
  }

  /** `count` distinct elements of `items` (fewer if items is shorter), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = items.slice();
    const out: T[] = [];
    while (out.length < count && pool.length > 0) {
      const [taken] = pool.splice(this.int(pool.length), 1);
      if (taken !== undefined) out.push(taken);
    }
    return out;
  }
}
