import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { accountingEntryIdAt, catalog, exportItemAt } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

// Expose a real gc() to this process without changing how vitest starts it.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memory', () => {
  it('retains nothing per generated item', () => {
    const job = jobOf(61, { itemCount: 1_000_000 });
    for (let i = 0; i < 2_000; i++) exportItemAt(job, i, BASE_URL); // warm up caches and JIT
    const before = heapAfterGc();
    let bytes = 0;
    for (let i = 0; i < 200_000; i++)
      bytes += exportItemAt(job, 800_000 + i, BASE_URL).accountingEntryLines.length;
    for (let i = 0; i < 200_000; i++) bytes += accountingEntryIdAt(job, i).length;
    const growth = heapAfterGc() - before;
    expect(bytes).toBeGreaterThan(0);
    // 200,000 items are ~500 MB of JSON; keeping even 100 bytes each would show as 20 MB.
    expect(growth).toBeLessThan(4 * 1024 * 1024);
  });

  it('keeps a bounded number of catalogs', () => {
    for (let seed = 0; seed < 10; seed++) catalog(seed);
    const before = heapAfterGc();
    for (let seed = 10; seed < 2_010; seed++) catalog(seed);
    expect(heapAfterGc() - before).toBeLessThan(4 * 1024 * 1024);
  });
});
