/**
 * Deterministic identifiers: RFC 4122 version-4-shaped UUIDs and base32 tokens derived from
 * hashes, never from randomness.
 *
 * A {@link Key} is a 128-bit namespace (four independent 32-bit hashes), for example "the
 * accounting entries of job X of seed S". {@link uuidAt} maps an index inside a namespace to a
 * UUID whose first 32 bits are a bijection of the index, so two indexes of one namespace can
 * never collide (up to 2^32 indexes); across namespaces a collision needs ~122 random bits to
 * agree.
 *
 * @module
 */
import { fmix32, hashString, hashWords } from './prng.js';

/** A 128-bit namespace for derived ids and random streams. */
export interface Key {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
}

/** Numeric tags that separate the random streams and id spaces of one job or seed. */
export const Kind = {
  entryId: 1,
  lineId: 2,
  item: 3,
  failure: 4,
  type: 5,
  fileList: 6,
  file: 7,
  reconciliation: 8,
  company: 9,
  catalog: 10,
  foreignReconciliation: 11,
  jobWords: 12,
} as const;

const SALTS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344] as const;

/** A namespace from a seed word and a text (e.g. company id + job key). */
export function keyOf(seedWord: number, text: string): Key {
  return {
    k0: hashString(text, seedWord ^ SALTS[0]),
    k1: hashString(text, seedWord ^ SALTS[1]),
    k2: hashString(text, seedWord ^ SALTS[2]),
    k3: hashString(text, seedWord ^ SALTS[3]),
  };
}

/** A child namespace, e.g. the line ids of a job. */
export function subKey(key: Key, kind: number): Key {
  return {
    k0: hashWords(key.k0, kind, 0),
    k1: hashWords(key.k1, kind, 1),
    k2: hashWords(key.k2, kind, 2),
    k3: hashWords(key.k3, kind, 3),
  };
}

/** A 32-bit seed for the random stream number `a` (and sub-stream `b`) of a namespace. */
export function streamSeed(key: Key, a: number, b = 0): number {
  return hashWords(key.k0 ^ key.k2, a, b, key.k1);
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(w: number): string {
  return (
    (HEX[w >>> 24] ?? '') +
    (HEX[(w >>> 16) & 255] ?? '') +
    (HEX[(w >>> 8) & 255] ?? '') +
    (HEX[w & 255] ?? '')
  );
}

function hex4(w: number): string {
  return (HEX[(w >>> 8) & 255] ?? '') + (HEX[w & 255] ?? '');
}

/** Formats four words as a lowercase UUID with the v4 version nibble and RFC 4122 variant. */
export function uuidFromWords(w0: number, w1: number, w2: number, w3: number): string {
  const timeHi = (w1 & 0x0fff) | 0x4000;
  const clockSeq = ((w2 >>> 16) & 0x3fff) | 0x8000;
  return `${hex8(w0 >>> 0)}-${hex4(w1 >>> 16)}-${hex4(timeHi)}-${hex4(clockSeq)}-${hex4(w2 & 0xffff)}${hex8(w3 >>> 0)}`;
}

/**
 * The UUID of index `a` (and optional sub-index `b`) in a namespace. For a fixed `b` the
 * first 32 bits are a bijection of `a`, so ids are unique per index.
 */
export function uuidAt(key: Key, a: number, b = 0): string {
  const w0 = fmix32(((a + key.k0) | 0) ^ Math.imul(b, 0x9e3779b1));
  return uuidFromWords(w0, hashWords(key.k1, a, b), hashWords(key.k2, a, b), hashWords(key.k3, a, b));
}

/** The UUID of a named thing (catalog entries): stable for a seed word and a name. */
export function uuidOf(seedWord: number, name: string): string {
  const k = keyOf(seedWord, name);
  return uuidFromWords(k.k0, k.k1, k.k2, k.k3);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Encodes the bits of `words` (most significant first) as `length` base32 characters. */
export function base32(words: readonly number[], length: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  let next = 0;
  while (out.length < length) {
    if (bits < 5) {
      const w = words[next++] ?? 0;
      // Take the word in two 16-bit halves so `acc` stays well inside 53 bits.
      acc = acc * 65536 + (w >>> 16);
      acc = acc * 65536 + (w & 0xffff);
      bits += 32;
    }
    const shift = 2 ** (bits - 5);
    const digit = Math.floor(acc / shift);
    acc -= digit * shift;
    bits -= 5;
    out += BASE32[digit] ?? '';
  }
  return out;
}
