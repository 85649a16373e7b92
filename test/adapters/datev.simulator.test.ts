/**
 * The simulator's full catalogue (every item type, VAT inclusive/exclusive/reverse, FX, AP vendors,
 * closed periods, several wallet currencies) through the accounting model into DATEV files, the way
 * `simulator-journal.test.ts` checks hledger: items fail exactly where the generator planted a
 * defect; every other item is booked once; every file passes the EXTF validator; and the wallet
 * (contra) balances read from the files equal minus the sum of the Pleo wallet amounts, computed
 * without the mapping code.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import { createDatevAdapter } from '../../src/adapters/datev/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { companyAt, expectedFailureAt, exportItemAt } from '../../src/simulator/data/index.js';
import { balancesOf, entryCounts, readBatches } from './datev-files.js';
import { configFromCatalog, EXPECTED_TYPE, SEED } from './simulator-catalog.js';

describe('simulator data → accounting model → DATEV files', () => {
  for (const [vendorBasedBookkeeping, batchBy] of [
    [false, 'job'],
    [true, 'period'],
  ] as const) {
    it(`books 1500 generated items (vendorBasedBookkeeping=${String(vendorBasedBookkeeping)}, batchBy ${batchBy})`, async () => {
      const company = companyAt(SEED, 0);
      const job = {
        seed: SEED,
        companyId: company.id,
        jobKey: `job-${String(vendorBasedBookkeeping)}`,
        itemCount: 1500,
        vendorBasedBookkeeping,
      };
      const config = compileAccountingConfig(configFromCatalog());
      const dir = join(await mkdtemp(join(tmpdir(), 'pleo-datev-sim-')), 'datev');
      const adapter = createDatevAdapter({
        outputDir: dir,
        consultantNumber: 1001,
        clientNumber: 1,
        batchBy,
        costCenters: { kost1: 'team' },
      });
      const expectedContra = new Map<string, Map<string, number>>();
      const mismatches: string[] = [];
      const booked: string[] = [];
      const jobId = `${vendorBasedBookkeeping ? 'bbbbbbbb' : 'aaaaaaaa'}-0000-4000-8000-000000000001`;
      for (let index = 0; index < job.itemCount; index++) {
        const item = exportItemAt(job, index, 'http://127.0.0.1:1') as unknown as ExportItem;
        const planted = expectedFailureAt(job, index);
        const result = mapExportItem(item, config, { jobId, companyId: company.id });
        if (planted) {
          if (result.ok || result.failureReasonType !== EXPECTED_TYPE[planted]) {
            mismatches.push(
              `#${String(index)} ${item.type}: planted ${planted}, got ${result.ok ? 'an entry' : result.failureReasonType}`,
            );
          }
          continue;
        }
        if (!result.ok) {
          mismatches.push(
            `#${String(index)} ${item.type}: ${result.failureReasonType}: ${result.failureReason}`,
          );
          continue;
        }
        const outcome = await adapter.record(result.entry, {
          companyId: company.id,
          idempotencyKey: item.accountingEntryId,
          attachments: [],
        });
        if (outcome.status !== 'booked') {
          mismatches.push(`#${String(index)} ${item.type}: refused: ${outcome.failureReason}`);
          continue;
        }
        booked.push(item.accountingEntryId);
        const contra = item.contraAccount?.code;
        if (contra) {
          const currency = item.amount.inWalletCurrency.currency;
          const per = expectedContra.get(contra) ?? new Map<string, number>();
          per.set(currency, (per.get(currency) ?? 0) - item.amount.inWalletCurrency.value);
          expectedContra.set(contra, per);
        }
      }
      await adapter.close();
      expect(mismatches).toEqual([]);
      expect(booked.length).toBeGreaterThan(1300);
      const batches = await readBatches(dir);
      const counts = entryCounts(batches);
      expect(counts.size).toBe(booked.length);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      const actual = balancesOf(batches);
      for (const [account, per] of expectedContra) expect(actual.get(account)).toEqual(per);
      // One file per fiscal year (job) or month (period), each row in its file's currency and period
      // (the validator checked the Belegdatum against the header's period).
      expect(batches.length).toBeGreaterThan(batchBy === 'period' ? 12 : 1);
      for (const b of batches) expect(b.rows.every((r) => r.currency === b.header[21])).toBe(true);
    });
  }
});
