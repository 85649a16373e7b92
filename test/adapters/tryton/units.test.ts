/** Pure parts of the Tryton adapter: amounts, rates, description markers, JSON-RPC values. */
import { describe, expect, it } from 'vitest';

import { classifyAccountingError } from '../../../src/adapters/index.js';
import { convert, fromDecimal, toDecimal } from '../../../src/adapters/tryton/amounts.js';
import { described, keyDomain, parseDescription } from '../../../src/adapters/tryton/markers.js';
import { classifyHttp, fromTryton } from '../../../src/adapters/tryton/rpc.js';

describe('Tryton amounts', () => {
  it('formats and parses minor units exactly', () => {
    expect(toDecimal(-12345, 2)).toBe('-123.45');
    expect(toDecimal(5, 3)).toBe('0.005');
    expect(toDecimal(12345, 0)).toBe('12345');
    expect(fromDecimal('123.4500', 2)).toBe(12345);
    expect(fromDecimal('-0.10', 2)).toBe(-10);
    expect(() => fromDecimal('1.005', 2)).toThrow(/more than 2 decimals/);
  });

  it('converts at Tryton rates (amount × to / from), rounding half away from zero', () => {
    // 12,345 JPY at 160 JPY/EUR → 77.15625 EUR → 77.16
    expect(convert(12345, 0, '160', 2, '1')).toBe(7716);
    expect(convert(-12345, 0, '160', 2, '1')).toBe(-7716);
    // 10.500 KWD at 0.33 KWD/EUR → 31.8181… EUR
    expect(convert(10500, 3, '0.33', 2, '1')).toBe(3182);
    // 100.00 EUR into DKK at 7.46
    expect(convert(10000, 2, '1', 2, '7.46')).toBe(74600);
    // exactly half a cent rounds away from zero: 0.125 EUR
    expect(convert(125, 3, '1', 2, '1')).toBe(13);
  });
});

describe('Tryton markers', () => {
  const key = 'cccccccc-0000-4000-8000-000000000001';
  it('round-trip the key and the write state, and never match a longer key', () => {
    expect(described('pending', key, '  Hotel  Alpha ')).toBe(`pleo-pending:${key} Hotel Alpha`);
    expect(parseDescription(`pleo-posted:${key} Hotel`)).toEqual({ marker: 'posted', key });
    expect(parseDescription(`pleo:${key}`)).toEqual({ marker: 'draft', key });
    expect(parseDescription(`pleo:${key}0 Hotel`)?.key).not.toBe(key);
    expect(parseDescription('Hotel pleo:x')).toBeNull();
    expect(keyDomain(key, ['draft'])).toEqual([
      'OR',
      ['description', '=', `pleo:${key}`],
      ['description', 'like', `pleo:${key} %`],
    ]);
  });
});

describe('Tryton JSON-RPC values and HTTP faults', () => {
  it('decodes Decimal, date and datetime without floats', () => {
    expect(
      fromTryton({
        a: { __class__: 'Decimal', decimal: '0.10' },
        d: { __class__: 'date', year: 2026, month: 3, day: 1 },
        t: {
          __class__: 'datetime',
          year: 2026,
          month: 3,
          day: 1,
          hour: 9,
          minute: 5,
          second: 7,
          microsecond: 250000,
        },
      }),
    ).toEqual({ a: '0.10', d: '2026-03-01', t: '2026-03-01T09:05:07.250Z' });
  });

  it('classifies HTTP statuses: auth and 404 permanent, 429/503/423/5xx transient', () => {
    const c = (s: number) => {
      const e = classifyHttp(s, 'model.account.move.create', 'http://x/db/');
      return [e.code, e.retryable];
    };
    // No such database: the job fails with invalid_configuration (it used to be an
    // ACCOUNTING_UNREACHABLE, which the fault policy defers for ever).
    expect(classifyAccountingError(classifyHttp(404, 'common.db.login', 'http://x/db/'))).toMatchObject({
      kind: 'job',
      failureReasonType: 'invalid_configuration',
    });
    expect(c(401)).toEqual(['ACCOUNTING_AUTH', false]);
    expect(c(403)).toEqual(['ACCOUNTING_AUTH', false]);
    expect(c(404)).toEqual(['ACCOUNTING_UNUSABLE', false]);
    expect(c(429)).toEqual(['ACCOUNTING_RATE_LIMITED', true]);
    expect(c(503)).toEqual(['ACCOUNTING_RATE_LIMITED', true]);
    expect(c(423)).toEqual(['ACCOUNTING_UNREACHABLE', true]);
    expect(c(500)).toEqual(['ACCOUNTING_UNREACHABLE', true]);
    expect(c(400)).toEqual(['ACCOUNTING_REJECTED', false]);
  });
});
