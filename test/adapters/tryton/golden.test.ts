/**
 * The golden catalogue (test/accounting/golden-cases.ts, the same table hledger is checked against)
 * booked into a real Tryton: every case's postings must come back from Tryton's move lines.
 * - EUR wallets: debit − credit per account equals the golden postings (as multisets: Tryton keeps
 *   no line order), and the USD supplier amounts are the lines' second currency (the golden cost).
 * - JPY and KWD wallets (the company is kept in EUR): the golden postings are the lines' second
 *   currency amounts, the EUR amounts are converted at Tryton's rates and the move balances.
 * - Accounts payable entries are supplier invoices (with their payment move next to them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../../src/accounting/index.js';
import type { TrytonAdapter } from '../../../src/adapters/tryton/index.js';
import { BASE_CONFIG, GOLDEN } from '../../accounting/golden-cases.js';
import { COMPANY, JOB } from '../../accounting/items.js';
import { inspectKey, startTestTryton, type BookedLine, type TestTryton } from './fixture.js';

let t: TestTryton;
let adapter: TrytonAdapter;
let admin: TrytonAdapter;
beforeAll(async () => {
  t = await startTestTryton();
  adapter = t.adapter();
  admin = t.admin();
}, 600_000);
afterAll(async () => {
  await adapter?.close();
  await admin?.close();
  await t?.cleanup();
});

const sorted = (pairs: [string, number][]): [string, number][] =>
  [...pairs].sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1]);

describe('golden catalogue booked into Tryton', () => {
  for (const c of GOLDEN) {
    it(c.name, async () => {
      const result = mapExportItem(
        c.item,
        compileAccountingConfig({ ...(c.config ?? BASE_CONFIG), postingMode: 'final' }),
        { jobId: JOB, companyId: COMPANY },
      );
      if (!result.ok) throw new Error(`${result.failureReasonType}: ${result.failureReason}`);
      const { entry } = result;
      const outcome = await adapter.record(entry, {
        companyId: COMPANY,
        idempotencyKey: entry.accountingEntryId,
        attachments: [],
      });
      if (outcome.status !== 'booked')
        throw new Error(`${outcome.failureReasonType}: ${outcome.failureReason}`);
      const booked = await inspectKey(admin, entry.accountingEntryId);
      const lines: BookedLine[] = booked.lines;
      expect(lines.reduce((s, l) => s + l.amount, 0)).toBe(0);
      if (entry.currency === 'EUR') {
        expect(sorted(lines.map((l) => [l.account, l.amount]))).toEqual(sorted(c.postings));
        if (c.cost) {
          expect(
            lines
              .filter((l) => l.second)
              .map((l) => [l.account, l.second?.value, l.second?.currency])
              .sort(),
          ).toEqual([...c.cost].sort());
        } else {
          expect(lines.filter((l) => l.second)).toEqual([]);
        }
      } else {
        expect(lines.every((l) => l.second?.currency === entry.currency)).toBe(true);
        expect(sorted(lines.map((l) => [l.account, l.second?.value ?? Number.NaN]))).toEqual(
          sorted(c.postings),
        );
      }
      // Every document is posted and complete (final posting mode).
      for (const doc of [...booked.moves, ...booked.invoices]) expect(doc['state']).toBe('posted');
      if (c.kind === 'supplier_invoice' || c.kind === 'supplier_credit_note') {
        expect(booked.invoices).toHaveLength(1);
      } else {
        expect(booked.invoices).toHaveLength(0);
      }
      // Payable lines carry the vendor as party.
      for (const l of lines) if (l.account.startsWith('244')) expect(l.party).not.toBeNull();
    });
  }
});
