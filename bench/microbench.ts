/**
 * Microbenchmarks for the floor's local-work terms, run in their own process before the
 * workloads: the cost of mapping one export item (`mapExportItem`) and of recording one entry in
 * the hledger journal, one writer at a time (strict order) and with 8 writers (group commit).
 * Each is measured `BENCH_ROUNDS` times (default 3).
 * Items come from the simulator's generator with the workloads' seed; no receipts are attached.
 * Prints one `BENCH_RESULT` line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { compileAccountingConfig, mapExportItem, type AccountingEntry } from '../src/accounting/index.js';
import { createHledgerAdapter } from '../src/adapters/index.js';
import { simulatorAccountingConfig } from '../src/cli/demo/catalog-config.js';
import type { ExportItem } from '../src/client/index.js';
import { companyAt, exportItemAt, type JobSpec } from '../src/simulator/data/index.js';
import { RESULT_PREFIX } from './protocol.js';
import { stat } from './stats.js';

/**
 * The floor takes the fastest round of each (a lower bound should not include other processes'
 * noise); the median is reported beside it.
 */
export interface MicrobenchResult {
  items: number;
  rounds: number;
  /** µs per `mapExportItem` call. */
  mapUs: number;
  mapMedianUs: number;
  /** µs per hledger `record`, one call at a time. */
  hledgerSequentialUs: number;
  hledgerSequentialMedianUs: number;
  /** µs per hledger `record` (wall ÷ entries) with 8 callers at once. */
  hledgerConcurrent8Us: number;
  hledgerConcurrent8MedianUs: number;
  /**
   * Memory the hledger adapter keeps per entry written (its in-memory index of the journal): the
   * JavaScript heap and the typed arrays' buffers, after a full GC; null when the process was
   * started without `--expose-gc`. (Raw results written before the index left the heap have
   * `hledgerHeapBytesPerEntry`, heap only, instead; the report leaves that figure out.)
   */
  hledgerIndexBytesPerEntry: number | null;
  hledgerIndexEntries: number;
}

process.removeAllListeners('warning');

const seed = Number(process.env['BENCH_SEED'] ?? '1');
const count = Number(process.env['BENCH_ITEMS'] ?? '2000');
const rounds = Number(process.env['BENCH_ROUNDS'] ?? '3');
const company = companyAt(seed, 0);
const spec: JobSpec = {
  seed,
  companyId: company.id,
  jobKey: 'microbench',
  itemCount: count,
  vendorBasedBookkeeping: false,
};
const items = Array.from(
  { length: count },
  (_, i) => exportItemAt(spec, i, 'http://127.0.0.1:1/_files/x/0/y') as unknown as ExportItem,
);
const accounting = compileAccountingConfig(simulatorAccountingConfig(seed), 'accounting');
const ctx = { jobId: '00000000-0000-4000-8000-000000000001', companyId: company.id };

function mapAll(): AccountingEntry[] {
  const entries: AccountingEntry[] = [];
  for (const item of items) {
    const mapped = mapExportItem(item, accounting, ctx);
    if (mapped.ok) entries.push(mapped.entry);
  }
  return entries;
}

async function hledger(entries: readonly AccountingEntry[], writers: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-bench-micro-'));
  const adapter = createHledgerAdapter({ journalPath: join(dir, 'pleo.journal') });
  try {
    await adapter.validate({ companyId: company.id, vendorBasedBookkeeping: false });
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (;;) {
          const entry = entries[next++];
          if (!entry) return;
          await adapter.record(entry, {
            companyId: company.id,
            idempotencyKey: entry.accountingEntryId,
            attachments: [],
          });
        }
      }),
    );
    return ((performance.now() - started) * 1000) / entries.length;
  } finally {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  }
}

mapAll(); // warm-up
const mapTimes: number[] = [];
let entries: AccountingEntry[] = [];
for (let r = 0; r < rounds; r++) {
  const started = performance.now();
  entries = mapAll();
  mapTimes.push(((performance.now() - started) * 1000) / items.length);
}
await hledger(entries.slice(0, 200), 1); // warm-up
const sequential: number[] = [];
const concurrent: number[] = [];
for (let r = 0; r < rounds; r++) {
  sequential.push(await hledger(entries, 1));
  concurrent.push(await hledger(entries, 8));
}
/** The JavaScript heap in use plus the memory of ArrayBuffers (typed arrays live there). */
function held(): number {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** Memory growth per entry while an adapter holds `count` entries (one writer per 8, no receipts). */
async function hledgerIndexPerEntry(
  entries: readonly AccountingEntry[],
  copies: number,
): Promise<{ bytes: number; entries: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  const dir = await mkdtemp(join(tmpdir(), 'pleo-bench-micro-'));
  const adapter = createHledgerAdapter({ journalPath: join(dir, 'pleo.journal') });
  try {
    await adapter.validate({ companyId: company.id, vendorBasedBookkeeping: false });
    gc();
    const before = held();
    let written = 0;
    for (let copy = 0; copy < copies; copy++) {
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (;;) {
            const entry = entries[next++];
            if (!entry) return;
            // A distinct UUID per copy, as the engine's keys are (accountingEntryId).
            const key = `${copy.toString(16).padStart(8, '0')}${entry.accountingEntryId.slice(8)}`;
            await adapter.record(entry, { companyId: company.id, idempotencyKey: key, attachments: [] });
            written++;
          }
        }),
      );
    }
    gc();
    return { bytes: (held() - before) / written, entries: written };
  } finally {
    await adapter.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const indexPerEntry = await hledgerIndexPerEntry(entries, Number(process.env['BENCH_HEAP_COPIES'] ?? '10'));

const result: MicrobenchResult = {
  items: count,
  rounds,
  mapUs: stat(mapTimes).min,
  mapMedianUs: stat(mapTimes).median,
  hledgerSequentialUs: stat(sequential).min,
  hledgerSequentialMedianUs: stat(sequential).median,
  hledgerConcurrent8Us: stat(concurrent).min,
  hledgerConcurrent8MedianUs: stat(concurrent).median,
  hledgerIndexBytesPerEntry: indexPerEntry?.bytes ?? null,
  hledgerIndexEntries: indexPerEntry?.entries ?? 0,
};
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
