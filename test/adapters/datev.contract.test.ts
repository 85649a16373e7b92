import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { datevDescriptor, type DatevConfig } from '../../src/adapters/datev/index.js';
import type { AccountingAdapter } from '../../src/adapters/index.js';
import { runAdapterContract } from './contract.js';
import { entryCounts, readBatches } from './datev-files.js';

// Created through the descriptor, as the registry will; counted from the files themselves.
runAdapterContract('datev', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pleo-datev-contract-'));
  const config: DatevConfig = datevDescriptor.configSchema.parse({
    type: 'datev',
    consultantNumber: 1001,
    clientNumber: 1,
  });
  const deps = {
    companyId: '11111111-1111-4111-8111-111111111111',
    dataDir,
    kv: { getValue: () => Promise.resolve(null), setValue: () => Promise.resolve() },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    fetch,
    now: () => Date.now(),
  } as unknown as Parameters<typeof datevDescriptor.create>[1];
  const outputDir = join(dataDir, 'datev', deps.companyId);
  // Nothing written yet (a test that books nothing): no folder, no files.
  const batches = async () => (existsSync(outputDir) ? readBatches(outputDir) : []);
  let adapter: AccountingAdapter = await datevDescriptor.create(config, deps);
  return {
    adapter,
    async reopen() {
      await adapter.close();
      adapter = await datevDescriptor.create(config, deps);
      return adapter;
    },
    async countBookings(key) {
      return entryCounts(await batches()).get(key) ?? 0;
    },
    // Beleglink (first receipt) and the further receipts in Beleginfo 6-8 of the entry's first row.
    async linkedReceipts(key) {
      const row = (await batches()).flatMap((b) => b.rows).find((r) => r.entryId === key);
      if (!row) return [];
      return [row.fields[19], row.fields[31], row.fields[33], row.fields[35]].filter((v): v is string => !!v);
    },
    async cleanup() {
      await batches(); // every file passes the validator
    },
  };
});
