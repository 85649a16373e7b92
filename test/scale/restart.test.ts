/**
 * PostgreSQL restarted in the middle of a run: the workers' store and queue connections die, the
 * server is away for a few seconds, and the same worker processes reconnect and finish every job
 * exactly once. Runs on a throwaway cluster of its own (see `cluster.ts`): the shared cluster is
 * never restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startThrowawayCluster, type Cluster } from './cluster.js';
import {
  allJobsFinal,
  assertExactlyOnce,
  logLines,
  startWorld,
  waitFor,
  type Worker,
  type World,
} from './harness.js';

let cluster: Cluster | undefined;
let world: World | undefined;
const workers: Worker[] = [];

beforeAll(async () => {
  cluster = await startThrowawayCluster();
});

afterAll(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await world?.close();
  await cluster?.destroy();
});

describe('PostgreSQL restarted during a run', () => {
  it('workers reconnect and finish every job exactly once', async () => {
    const w = await startWorld({ pgUrl: cluster!.url, companies: 4, faultRate: 0.1, receiverLatencyMs: 20 });
    world = w;
    w.createJobs(2, 100);
    workers.push(w.spawnWorker(0, 2), w.spawnWorker(1, 2));
    w.startDetection(1000);
    await waitFor('a quarter of the entries to be booked', () => w.receiver.stats().entries >= 200, 60_000);

    const bookedAtRestart = w.receiver.stats().entries;
    await cluster!.restart(3000);
    const restartedAt = Date.now();
    await waitFor('every job to be final at Pleo', () => allJobsFinal(w), 120_000);
    const finishedAfterMs = Date.now() - restartedAt;
    await w.stopDetection();

    // The same processes finished the work: none exited (crashed) along the way.
    expect(workers.map((worker) => worker.child.exitCode)).toEqual([null, null]);
    const summary = assertExactlyOnce(w);
    expect(bookedAtRestart).toBeLessThan(summary.items - summary.failedItems);
    // They did see the server go away.
    const lost = workers.reduce(
      (n, _w, i) => n + logLines(w, i, /^(store: connection lost|queue: background error|run failed)/).length,
      0,
    );
    expect(lost).toBeGreaterThan(0);
    console.info(
      `restart: ${bookedAtRestart} of ${summary.items - summary.failedItems} entries booked when PostgreSQL went down for 3 s; ` +
        `finished ${finishedAfterMs} ms after it came back; ${lost} connection errors logged and survived`,
    );

    for (const worker of workers) worker.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  }, 240_000);
});
