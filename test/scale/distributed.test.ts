/**
 * Scaled-out mode under fire: 4 worker processes (`pleo-export worker`, the built CLI) share 20
 * companies through the pg-boss queue and the PostgreSQL store, against a simulator with 10 %
 * transient faults, while the test SIGKILLs a random worker 200 times (restarting it each time).
 * Afterwards: every entry booked exactly once, every item reported once (an identical re-send is
 * allowed only right after an update whose answer the simulator dropped on purpose), every job
 * started and completed once with the right event, each company's jobs in creation order.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CLI,
  allJobsFinal,
  assertExactlyOnce,
  createDatabase,
  logLines,
  prng,
  startWorld,
  waitFor,
  type Worker,
  type World,
} from './harness.js';

const WORKERS = 4;
const SLOTS = 3;
const COMPANIES = Number(process.env['SCALE_COMPANIES'] ?? 20);
const KILLS = Number(process.env['SCALE_KILLS'] ?? 200);

let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let world: World | undefined;
const workers: (Worker | undefined)[] = [];

beforeAll(async () => {
  database = await createDatabase();
});

afterAll(async () => {
  for (const worker of workers) worker?.child.kill('SIGKILL');
  await world?.close();
  await database?.drop();
});

describe('scaled-out mode: 4 workers, 20 companies, 10 % faults, 200 kill -9', () => {
  it('has the built CLI to run (npm test builds first)', () => {
    expect(existsSync(CLI)).toBe(true);
  });

  it('books every entry once, reports every item once and completes every job once, in order', async () => {
    const w = await startWorld({ pgUrl: database!.url, companies: COMPANIES, faultRate: 0.1 });
    world = w;
    // Two jobs per company now, a third while the workers are being killed.
    w.createJobs(2, 40);
    // A kill always hits a worker that finished starting (it takes companies); `livesBefore[i]` is
    // how many lives of worker i had started when the current one was spawned.
    const livesBefore: number[] = [];
    const spawn = (i: number): void => {
      livesBefore[i] = logLines(w, i, /^pleo-export worker started/).length;
      workers[i] = w.spawnWorker(i, SLOTS);
    };
    const started = (i: number): boolean =>
      logLines(w, i, /^pleo-export worker started/).length > livesBefore[i]!;
    for (let i = 0; i < WORKERS; i++) spawn(i);
    w.startDetection(1000);

    const random = prng(7);
    const startedAt = Date.now();
    let kills = 0;
    let killsWhileWorkRemained = 0;
    let moreJobs = false;
    while (kills < KILLS) {
      await sleep(100 + Math.floor(random() * 200));
      if (kills === Math.floor(KILLS / 3) && !moreJobs) {
        moreJobs = true;
        w.createJobs(1, 40);
      }
      const up = workers.map((_w, i) => i).filter(started);
      if (up.length === 0) continue;
      const index = up[Math.floor(random() * up.length)]!;
      const victim = workers[index]!;
      victim.child.kill('SIGKILL');
      const { signal } = await victim.exited;
      expect(signal).toBe('SIGKILL');
      kills++;
      if (!allJobsFinal(w)) killsWhileWorkRemained++;
      spawn(index);
    }
    const killPhaseMs = Date.now() - startedAt;

    await waitFor('every job to be final at Pleo', () => allJobsFinal(w), 150_000);
    const totalMs = Date.now() - startedAt;
    await w.stopDetection();

    // Graceful stop: every worker exits 0 on SIGTERM.
    for (const worker of workers) worker!.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((worker) => worker!.exited));
    expect(exits.map((e) => e.code)).toEqual(exits.map(() => 0));

    const summary = assertExactlyOnce(w);
    const takeovers = workers.reduce((n, _w, i) => n + logLines(w, i, /^lease takeover/).length, 0);
    const redeliveries = workers.reduce(
      (n, _w, i) => n + logLines(w, i, /^message delivered again/).length,
      0,
    );
    const lives = workers.reduce((n, _w, i) => n + logLines(w, i, /^pleo-export worker started/).length, 0);
    console.info(
      `scale: ${summary.jobs} jobs, ${summary.items} items (${summary.failedItems} designed failures, ` +
        `${summary.resentAfterLostAnswer} re-sent after a lost answer), ` +
        `${kills} kills (${killsWhileWorkRemained} while work remained) in ${killPhaseMs} ms, ` +
        `done after ${totalMs} ms; ${lives} worker lives reached "started"; ${takeovers} lease takeovers, ${redeliveries} redeliveries; ` +
        `receiver: ${w.receiver.stats().entries} entries, ${w.receiver.stats().requests} requests; ` +
        `Pleo requests ${w.sim.admin.state({ items: false }).requests.total}, faults ${JSON.stringify(w.sim.admin.state({ items: false }).requests.faults)}`,
    );
    expect(kills).toBe(KILLS);
    // The kills hit a run in progress, and the workers did take over from killed ones.
    expect(killsWhileWorkRemained).toBe(KILLS);
    expect(takeovers).toBeGreaterThan(0);
  }, 300_000);
});
