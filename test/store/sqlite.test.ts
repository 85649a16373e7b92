import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { afterAll, describe, expect, it } from 'vitest';

import { createSqliteStore } from '../../src/store/index.js';
import { Checkpointer } from '../../src/store/sqlite/checkpointer.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/schema.js';
import { runStoreContract } from './contract.js';
import { newJob, planItems } from './fixtures.js';

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

describe('sqlite store: WAL checkpoints off the event loop', () => {
  it('checkpoints from a worker thread; the writer never checkpoints itself', async () => {
    const path = join(dir, 'checkpoint.db');
    const writer = new DatabaseSync(path);
    writer.exec('PRAGMA journal_mode = WAL');
    writer.exec('PRAGMA wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (n INTEGER)');
    const walPages = (): number => {
      const row = writer.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { log: number };
      return Number(row.log);
    };
    const done: number[] = [];
    let checkpointed: () => void = () => undefined;
    const checkpointer = new Checkpointer({
      path,
      every: 50,
      fallback: () => {
        throw new Error('the worker should have run');
      },
      onCheckpoint: (pages) => {
        done.push(pages);
        checkpointed();
      },
    });
    try {
      const first = new Promise<void>((resolve) => (checkpointed = resolve));
      for (let i = 0; i < 50; i++) {
        writer.exec(`INSERT INTO t VALUES (${i})`);
        checkpointer.committed();
      }
      await first;
      expect(done).toHaveLength(1);
      expect(done[0]).toBeGreaterThanOrEqual(50); // each autocommit appended to the WAL
      // Everything the worker saw is copied: a further checkpoint here finds nothing new to copy.
      const row = writer.prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as {
        log: number;
        checkpointed: number;
      };
      expect(row.checkpointed).toBe(row.log);
      expect(walPages()).toBe(row.log);
    } finally {
      await checkpointer.close();
      writer.close();
    }
  });
});

describe('sqlite store: payloads in their own table', () => {
  it('moves the payloads of an older database into the payloads table', async () => {
    const path = join(dir, 'upgrade.db');
    const old = new DatabaseSync(path);
    for (const sql of SQLITE_MIGRATIONS.slice(0, 4)) old.exec(sql);
    old.exec('PRAGMA user_version = 4');
    old.exec(`INSERT INTO jobs (company_id, job_id, created_at, pleo_status, vendor_based_bookkeeping,
                number_of_items, phase, discovered_at, updated_at)
              VALUES ('c', 'j', 't', 'in_progress', 0, 2, 'planned', 't', 't')`);
    old.exec(`INSERT INTO items (company_id, job_id, entry_id, pleo_status, state, seq, date, payload, updated_at)
              VALUES ('c', 'j', 'e1', 'pending', 'planned', 1, 'd', '{"accountingEntryId":"e1"}', 't'),
                     ('c', 'j', 'e2', 'pending', 'planned', 2, 'd', NULL, 't')`);
    old.close();
    const store = createSqliteStore({ path });
    await store.migrate();
    const todo = await store.itemsToProcess({ companyId: 'c', jobId: 'j' }, 0, 10);
    expect(todo.map((i) => [i.accountingEntryId, i.payload])).toEqual([
      ['e1', { accountingEntryId: 'e1' }],
      ['e2', null],
    ]);
    await store.close();
    const after = new DatabaseSync(path);
    const columns = after
      .prepare('PRAGMA table_info(items)')
      .all()
      .map((c) => String(c['name']));
    expect(columns).not.toContain('payload');
    after.close();
  });
});

describe('sqlite store: payloads of booked items', () => {
  it('are no longer served once booked, and are deleted when the job is done; a failed item keeps its own', async () => {
    const path = join(dir, 'payload-cleanup.db');
    const store = createSqliteStore({ path });
    await store.migrate();
    const ref = { companyId: 'c', jobId: 'j' };
    await newJob(store, ref);
    const fence = await store.acquireJob(ref, 'w');
    const ids = ['e1', 'e2'];
    await planItems(store, fence, ids);
    await store.recordProgress(fence, {
      outcomes: [],
      intents: ids.map((id) => ({ accountingEntryId: id, attempt: 1 })),
    });
    await store.recordProgress(fence, {
      intents: [],
      outcomes: [
        {
          accountingEntryId: 'e1',
          outcome: {
            status: 'booked',
            externalId: 'X1',
            externalUrl: null,
            exportedAt: '2026-01-03T00:00:00.000Z',
          },
        },
        {
          accountingEntryId: 'e2',
          outcome: {
            status: 'failed',
            failureReasonType: 'missing_configuration',
            failureReason: 'no account',
          },
        },
      ],
    });
    const rows = (): string[] => {
      const db = new DatabaseSync(path);
      try {
        return db
          .prepare('SELECT entry_id FROM payloads ORDER BY entry_id')
          .all()
          .map((r) => String(r['entry_id']));
      } finally {
        db.close();
      }
    };
    expect((await store.findItemsByEntry('e1'))[0]?.payload).toBeNull();
    expect((await store.findItemsByEntry('e2'))[0]?.payload).toEqual({ accountingEntryId: 'e2' });
    await store.updateJob(fence, { phase: 'done' });
    expect(rows()).toEqual(['e2']);
    await store.close();
  });
});
