/**
 * The PostgreSQL store against a real PostgreSQL (house style rule 11): the shared conformance
 * suite, then what only a shared database can get wrong — racing workers, concurrent bookings,
 * concurrent migrations, and connections killed mid-transaction.
 *
 * Each test gets a fresh schema (`pleo_test_<pid>_<n>`), dropped after the test. When PostgreSQL
 * is unreachable every test fails (never skips): start it with
 * `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { LeaseLostError } from '../../src/errors/index.js';
import { isRetryablePostgresError, type RetryInfo } from '../../src/store/postgres/index.js';
import { compileRetry, retryDelayMs } from '../../src/store/postgres/retry.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/schema.js';
import {
  createPostgresStore,
  type PostgresStoreOptions,
  type Store,
  markBooking,
  recordOutcome,
} from '../../src/store/index.js';
import { runStoreContract } from './contract.js';
import { newJob as newStoreJob, planItems } from './fixtures.js';

const DATABASE_URL = process.env['PLEO_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const APP = `pleo-export-test-${process.pid}`;

const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 3, connectionTimeoutMillis: 5000 });
admin.on('error', () => {});
let counter = 0;
const schemas = new Set<string>();
const stores: Store[] = [];

function newSchema(): string {
  const schema = `pleo_test_${process.pid}_${counter++}`;
  schemas.add(schema);
  return schema;
}

function makeStore(schema: string, extra: Partial<PostgresStoreOptions> = {}): Store {
  const store = createPostgresStore({
    connectionString: DATABASE_URL,
    schema,
    pool: { max: 4 },
    applicationName: APP,
    retry: { initialDelayMs: 1, maxDelayMs: 20 },
    ...extra,
  });
  stores.push(store);
  return store;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const result = await admin.query<{ n: string }>(sql, params);
  return Number(result.rows[0]?.n ?? 0);
}

/** Waits (bounded) until `check` holds; for server-side effects that land asynchronously. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Checked before every test (not once in beforeAll, which would mark the tests skipped): with
// PostgreSQL down, each test fails and says how to start it.
let unreachable: Error | undefined;
const reachable = admin.query('SELECT 1').then(
  () => true,
  (error: unknown) => {
    unreachable = new Error(
      `PostgreSQL is not reachable at ${DATABASE_URL} (${String(error)}). Start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.',
      { cause: error },
    );
    return false;
  },
);

beforeEach(async () => {
  if (!(await reachable)) throw unreachable ?? new Error('PostgreSQL is not reachable');
});

afterEach(async () => {
  if (!(await reachable)) return;
  // Leak guard: a test must close what it opens. Close leftovers, then fail if any connection of
  // this file's stores is still open once they are all closed.
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  schemas.clear();
  await eventually(
    async () =>
      (await count('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [APP])) === 0,
    'the stores’ connections to close',
  );
});

afterAll(async () => {
  await admin.end();
});

runStoreContract('postgres', () => Promise.resolve(makeStore(newSchema())), {
  withCommitFaults: (faults) => Promise.resolve(makeStore(newSchema(), { faults })),
});

const COMPANY = 'c0000000-0000-4000-8000-000000000001';
const ref = { companyId: COMPANY, jobId: 'j0000000-0000-4000-8000-000000000001' };
const entry = (n: number) => `e0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const newJob = (store: Store, jobRef = ref): Promise<void> => newStoreJob(store, jobRef);

describe('postgres store: workers sharing one database', () => {
  it('two workers race acquireJob, then write: the stale one gets LeaseLostError and changed nothing', async () => {
    const schema = newSchema();
    const a = makeStore(schema);
    const b = makeStore(schema);
    await a.migrate();
    await newJob(a);
    for (let round = 0; round < 5; round++) {
      const [fa, fb] = await Promise.all([a.acquireJob(ref, 'worker-a'), b.acquireJob(ref, 'worker-b')]);
      expect(Math.abs(fa.token - fb.token)).toBe(1);
      const [winner, loser] = fa.token > fb.token ? [a, b] : [b, a];
      const [winnerFence, loserFence] = fa.token > fb.token ? [fa, fb] : [fb, fa];
      const write = (store: Store, fence: typeof fa, tag: string) =>
        store.saveListedPage(fence, {
          items: [{ accountingEntryId: `${tag}-${round}`, status: 'pending' }],
          cursor: `${tag}-${round}`,
          complete: false,
        });
      const [w, l] = await Promise.allSettled([
        write(winner, winnerFence, 'win'),
        write(loser, loserFence, 'lose'),
      ]);
      expect(w.status).toBe('fulfilled');
      expect(l.status === 'rejected' && l.reason instanceof LeaseLostError).toBe(true);
      await expect(loser.updateJob(loserFence, { phase: 'done' })).rejects.toBeInstanceOf(LeaseLostError);
      const job = await a.getJob(ref);
      expect(job).toMatchObject({
        leaseOwner: winnerFence.owner,
        listCursor: `win-${round}`,
        phase: 'discovered',
      });
    }
    const items = await a.listItems(ref);
    expect(items.map((i) => i.accountingEntryId).sort()).toEqual([0, 1, 2, 3, 4].map((r) => `win-${r}`));
  });

  it('a takeover waits for a write under way: the old owner’s page is all there or not at all', async () => {
    const schema = newSchema();
    const a = makeStore(schema);
    const b = makeStore(schema);
    await a.migrate();
    await newJob(a);
    const fa = await a.acquireJob(ref, 'worker-a');
    const page = Array.from({ length: 5000 }, (_, i) => ({
      accountingEntryId: entry(i),
      status: 'pending' as const,
    }));
    const [saved, fb] = await Promise.allSettled([
      a.saveListedPage(fa, { items: page, cursor: 'A', complete: true }),
      b.acquireJob(ref, 'worker-b'),
    ]);
    expect(fb.status).toBe('fulfilled');
    const stored = await count(`SELECT count(*) AS n FROM "${schema}".items`);
    if (saved.status === 'fulfilled') expect(stored).toBe(5000);
    else {
      expect(saved.reason).toBeInstanceOf(LeaseLostError);
      expect(stored).toBe(0);
    }
    // Woken up after the takeover, the old owner can write nothing more.
    await expect(a.saveListedPage(fa, { items: [], cursor: 'late', complete: true })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect((await b.getJob(ref))?.leaseOwner).toBe('worker-b');
    expect((await b.getJob(ref))?.listCursor).not.toBe('late');
  });

  it('a takeover racing a stream of per-item writes: each write is all there under the old fence or refused', async () => {
    const schema = newSchema();
    const a = makeStore(schema, { pool: { max: 8 } });
    const b = makeStore(schema);
    await a.migrate();
    await newJob(a);
    const fa = await a.acquireJob(ref, 'worker-a');
    const ids = Array.from({ length: 300 }, (_, i) => entry(i + 1));
    await planItems(a, fa, ids);
    let takenOver = false;
    const writes = ids.map(async (id, i) => {
      // Intent then outcome, as the engine does; the takeover lands somewhere in the middle.
      await markBooking(a, fa, id, 1);
      if (i === 100) await b.acquireJob(ref, 'worker-b').then(() => (takenOver = true));
      const after = takenOver;
      await recordOutcome(a, fa, id, {
        status: 'booked',
        externalId: `A-${id}`,
        externalUrl: null,
        exportedAt: 't',
      });
      return after;
    });
    const results = await Promise.allSettled(writes);
    const rows = await admin.query<{ entry_id: string; state: string }>(
      `SELECT entry_id, state FROM "${schema}".items`,
    );
    const state = new Map(rows.rows.map((r) => [r.entry_id, r.state]));
    let refused = 0;
    for (const [i, result] of results.entries()) {
      const id = ids[i]!;
      const booked = (await a.findBooking(COMPANY, id)) !== null;
      if (result.status === 'fulfilled') {
        expect(result.value).toBe(false); // nothing is accepted once the takeover has returned
        expect([state.get(id), booked]).toEqual(['booked', true]);
      } else {
        refused++;
        expect(result.reason).toBeInstanceOf(LeaseLostError);
        expect(state.get(id)).not.toBe('booked');
        expect(booked).toBe(false);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect((await b.getJob(ref))?.leaseOwner).toBe('worker-b');
  });

  it('records the same entry from two jobs at once: exactly one booking row', async () => {
    const schema = newSchema();
    const a = makeStore(schema);
    const b = makeStore(schema);
    await a.migrate();
    const job2 = { companyId: COMPANY, jobId: 'j0000000-0000-4000-8000-000000000002' };
    const ids = Array.from({ length: 30 }, (_, i) => entry(i + 1));
    const fences = [];
    for (const [store, jobRef] of [
      [a, ref],
      [b, job2],
    ] as const) {
      await newJob(store, jobRef);
      const fence = await store.acquireJob(jobRef, jobRef.jobId);
      await planItems(store, fence, ids);
      fences.push(fence);
    }
    const [f1, f2] = fences as [(typeof fences)[0], (typeof fences)[0]];
    await Promise.all(
      ids.flatMap((id) => [
        recordOutcome(a, f1, id, {
          status: 'booked',
          externalId: `A-${id}`,
          externalUrl: null,
          exportedAt: 't',
        }),
        recordOutcome(b, f2, id, {
          status: 'booked',
          externalId: `B-${id}`,
          externalUrl: null,
          exportedAt: 't',
        }),
      ]),
    );
    expect(await count(`SELECT count(*) AS n FROM "${schema}".bookings`)).toBe(ids.length);
    expect(
      await count(
        `SELECT count(*) AS n FROM (SELECT entry_id FROM "${schema}".bookings GROUP BY entry_id HAVING count(*) > 1) d`,
      ),
    ).toBe(0);
    for (const id of ids) {
      const booking = await a.findBooking(COMPANY, id);
      expect(booking?.externalId).toBe(`${booking?.jobId === ref.jobId ? 'A' : 'B'}-${id}`);
    }
    expect((await a.counts(ref)).byState.booked).toBe(ids.length);
    expect((await b.counts(job2)).byState.booked).toBe(ids.length);
  });

  it('migrates from 4 workers starting at once', async () => {
    const schema = newSchema();
    const workers = [0, 1, 2, 3].map(() => makeStore(schema));
    await Promise.all(workers.map((w) => w.migrate()));
    expect(await count(`SELECT count(*) AS n FROM "${schema}".migrations`)).toBe(POSTGRES_MIGRATIONS.length);
    await Promise.all(workers.map((w) => w.migrate()));
    expect(await count(`SELECT count(*) AS n FROM "${schema}".migrations`)).toBe(POSTGRES_MIGRATIONS.length);
    await Promise.all(workers.map((w, i) => newJob(w, { companyId: COMPANY, jobId: `job-${i}` })));
    expect((await workers[0]!.jobStats()).byPhase.discovered).toBe(4);
  });

  it('moves the payloads of an older schema into the payloads table', async () => {
    const schema = newSchema();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.query(
      `CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const before = POSTGRES_MIGRATIONS.findIndex((m) => m.name === 'payloads');
    for (const [i, migration] of POSTGRES_MIGRATIONS.slice(0, before).entries()) {
      await admin.query(`SET search_path TO "${schema}"; ${migration.sql}; RESET search_path`);
      await admin.query(`INSERT INTO "${schema}".migrations (version, name) VALUES ($1, $2)`, [
        i + 1,
        migration.name,
      ]);
    }
    await admin.query(
      `INSERT INTO "${schema}".jobs (company_id, job_id, created_at, pleo_status, vendor_based_bookkeeping,
         number_of_items, phase, discovered_at, updated_at)
       VALUES ($1, $2, 't', 'in_progress', false, 2, 'planned', 't', 't')`,
      [ref.companyId, ref.jobId],
    );
    await admin.query(
      `INSERT INTO "${schema}".items (company_id, job_id, entry_id, pleo_status, state, seq, date, payload, updated_at)
       VALUES ($1, $2, 'e1', 'pending', 'planned', 1, 'd', '{"accountingEntryId":"e1"}', 't'),
              ($1, $2, 'e2', 'pending', 'planned', 2, 'd', NULL, 't')`,
      [ref.companyId, ref.jobId],
    );
    const store = makeStore(schema);
    await store.migrate();
    const todo = await store.itemsToProcess(ref, 0, 10);
    expect(todo.map((i) => [i.accountingEntryId, i.payload])).toEqual([
      ['e1', { accountingEntryId: 'e1' }],
      ['e2', null],
    ]);
    expect(
      await count(
        `SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'items' AND column_name = 'payload'`,
        [schema],
      ),
    ).toBe(0);
  });

  it('refuses a schema newer than the code', async () => {
    const schema = newSchema();
    const store = makeStore(schema);
    await store.migrate();
    await admin.query(`INSERT INTO "${schema}".migrations (version, name) VALUES (999, 'from the future')`);
    await expect(store.migrate()).rejects.toThrow(/newer than this pleo-export/);
  });
});

describe('postgres store: surviving connection failures', () => {
  it('retries a transaction whose connection was terminated mid-way (pg_terminate_backend)', async () => {
    const schema = newSchema();
    const retries: RetryInfo[] = [];
    const store = makeStore(schema, { onRetry: (info) => retries.push(info) });
    await store.migrate();
    await newJob(store);
    const fence = await store.acquireJob(ref, 'w');
    // Hold the job's row lock so the store's transaction stops inside, after BEGIN.
    const blocker = await admin.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${schema}".jobs WHERE company_id = $1 AND job_id = $2 FOR UPDATE`, [
        ref.companyId,
        ref.jobId,
      ]);
      const update = store.updateJob(fence, { phase: 'claimed', listCursor: 'after-restart' });
      let pid = 0;
      await eventually(async () => {
        const rows = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [APP],
        );
        pid = rows.rows[0]?.pid ?? 0;
        return pid !== 0;
      }, 'the store’s transaction to wait on the row lock');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await blocker.query('ROLLBACK');
      await expect(update).resolves.toMatchObject({ phase: 'claimed', listCursor: 'after-restart' });
    } finally {
      blocker.release();
    }
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(isRetryablePostgresError(retries[0]?.error)).toBe(true);
    expect((await store.getJob(ref))?.fenceToken).toBe(fence.token);
  });

  it('survives idle pooled connections being terminated (pool errors never crash the process)', async () => {
    const schema = newSchema();
    const poolErrors: Error[] = [];
    const store = makeStore(schema, { onPoolError: (error) => poolErrors.push(error) });
    await store.migrate();
    await Promise.all([newJob(store), store.getValue('a'), store.getValue('b'), store.getValue('c')]);
    const killed = await count(
      `SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t`,
      [APP],
    );
    expect(killed).toBeGreaterThan(0);
    await eventually(() => Promise.resolve(poolErrors.length > 0), 'the pool to notice');
    expect(await store.getJob(ref)).not.toBeNull();
    await store.setValue('k', 'v');
    expect(await store.getValue('k')).toBe('v');
  });

  it('gives up after maxAttempts on an unreachable server, and never retries permanent errors', async () => {
    const retries: RetryInfo[] = [];
    const down = makeStore('pleo_unused', {
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      onRetry: (info) => retries.push(info),
    });
    await expect(down.getJob(ref)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);

    const permanent: RetryInfo[] = [];
    const store = makeStore(newSchema(), { onRetry: (info) => permanent.push(info) });
    await store.migrate();
    await newJob(store);
    const stale = await store.acquireJob(ref, 'w1');
    await store.acquireJob(ref, 'w2');
    await expect(store.updateJob(stale, { phase: 'done' })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.acquireJob({ companyId: COMPANY, jobId: 'nope' }, 'w')).rejects.toThrow(/unknown job/);
    expect(permanent).toEqual([]);
  });
});

describe('postgres retry rules', () => {
  it('classifies SQLSTATEs, socket errors and dropped connections', () => {
    for (const code of ['40001', '40P01', '08006', '57P01', '57P03', 'ECONNRESET', 'ECONNREFUSED'])
      expect(isRetryablePostgresError(Object.assign(new Error(code), { code }))).toBe(true);
    for (const code of ['23505', '42P01', '22001', 'LEASE_LOST'])
      expect(isRetryablePostgresError(Object.assign(new Error(code), { code }))).toBe(false);
    expect(isRetryablePostgresError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isRetryablePostgresError(new AggregateError([Object.assign(new Error(), { code: 'ECONNREFUSED' })])),
    ).toBe(true);
    expect(isRetryablePostgresError(new Error('syntax error'))).toBe(false);
    expect(isRetryablePostgresError('40001')).toBe(false);
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = compileRetry({ initialDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect(() => compileRetry({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => compileRetry({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
  });

  it('rejects schema names that cannot be spliced into SQL', () => {
    expect(() =>
      createPostgresStore({ connectionString: DATABASE_URL, schema: 'x"; DROP TABLE y; --' }),
    ).toThrow(/lower-case identifier/);
  });
});
