/**
 * The demo's throwaway Tryton: its chart follows the simulator's accounting configuration, the
 * periods up to the lock date are closed, and the adapter block it returns books into it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { demoChart, startTrytonDemo, trytonDescriptor } from '../../../src/adapters/tryton/index.js';
import { simulatorAccountingConfig } from '../../../src/cli/demo/catalog-config.js';
import { contractEntry } from '../contract.js';

describe('Tryton demo', () => {
  it('derives the chart from the accounting configuration', () => {
    const chart = demoChart(simulatorAccountingConfig(42));
    const byCode = new Map(chart.map((a) => [a.code, a.kind]));
    expect(byCode.get('7100')).toBe('payable');
    expect(byCode.get('7200')).toBe('tax');
    expect(byCode.get('7110')).toBe('liability');
    expect(new Set(chart.map((a) => a.code)).size).toBe(chart.length);
  });

  it('starts a Tryton the demo adapter books into, with closed periods before the lock date', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pleo-tryton-demo-'));
    const accounting = simulatorAccountingConfig(42);
    const demo = await startTrytonDemo({
      dir,
      accounting,
      currency: 'EUR',
      cacheDir: join(tmpdir(), 'pleo-export-tryton-cache'),
      now: () => Date.parse('2026-03-01T00:00:00Z'),
    });
    try {
      const adapter = await trytonDescriptor.create(demo.adapter, {
        companyId: 'c',
        dataDir: dir,
        kv: { getValue: () => Promise.resolve(null), setValue: () => Promise.resolve() },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        fetch,
        now: Date.now,
      });
      expect(await adapter.validate({ companyId: 'c', vendorBasedBookkeeping: true })).toEqual({ ok: true });
      const contra = Object.values(accounting.accounts?.contraByCurrency ?? {})[0]!;
      const expense = demoChart(accounting).find((a) => a.kind === 'expense')!.code;
      const entry = contractEntry({
        date: '2026-03-10',
        postings: [
          { account: expense, amount: { currency: 'EUR', value: 1000 }, dimensions: {}, role: 'expense' },
          { account: contra, amount: { currency: 'EUR', value: -1000 }, dimensions: {}, role: 'contra' },
        ],
      });
      const outcome = await adapter.record(entry, {
        companyId: 'c',
        idempotencyKey: entry.accountingEntryId,
        attachments: [],
      });
      expect(outcome.status).toBe('booked');
      if (accounting.lockDate) {
        const closed = await adapter.record(
          {
            ...entry,
            accountingEntryId: `${entry.accountingEntryId.slice(0, -1)}f`,
            date: accounting.lockDate,
          },
          { companyId: 'c', idempotencyKey: `${entry.accountingEntryId.slice(0, -1)}f`, attachments: [] },
        );
        expect(closed).toMatchObject({
          status: 'failed',
          failureReasonType: 'accounting_system_validation_failure',
        });
      }
      await adapter.close();
    } finally {
      await demo.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
