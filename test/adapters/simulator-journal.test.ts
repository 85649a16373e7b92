/**
 * Cross-check with the independently written simulator data generator: items generated from a
 * seed, mapped with a configuration built from the generator's catalog (its "accounting system"),
 * must fail exactly where the generator planted a defect, with the matching failure type, and
 * every other item must become an entry that hledger accepts. The wallet (contra) balance in
 * hledger must equal minus the sum of the Pleo wallet amounts (the generator's sign convention:
 * positive = money leaves the wallet), computed here without the mapping code.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import { createHledgerAdapter } from '../../src/adapters/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { companyAt, expectedFailureAt, exportItemAt } from '../../src/simulator/data/index.js';
import { balances, checkStrict } from './hledger-cli.js';
import { configFromCatalog, EXPECTED_TYPE, SEED } from './simulator-catalog.js';

describe('simulator data → accounting model → hledger', () => {
  for (const vendorBasedBookkeeping of [false, true]) {
    it(`maps 1500 generated items (vendorBasedBookkeeping=${String(vendorBasedBookkeeping)}) as the generator intends`, async () => {
      const company = companyAt(SEED, 0);
      const job = {
        seed: SEED,
        companyId: company.id,
        jobKey: `job-${String(vendorBasedBookkeeping)}`,
        itemCount: 1500,
        vendorBasedBookkeeping,
      };
      const config = compileAccountingConfig(configFromCatalog());
      const journalPath = join(await mkdtemp(join(tmpdir(), 'pleo-sim-')), 'books.journal');
      const adapter = createHledgerAdapter({ journalPath });
      const expectedContra = new Map<string, Map<string, number>>();
      const mismatches: string[] = [];
      let booked = 0;
      for (let index = 0; index < job.itemCount; index++) {
        const item = exportItemAt(job, index, 'http://127.0.0.1:1') as unknown as ExportItem;
        const planted = expectedFailureAt(job, index);
        const result = mapExportItem(item, config, { jobId: job.jobKey, companyId: company.id });
        if (planted) {
          if (result.ok || result.failureReasonType !== EXPECTED_TYPE[planted]) {
            mismatches.push(
              `#${index} ${item.type}: planted ${planted}, got ${result.ok ? 'an entry' : result.failureReasonType}`,
            );
          }
          continue;
        }
        if (!result.ok) {
          mismatches.push(`#${index} ${item.type}: ${result.failureReasonType}: ${result.failureReason}`);
          continue;
        }
        const outcome = await adapter.record(result.entry, {
          companyId: company.id,
          idempotencyKey: item.accountingEntryId,
          attachments: [],
        });
        expect(outcome.status).toBe('booked');
        booked += 1;
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
      expect(booked).toBeGreaterThan(1300);
      checkStrict(journalPath);
      const actual = balances(journalPath);
      for (const [account, per] of expectedContra) expect(actual.get(account)).toEqual(per);
    });
  }
});
