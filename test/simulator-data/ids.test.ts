import { describe, expect, it } from 'vitest';
import { accountingEntryIdAt, companyAt, exportItemAt } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('identifiers', () => {
  it('gives unique, lowercase v4-shaped accounting entry ids over 100,000 indexes and across jobs', () => {
    const a = jobOf(1);
    const b = jobOf(1, { jobKey: 'job-b' });
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = accountingEntryIdAt(a, i);
      expect(UUID_V4.test(id)).toBe(true);
      seen.add(id);
      seen.add(accountingEntryIdAt(b, i));
    }
    expect(seen.size).toBe(200_000);
  });

  it('runs 1,000,000 accountingEntryIdAt calls with unique leading words', () => {
    const job = jobOf(2);
    const leading = new Set<number>();
    for (let i = 0; i < 1_000_000; i++) leading.add(parseInt(accountingEntryIdAt(job, i).slice(0, 8), 16));
    // The first 32 bits are a bijection of the index, so ids of one job can never collide.
    expect(leading.size).toBe(1_000_000);
  });

  it('matches the item id and gives every line its own id', () => {
    const job = jobOf(3);
    const lineIds = new Set<string>();
    let lines = 0;
    for (let i = 0; i < 5_000; i++) {
      const item = exportItemAt(job, i, BASE_URL);
      expect(item.accountingEntryId).toBe(accountingEntryIdAt(job, i));
      for (const line of item.accountingEntryLines) {
        expect(UUID_V4.test(line.accountingEntryLineId)).toBe(true);
        lineIds.add(line.accountingEntryLineId);
        lines++;
      }
    }
    expect(lineIds.size).toBe(lines);
  });

  it('gives reconciliation ids that are unique within a job', () => {
    const job = jobOf(4);
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++)
      ids.add(exportItemAt(job, i, BASE_URL).additionalInformation.reconciliationId);
    expect(ids.size).toBe(20_000);
  });

  it('generates companies with unique ids and pk_test_ API keys', () => {
    const ids = new Set<string>();
    const keys = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const c = companyAt(9, i);
      expect(c.index).toBe(i);
      expect(UUID_V4.test(c.id)).toBe(true);
      expect(c.apiKey).toMatch(/^pk_test_[a-z2-7]{32}$/);
      expect(['DKK', 'SEK', 'NOK', 'EUR', 'GBP', 'USD']).toContain(c.walletCurrency);
      ids.add(c.id);
      keys.add(c.apiKey);
    }
    expect(ids.size).toBe(1_000);
    expect(keys.size).toBe(1_000);
    expect(companyAt(9, 0).hasContraAccounts).toBe(true);
  });

  it('rejects indexes outside the job and bad seeds', () => {
    const job = jobOf(5, { itemCount: 10 });
    expect(() => accountingEntryIdAt(job, 10)).toThrow(RangeError);
    expect(() => accountingEntryIdAt(job, -1)).toThrow(RangeError);
    expect(() => exportItemAt(job, 1.5, BASE_URL)).toThrow(RangeError);
    expect(() => companyAt(Number.NaN, 0)).toThrow(RangeError);
    expect(() => exportItemAt(jobOf(5, { itemCount: Number.NaN }), 0, BASE_URL)).toThrow(RangeError);
  });
});
