/**
 * The real hledger, as the reference for every journal the tests produce. Missing hledger is a
 * test failure, never a skip: CI installs the Debian package `hledger` (1.25).
 */
import { spawnSync } from 'node:child_process';

import { parseMinor } from '../../src/accounting/index.js';

export function hledger(journal: string, args: string[]): string {
  const result = spawnSync('hledger', ['-f', journal, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (result.error) {
    throw new Error(
      `hledger is required for these tests (apt-get install -y hledger): ${result.error.message}`,
    );
  }
  if (result.status !== 0)
    throw new Error(`hledger ${args.join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** `hledger check --strict`: parses, balances, every account and commodity declared. */
export function checkStrict(journal: string): void {
  hledger(journal, ['check', '--strict']);
}

/** Account → currency → balance in minor units, from `hledger balance` (CSV). */
export function balances(journal: string, extra: string[] = []): Map<string, Map<string, number>> {
  const csv = hledger(journal, ['balance', '--flat', '--no-total', '-O', 'csv', ...extra]);
  const out = new Map<string, Map<string, number>>();
  for (const row of csv.trim().split('\n').slice(1)) {
    const match = /^"([^"]*)","([^"]*)"$/.exec(row);
    if (!match) throw new Error(`unexpected hledger csv row ${row}`);
    const perCurrency = new Map<string, number>();
    for (const part of match[2]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (part === '0') continue;
      const [amount, currency] = part.split(' ');
      perCurrency.set(currency!, parseMinor(amount!, currency!));
    }
    out.set(match[1]!, perCurrency);
  }
  return out;
}

/** Transactions hledger finds with `tag:pleo-entry=<id>` (the slow reference lookup). */
export function findByTag(journal: string, id: string): { tcode: string; tstatus: string }[] {
  return JSON.parse(hledger(journal, ['print', `tag:pleo-entry=${id}`, '-O', 'json'])) as {
    tcode: string;
    tstatus: string;
  }[];
}
