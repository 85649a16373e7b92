import { describe, expect, it } from 'vitest';
import type { ExportItemType, FailureKind } from '../../src/simulator/data/index.js';
import {
  catalog,
  DEFAULT_TYPE_WEIGHTS,
  expectedFailureAt,
  exportItemAt,
  FAILURE_KINDS,
} from '../../src/simulator/data/index.js';
import { BASE_URL, detectFailures, jobOf } from './helpers.js';

describe('deliberate failures', () => {
  it('produces none with failureRatio 0: every reference exists in the catalog', () => {
    const job = jobOf(41, { profile: { failureRatio: 0 } });
    const cat = catalog(41);
    for (let i = 0; i < 10_000; i++) {
      expect(expectedFailureAt(job, i)).toBeNull();
      const item = exportItemAt(job, i, BASE_URL);
      expect(detectFailures(item, cat)).toEqual([]);
      for (const line of item.accountingEntryLines) expect(line.account).not.toBeNull();
    }
  });

  it('puts exactly the expected failure in each item, about 5 % by default', () => {
    const job = jobOf(42);
    const cat = catalog(42);
    const counts = new Map<FailureKind | null, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const expected = expectedFailureAt(job, i);
      counts.set(expected, (counts.get(expected) ?? 0) + 1);
      const item = exportItemAt(job, i, BASE_URL);
      expect(detectFailures(item, cat)).toEqual(expected === null ? [] : [expected]);
      if (expected === 'unknown_vendor') {
        expect(item.bookkeeping?.method).toBe('accounts_payable');
        expect(cat.unknown.vendorCodes).toContain(item.vendor?.code);
      }
      if (expected === 'missing_account') expect(item.accountingEntryLines[0]!.account).toBeNull();
    }
    const failed = n - (counts.get(null) ?? 0);
    expect(failed / n).toBeGreaterThan(0.04);
    expect(failed / n).toBeLessThan(0.06);
    for (const kind of FAILURE_KINDS) expect(counts.get(kind) ?? 0).toBeGreaterThan(50);
  });

  it('never uses unknown_vendor without vendor-based bookkeeping, and honours failureKinds', () => {
    const noVendors = jobOf(43, { vendorBasedBookkeeping: false, profile: { failureRatio: 0.5 } });
    const onlyTags = jobOf(43, { profile: { failureRatio: 0.5, failureKinds: ['unknown_tag'] } });
    const seen = new Set<FailureKind | null>();
    for (let i = 0; i < 2_000; i++) {
      expect(expectedFailureAt(noVendors, i)).not.toBe('unknown_vendor');
      seen.add(expectedFailureAt(onlyTags, i));
    }
    expect(seen).toEqual(new Set([null, 'unknown_tag']));
    const cat = catalog(43);
    for (let i = 0; i < 500; i++) {
      const expected = expectedFailureAt(onlyTags, i);
      expect(detectFailures(exportItemAt(onlyTags, i, BASE_URL), cat)).toEqual(
        expected === null ? [] : [expected],
      );
    }
  });

  it('validates the profile', () => {
    expect(() => expectedFailureAt(jobOf(44, { profile: { failureRatio: 1.5 } }), 0)).toThrow(RangeError);
    expect(() =>
      exportItemAt(jobOf(44, { profile: { typeWeights: { card_purchase: -1 } } }), 0, BASE_URL),
    ).toThrow(RangeError);
    const typo = { typeWeights: { card_purchse: 1 } as Partial<Record<ExportItemType, number>> };
    expect(() => expectedFailureAt(jobOf(44, { profile: typo }), 0)).toThrow(RangeError);
    expect(() =>
      expectedFailureAt(jobOf(44, { profile: { failureKinds: ['nope' as FailureKind] } }), 0),
    ).toThrow(RangeError);
  });

  it('restricts types with typeWeights and drops failure kinds the types cannot carry', () => {
    const typeWeights = Object.fromEntries(
      Object.keys(DEFAULT_TYPE_WEIGHTS).map((t) => [t, t === 'fee' ? 1 : 0]),
    );
    const job = jobOf(44, { profile: { typeWeights, failureRatio: 0.5 } });
    const cat = catalog(44);
    const kinds = new Set<FailureKind | null>();
    for (let i = 0; i < 1_000; i++) {
      const item = exportItemAt(job, i, BASE_URL);
      expect(item.type).toBe('fee');
      const expected = expectedFailureAt(job, i);
      kinds.add(expected);
      expect(detectFailures(item, cat)).toEqual(expected === null ? [] : [expected]);
    }
    // Fees are booked on configured accounts: only failures that do not need an expense line apply.
    expect(kinds).toEqual(new Set([null, 'closed_period']));
  });

  it('keeps the catalog and the unknown codes disjoint', () => {
    const cat = catalog(45);
    const accounts = new Set(cat.accounts.map((a) => a.code));
    const taxes = new Set(cat.taxCodes.map((t) => t.code));
    const tags = new Set(cat.tagGroups.flatMap((g) => g.tags.map((t) => t.code)));
    const vendors = new Set(cat.vendors.map((v) => v.code));
    for (const c of cat.unknown.accountCodes) expect(accounts.has(c)).toBe(false);
    for (const c of cat.unknown.taxCodes) expect(taxes.has(c)).toBe(false);
    for (const c of cat.unknown.tagCodes) expect(tags.has(c)).toBe(false);
    for (const c of cat.unknown.vendorCodes) expect(vendors.has(c)).toBe(false);
    expect(cat.lockDate < cat.epoch).toBe(true);
    expect(Object.isFrozen(cat) && Object.isFrozen(cat.accounts[0])).toBe(true);
  });
});
