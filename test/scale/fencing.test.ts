/**
 * Fencing: a worker paused past its lease (SIGSTOP) loses its company to another worker, and when
 * it wakes up (SIGCONT) it writes nothing more: no entry to the accounting system, no item update
 * and no job event to Pleo. The new owner finishes the job exactly once.
 *
 * The pause is taken while the paused worker holds no open store transaction (a paused transaction
 * would hold the job's row lock until PostgreSQL's idle-in-transaction timeout ends it, which the
 * runtime sets to 30 s: correct, only slower than this test needs).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  allJobsFinal,
  assertExactlyOnce,
  createDatabase,
  logLines,
  startWorld,
  waitFor,
  type Worker,
  type World,
} from './harness.js';

let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let world: World | undefined;
const workers: Worker[] = [];

beforeAll(async () => {
  database = await createDatabase();
});

afterAll(async () => {
  for (const worker of workers) {
    worker.child.kill('SIGCONT');
    worker.child.kill('SIGKILL');
  }
  await world?.close();
  await database?.drop();
});

/** Open transactions of the store's sessions (application_name 'pleo-export') in the database. */
async function storeTransactionsOpen(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'pleo-export' AND xact_start IS NOT NULL`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** What the outside world has received: every write request to Pleo and to the accounting system. */
function writes(w: World): { entryPosts: number; itemUpdates: number; jobEvents: number } {
  const byOperation = w.sim.admin.state({ items: false }).requests.byOperation;
  const postsByKey = w.receiver.stats().postsByKey;
  return {
    entryPosts: Object.values(postsByKey).reduce((a, b) => a + b, 0),
    itemUpdates: byOperation['updateJobItems'] ?? 0,
    jobEvents: byOperation['createEvent'] ?? 0,
  };
}

describe('fencing: a worker paused past its lease', () => {
  it('writes nothing after another worker took its company over', async () => {
    // Slow entries (15 ms each) keep the first worker busy for seconds; long request timeouts mean
    // a request sent before the pause is answered after it, never timed out and re-sent.
    const w = await startWorld({
      pgUrl: database!.url,
      companies: 1,
      faultRate: 0,
      receiverLatencyMs: 15,
      timeoutMs: 60_000,
    });
    world = w;
    w.createJobs(1, 400);
    const a = w.spawnWorker(0, 1);
    workers.push(a);
    await w.queue.enqueue(w.companyIds[0]!, 'manual');
    await waitFor('the first worker to book 100 entries', () => w.receiver.stats().entries >= 100, 60_000);

    // Pause it outside a store transaction.
    for (let attempt = 0; ; attempt++) {
      a.child.kill('SIGSTOP');
      await sleep(50);
      if ((await storeTransactionsOpen(database!.url)) === 0) break;
      expect(attempt, 'could not pause the worker outside a transaction').toBeLessThan(50);
      a.child.kill('SIGCONT');
      await sleep(7 + attempt);
    }
    const bookedBeforePause = w.receiver.stats().entries;
    expect(bookedBeforePause).toBeLessThan(400);

    // A second worker gets the company once pg-boss sees the first one's heartbeat stop.
    const b = w.spawnWorker(1, 1);
    workers.push(b);
    await waitFor('the second worker to finish the job', () => allJobsFinal(w), 90_000);
    await sleep(500);
    const afterTakeover = writes(w);

    // Wake the first worker: its next heartbeat finds the claim gone, its next write the fence stale.
    a.child.kill('SIGCONT');
    await waitFor(
      'the woken worker to notice it lost the company',
      () => logLines(w, 0, /^run (interrupted|failed)/).length > 0,
      30_000,
    );
    await sleep(3000);
    expect(writes(w), 'writes after the takeover').toEqual(afterTakeover);

    const summary = assertExactlyOnce(w);
    expect(summary.items).toBe(400);
    expect(logLines(w, 1, /^lease takeover/)).toHaveLength(1);
    const noticed = logLines(w, 0, /^run (interrupted|failed)/)[0]!;
    console.info(
      `fencing: paused after ${bookedBeforePause} of 400 entries; the other worker finished; ` +
        `the woken worker logged "${String(noticed['msg'])}" (${JSON.stringify(noticed['code'] ?? noticed['reason'] ?? null)}) and wrote nothing`,
    );

    // Both still work and stop cleanly.
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
  }, 180_000);
});
