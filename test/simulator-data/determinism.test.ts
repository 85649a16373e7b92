import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accountingEntryIdAt,
  catalog,
  companyAt,
  exportItemAt,
  fileContentAt,
} from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

function itemsJson(seed: number, indexes: readonly number[]): string {
  const job = jobOf(seed);
  return JSON.stringify(indexes.map((i) => exportItemAt(job, i, BASE_URL)));
}

/**
 * SHA-256 of the JSON of items 0–499 of seed 42. Guards byte-identical output across machines
 * and Node versions; update it only when the generator is changed on purpose.
 */
const GOLDEN_SHA256 = 'b60cbd174e8ea5a1ce525f46356df7cc67a68fab4dcbfe77ee652ec75a1a2d0b';

const FIRST_500 = Array.from({ length: 500 }, (_, i) => i);

describe('determinism', () => {
  it('gives byte-identical items for the same seed and arguments', () => {
    expect(itemsJson(42, FIRST_500)).toBe(itemsJson(42, FIRST_500));
  });

  it('gives different items for a different seed, job or company', () => {
    expect(itemsJson(43, FIRST_500)).not.toBe(itemsJson(42, FIRST_500));
    const a = jobOf(42);
    const b = jobOf(42, { jobKey: 'another-job' });
    const c = jobOf(42, { companyId: companyAt(42, 1).id });
    expect(exportItemAt(b, 0, BASE_URL)).not.toEqual(exportItemAt(a, 0, BASE_URL));
    expect(exportItemAt(c, 0, BASE_URL)).not.toEqual(exportItemAt(a, 0, BASE_URL));
  });

  it('computes any index on its own: random access equals sequential generation', () => {
    const job = jobOf(7);
    const sequential = FIRST_500.map((i) => JSON.stringify(exportItemAt(job, i, BASE_URL)));
    const shuffled = [...FIRST_500].sort((x, y) => ((x * 7919) % 503) - ((y * 7919) % 503));
    for (const i of shuffled) expect(JSON.stringify(exportItemAt(job, i, BASE_URL))).toBe(sequential[i]);
    // The last item of a million-item job needs nothing before it.
    expect(exportItemAt(job, 999_999, BASE_URL).accountingEntryId).toBe(accountingEntryIdAt(job, 999_999));
  });

  it('is stable for catalog, companies and files', () => {
    expect(JSON.stringify(catalog(5))).toBe(JSON.stringify(catalog(5)));
    expect(JSON.stringify(catalog(5))).not.toBe(JSON.stringify(catalog(6)));
    expect(companyAt(5, 3)).toEqual(companyAt(5, 3));
    expect(companyAt(5, 3)).not.toEqual(companyAt(6, 3));
    const job = jobOf(5);
    const withFile = FIRST_500.find((i) => (exportItemAt(job, i, BASE_URL).files ?? []).length > 0) ?? 0;
    expect(fileContentAt(job, withFile, 0).bytes.equals(fileContentAt(job, withFile, 0).bytes)).toBe(true);
  });

  it('does not depend on the clock', () => {
    const before = itemsJson(42, [0, 1, 2]);
    const realNow = Date.now;
    Date.now = () => 0;
    try {
      expect(itemsJson(42, [0, 1, 2])).toBe(before);
    } finally {
      Date.now = realNow;
    }
  });

  it('matches the golden fingerprint (update only when the generator changes on purpose)', () => {
    const hash = createHash('sha256').update(itemsJson(42, FIRST_500)).digest('hex');
    expect(hash).toBe(GOLDEN_SHA256);
  });
});
