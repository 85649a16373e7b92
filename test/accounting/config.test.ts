import { describe, expect, it } from 'vitest';

import { accountingConfigSchema, compileAccountingConfig } from '../../src/accounting/index.js';
import { ConfigError } from '../../src/errors/index.js';

function message(raw: unknown): string {
  try {
    compileAccountingConfig(raw, 'accounting');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('accounting configuration', () => {
  it('applies defaults and freezes the result', () => {
    const c = compileAccountingConfig({});
    expect(c.postingMode).toBe('draft');
    expect(c.closedPeriod).toBe('fail');
    expect(c.attachments.maxBytes).toBe(30 * 1024 * 1024);
    expect(c.attachments.required).toBe(true);
    expect(c.dimensions).toEqual({ team: true, user: true });
    expect(c.knownAccounts).toBeUndefined();
    expect(c.vendors).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.accounts)).toBe(true);
    expect(compileAccountingConfig(undefined).postingMode).toBe('draft');
  });

  it('normalises maps, names and vendors', () => {
    const c = compileAccountingConfig({
      accounts: { contra: '1920', contraByCurrency: { SEK: '1923' } },
      knownAccounts: ['1920', '1923', { code: '6010', name: 'Travel' }],
      categoryOverrides: { '6000': '6010' },
      vendors: [{ code: 'V1', name: 'Acme', account: '1920' }],
      tags: { dept: ['Sales'] },
    });
    expect(c.contraByCurrency.get('SEK')).toBe('1923');
    expect(c.accountNames.get('6010')).toBe('Travel');
    expect(c.knownAccounts?.has('6010')).toBe(true);
    expect(c.vendors?.[0]).toMatchObject({ code: 'V1', blocked: false });
    expect(c.tags?.get('dept')?.has('Sales')).toBe(true);
  });

  it('rejects unknown keys, naming the path and the allowed keys', () => {
    const m = message({ acounts: {}, accounts: { contr: '1920' } });
    expect(m).toContain('accounting.acounts: unknown key; expected one of: postingMode, accounts,');
    expect(m).toContain(
      'accounting.accounts.contr: unknown key; expected one of: contra, contraByCurrency, wallet',
    );
  });

  it('names key, value and expectation for wrong values', () => {
    const m = message({
      postingMode: 'posted',
      lockDate: '2026-02-30',
      accounts: { contra: 'a;b', contraByCurrency: { eur: '1920' } },
      attachments: { maxBytes: -1 },
    });
    expect(m).toContain('accounting.postingMode: got "posted": expected one of "draft", "final"');
    expect(m).toContain('accounting.lockDate: got "2026-02-30": expected a real calendar date YYYY-MM-DD');
    expect(m).toContain('accounting.accounts.contra: got "a;b": expected an account code');
    expect(m).toContain(
      'accounting.accounts.contraByCurrency.eur: got "1920": invalid key: expected an ISO 4217 currency code like EUR',
    );
    expect(m).toContain('accounting.attachments.maxBytes: got -1:');
  });

  it('cross-checks configured accounts against the chart of accounts and vendor codes', () => {
    const m = message({
      knownAccounts: ['1920'],
      accounts: { contra: '1920', inputVat: '2640' },
      vendors: [
        { code: 'A', name: 'a' },
        { code: 'A', name: 'b' },
      ],
    });
    expect(m).toContain(
      'accounting.accounts.inputVat: got "2640": the account is not in accounting.knownAccounts',
    );
    expect(m).toContain('accounting.vendors[1].code: got "A": vendor codes must be unique');
  });

  it('the schema can be embedded in a larger schema', () => {
    expect(accountingConfigSchema.safeParse({ postingMode: 'final' }).success).toBe(true);
  });
});
