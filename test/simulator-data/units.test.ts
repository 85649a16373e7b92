import { describe, expect, it } from 'vitest';
import { iban } from '../../src/simulator/data/bank.js';
import { isoDateTime } from '../../src/simulator/data/catalog.js';
import { exportItemAt } from '../../src/simulator/data/index.js';
import { convertMinor, roundHalfAway, splitExact, taxOf } from '../../src/simulator/data/money.js';
import { Rng } from '../../src/simulator/data/prng.js';
import { BASE_URL, jobOf } from './helpers.js';

describe('building blocks', () => {
  it('formats dates exactly like toISOString without milliseconds', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(rng.next() * 4_102_444_800) * 1000; // 1970 … 2100, whole seconds
      expect(isoDateTime(ms)).toBe(new Date(ms).toISOString().replace('.000Z', 'Z'));
    }
    expect(isoDateTime(Date.UTC(2024, 1, 29, 23, 59, 59))).toBe('2024-02-29T23:59:59Z');
  });

  it('rounds half away from zero, symmetrically and without -0', () => {
    expect([roundHalfAway(2.5), roundHalfAway(-2.5), roundHalfAway(-0.2)]).toEqual([3, -3, 0]);
    expect(Object.is(roundHalfAway(-0.2), 0)).toBe(true);
  });

  it('splits exactly and converts with minor units', () => {
    expect(splitExact(1001, [1, 1, 1])).toEqual([334, 333, 334]);
    expect(splitExact(-1001, [1, 1, 1]).reduce((a, b) => a + b, 0)).toBe(-1001);
    expect(convertMinor(100, 'EUR', 'JPY')).toBe(162); // 1.00 EUR → ¥162
    expect(convertMinor(100, 'EUR', 'KWD')).toBe(332); // 1.00 EUR → 0.332 KWD
    expect(convertMinor(-100, 'EUR', 'DKK')).toBe(-746);
  });

  it('computes tax per type', () => {
    expect(taxOf(12500, 0.25, 'inclusive')).toEqual({ tax: 2500, net: 10000 });
    expect(taxOf(10000, 0.25, 'reverse')).toEqual({ tax: 2500, net: 10000 });
    expect(taxOf(10000, 0.0875, 'exclusive')).toEqual({ tax: 875, net: 10000 });
    expect(taxOf(-12500, 0.25, 'inclusive')).toEqual({ tax: -2500, net: -10000 });
  });

  it('produces IBANs with valid check digits', () => {
    expect(iban('GB', 'WEST12345698765432')).toBe('GB82WEST12345698765432'); // ISO 13616 example
    expect(iban('DK', '00400440116243')).toBe('DK5000400440116243');
  });

  it('uses a wallet currency override for amounts and the contra account', () => {
    const job = jobOf(71, { walletCurrency: 'GBP' });
    for (let i = 0; i < 300; i++) {
      const item = exportItemAt(job, i, BASE_URL);
      expect(item.amount.inWalletCurrency.currency).toBe('GBP');
      if (item.contraAccount) expect(item.contraAccount.name).toBe('Pleo GBP Account');
    }
    expect(() => exportItemAt(jobOf(71, { walletCurrency: 'JPY' }), 0, BASE_URL)).toThrow(RangeError);
  });
});
