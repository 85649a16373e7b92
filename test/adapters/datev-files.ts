/**
 * Test helpers for DATEV batch files: every file the tests write goes through `readBatches`,
 * which runs the EXTF validator on it (a problem fails the test) and returns the rows, so that
 * balances and entry ids are computed from the files themselves, independently of the adapter.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { expect } from 'vitest';

import { currencyExponent } from '../../src/accounting/index.js';
import { describeProblems, validateDatevFile } from '../../src/adapters/datev/index.js';

export interface BatchRow {
  file: string;
  line: number;
  amount: number;
  currency: string;
  konto: string;
  gegenkonto: string;
  sollHaben: string;
  entryId: string;
  position: string;
  fields: string[];
}

export interface Batch {
  file: string;
  header: string[];
  rows: BatchRow[];
}

/** Minor units from a DATEV amount ("1234,56") in a currency. */
export function minorOf(amount: string, currency: string): number {
  const cents = Number(amount.replace(',', ''));
  const exponent = currencyExponent(currency);
  return exponent >= 2 ? cents * 10 ** (exponent - 2) : cents / 10 ** (2 - exponent);
}

/** Validates and parses every batch file (`.csv` and `.csv.part`) in a directory. */
export async function readBatches(dir: string): Promise<Batch[]> {
  const names = (await readdir(dir)).filter((f) => /^EXTF_.*\.csv(\.part)?$/.test(f)).sort();
  const out: Batch[] = [];
  for (const file of names) {
    const { problems, parsed } = validateDatevFile(await readFile(join(dir, file)));
    expect(describeProblems(problems), `${file} must pass the EXTF validator`).toBe('');
    if (!parsed) throw new Error(`${file}: not parsed`);
    const header = parsed.header.map((f) => f.value);
    const rows = parsed.rows.map(({ line, fields }) => {
      const v = fields.map((f) => f.value);
      const currency = v[2] || (header[21] ?? '');
      return {
        file,
        line,
        amount: minorOf(v[0] ?? '', currency),
        currency,
        sollHaben: v[1] ?? '',
        konto: v[6] ?? '',
        gegenkonto: v[7] ?? '',
        entryId: v[21] ?? '',
        position: v[23] ?? '',
        fields: v,
      };
    });
    out.push({ file, header, rows });
  }
  return out;
}

/** Per account and currency, the balance the rows book (debit > 0). */
export function balancesOf(batches: readonly Batch[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const add = (account: string, currency: string, value: number): void => {
    const per = out.get(account) ?? new Map<string, number>();
    per.set(currency, (per.get(currency) ?? 0) + value);
    out.set(account, per);
  };
  for (const row of batches.flatMap((b) => b.rows)) {
    const sign = row.sollHaben === 'S' ? 1 : -1;
    add(row.konto, row.currency, sign * row.amount);
    add(row.gegenkonto, row.currency, -sign * row.amount);
  }
  for (const [account, per] of out) {
    for (const [currency, value] of per) if (value === 0) per.delete(currency);
    if (per.size === 0) out.delete(account);
  }
  return out;
}

/** How many times each entry id appears as a first row ("1/n") across all files. */
export function entryCounts(batches: readonly Batch[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of batches.flatMap((b) => b.rows)) {
    if (row.position.startsWith('1/')) counts.set(row.entryId, (counts.get(row.entryId) ?? 0) + 1);
  }
  return counts;
}
