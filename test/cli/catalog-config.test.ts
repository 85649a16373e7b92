import { describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import type { ExportItem } from '../../src/client/index.js';
import { companyAt, expectedFailureAt, exportItemAt, type JobSpec } from '../../src/simulator/data/index.js';

describe('the accounting configuration for the simulator’s reference data', () => {
  it('books every healthy generated item and fails exactly the ones broken on purpose', () => {
    const seed = 42;
    const config = compileAccountingConfig(simulatorAccountingConfig(seed), 'accounting');
    const company = companyAt(seed, 0);
    const counts = new Map<string, number>();
    for (const vendorBasedBookkeeping of [false, true]) {
      const job: JobSpec = {
        seed,
        companyId: company.id,
        jobKey: `job-${vendorBasedBookkeeping}`,
        itemCount: 2000,
        vendorBasedBookkeeping,
      };
      for (let i = 0; i < job.itemCount; i++) {
        const item = exportItemAt(job, i, 'http://127.0.0.1:1') as unknown as ExportItem;
        const result = mapExportItem(item, config, { jobId: job.jobKey, companyId: company.id });
        const expected = expectedFailureAt(job, i);
        if (expected === null) {
          if (!result.ok)
            throw new Error(
              `item ${i} (${item.type}) failed unexpectedly: ${result.failureReasonType}: ${result.failureReason}`,
            );
        } else {
          expect(result.ok, `item ${i} should fail with ${expected}`).toBe(false);
          if (!result.ok)
            counts.set(
              `${expected}→${result.failureReasonType}`,
              (counts.get(`${expected}→${result.failureReasonType}`) ?? 0) + 1,
            );
        }
      }
    }
    const kinds = [...counts.keys()].map((k) => k.split('→')[0]);
    expect(new Set(kinds)).toEqual(
      new Set([
        'missing_account',
        'unknown_account',
        'unknown_tax_code',
        'unknown_tag',
        'unknown_vendor',
        'closed_period',
      ]),
    );
    for (const key of counts.keys()) {
      const [kind, type] = key.split('→');
      const expectedType = {
        missing_account: 'missing_configuration',
        unknown_account: 'account_unknown',
        unknown_tax_code: 'tax_code_unknown',
        unknown_tag: 'tag_unknown',
        unknown_vendor: 'vendor_unknown',
        closed_period: 'accounting_system_validation_failure',
      }[kind!];
      expect(type, kind).toBe(expectedType);
    }
  });
});
