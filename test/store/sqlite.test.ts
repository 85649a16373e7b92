import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createSqliteStore } from '../../src/store/index.js';
import { runStoreContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'pleo-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreContract('sqlite (file)', () =>
  Promise.resolve(createSqliteStore({ path: join(dir, `s${n++}.db`) })),
);
runStoreContract('sqlite (:memory:)', () => Promise.resolve(createSqliteStore({ path: ':memory:' })));

describe('sqlite store durability', () => {
  it('keeps progress across close and reopen', async () => {
    const path = join(dir, 'reopen.db');
    const a = createSqliteStore({ path });
    await a.migrate();
    await a.upsertJob({
      companyId: 'c',
      jobId: 'j',
      createdAt: '2026-01-01T00:00:00.000Z',
      pleoStatus: 'pending',
      vendorBasedBookkeeping: false,
      numberOfItems: 0,
    });
    const fence = await a.acquireJob({ companyId: 'c', jobId: 'j' }, 'w');
    await a.updateJob(fence, { phase: 'claimed', listCursor: 'ABC' });
    await a.close();
    const b = createSqliteStore({ path });
    await b.migrate();
    expect(await b.getJob({ companyId: 'c', jobId: 'j' })).toMatchObject({
      phase: 'claimed',
      listCursor: 'ABC',
    });
    await b.close();
  });
});
