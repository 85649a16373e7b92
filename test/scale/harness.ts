/**
 * The scaled-out mode under test: a Pleo simulator, the HTTP adapter's reference receiver (a
 * network accounting system that counts bookings per entry), a fresh PostgreSQL database, a
 * configuration file listing every company, worker processes running the built CLI
 * (`node dist/cli/main.js worker`), and a detector in the test process that enqueues every company
 * every second (what `serve --postgres` does on its poll timer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import pg from 'pg';
import { expect } from 'vitest';

import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';
import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import { createWorkQueue, type WorkQueue } from '../../src/queue/index.js';
import { startSimulator, type ItemSnapshot, type RunningSimulator } from '../../src/simulator/index.js';
import { Rng } from '../../src/simulator/data/index.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const SEED = 23;
/** pg-boss's minimum heartbeat: a dead worker's company moves on after about 10-12 s. */
export const HEARTBEAT_SECONDS = 10;

/** A database of its own on the shared PostgreSQL 15 (dropped by `drop`). */
export async function createDatabase(
  server = 'postgres://postgres@127.0.0.1:5432',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `pleo_scale_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: `${server}/${name}`,
    async drop() {
      const client = new pg.Client({ connectionString: `${server}/postgres` });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface WorldOptions {
  pgUrl: string;
  companies: number;
  /** Probability of a transient fault per Pleo request. */
  faultRate: number;
  receiverLatencyMs?: number;
  /** Pleo and accounting-system request timeout. @default 10000 */
  timeoutMs?: number;
}

export interface Worker {
  readonly index: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface World {
  sim: RunningSimulator;
  receiver: ReferenceReceiver;
  queue: WorkQueue;
  dir: string;
  configPath: string;
  companyIds: string[];
  /** Job ids per company, in creation order. */
  jobs: Map<string, string[]>;
  spawnWorker(index: number, slots: number, extraArgs?: string[]): Worker;
  /** Log file of worker `index` (every life of it, appended). */
  logOf(index: number): string;
  createJobs(perCompany: number, items: number): void;
  /** Enqueues every company now and then every `everyMs` until `stopDetection`. */
  startDetection(everyMs: number): void;
  stopDetection(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const sim = await startSimulator({
    seed: SEED,
    companies: options.companies,
    jobsPerCompany: 0,
    maxPageSize: 100,
    // Every request is kept: the assertions tell a re-send after a lost answer from a duplicate.
    requestLogSize: 1_000_000,
  });
  const receiver = await startReferenceReceiver({ latencyMs: options.receiverLatencyMs ?? 0 });
  const dir = mkdtempSync(join(tmpdir(), 'pleo-scale-'));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const postgres = {
    url: options.pgUrl,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    superviseIntervalSeconds: 1,
    pollIntervalMs: 500,
    retryDelayMaxSeconds: 2,
  };
  const config = {
    // One data directory for every worker: receipts are kept there (a shared volume in production).
    dataDir: join(dir, 'data'),
    pleo: { url: sim.url, timeoutMs, requestsPerSecond: 1000, maxAttempts: 10 },
    server: { shutdownGraceMs: 5000 },
    log: { level: 'info' },
    postgres,
    companies: sim.companies.map((company, index) => ({
      id: company.id,
      name: `company-${index}`,
      apiKey: company.apiKey,
      adapter: { type: 'http', url: receiver.url, timeoutMs },
      accounting: simulatorAccountingConfig(SEED),
    })),
  };
  const configPath = join(dir, 'pleo-export.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  sim.admin.setFaults({ faultRate: options.faultRate });

  const queue = createWorkQueue({
    connectionString: options.pgUrl,
    ...postgres,
    schema: 'pleo_export_queue',
  });
  await queue.start();
  const companyIds = sim.companies.map((c) => c.id);
  const jobs = new Map<string, string[]>(companyIds.map((id) => [id, []]));
  let detection: { timer: NodeJS.Timeout; running: Promise<void> } | undefined;
  const logOf = (index: number): string => join(dir, `worker-${index}.log`);

  const stopDetection = async (): Promise<void> => {
    if (!detection) return;
    clearInterval(detection.timer);
    await detection.running;
    detection = undefined;
  };
  const enqueueAll = async (): Promise<void> => {
    for (const companyId of companyIds) await queue.enqueue(companyId, 'poll').catch(() => undefined);
  };

  return {
    sim,
    receiver,
    queue,
    dir,
    configPath,
    companyIds,
    jobs,
    logOf,
    spawnWorker(index, slots, extraArgs = []) {
      const fd = openSync(logOf(index), 'a');
      const child = spawn(
        process.execPath,
        [CLI, 'worker', '-c', configPath, '--workers', String(slots), '--log-level', 'info', ...extraArgs],
        { stdio: ['ignore', fd, fd], env: { ...process.env, PLEO_EXPORT_CONFIG: configPath } },
      );
      closeSync(fd);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      return { index, child, exited };
    },
    createJobs(perCompany, items) {
      for (let round = 0; round < perCompany; round++) {
        for (const companyId of companyIds) {
          const job = sim.admin.createJob(companyId, { itemCount: items });
          jobs.get(companyId)!.push(job.id);
        }
      }
    },
    startDetection(everyMs) {
      let running = enqueueAll();
      const timer = setInterval(() => {
        running = running.then(enqueueAll);
      }, everyMs);
      detection = {
        timer,
        get running() {
          return running;
        },
      };
    },
    stopDetection,
    async close() {
      await stopDetection();
      await queue.stop(1000).catch(() => undefined);
      await sim.close();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const FINAL = new Set(['completed', 'completed_with_errors', 'failed']);

/** Every job of the world is final at Pleo. */
export function allJobsFinal(world: World): boolean {
  for (const ids of world.jobs.values()) {
    for (const id of ids) {
      const snap = world.sim.admin.job(id, { items: false });
      if (!snap || !FINAL.has(snap.job.status)) return false;
    }
  }
  return true;
}

export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Every entry booked exactly once; every item reported exactly once with a final status; every job
 * started once and completed once with the event its outcomes call for; each company's jobs run in
 * creation order (a job's final event comes before the next job's `started`).
 */
export function assertExactlyOnce(world: World): {
  jobs: number;
  items: number;
  failedItems: number;
  resentAfterLostAnswer: number;
} {
  const successful: string[] = [];
  let items = 0;
  let failedItems = 0;
  let resent = 0;
  // Item updates whose answer the simulator dropped after applying them (`ambiguous` faults): the
  // client cannot know they landed, so it sends the same update again.
  const lostAnswers = new Map<string, number[]>();
  for (const request of world.sim.admin.requestLog()) {
    if (request.operation !== 'updateJobItems' || request.fault !== 'ambiguous') continue;
    const jobId = /export-jobs\/([^/]+)\/items/.exec(request.url)?.[1];
    if (jobId !== undefined)
      lostAnswers.set(jobId, [...(lostAnswers.get(jobId) ?? []), Date.parse(request.at)]);
  }
  for (const [companyId, ids] of world.jobs) {
    const snaps = ids.map((id) => world.sim.admin.job(id, { items: true })!);
    for (const snap of snaps) {
      const accepted = snap.events.filter((e) => e.accepted);
      expect(
        accepted.filter((e) => e.event === 'started'),
        `started of ${snap.job.id}`,
      ).toHaveLength(1);
      const finals = accepted.filter((e) => e.event !== 'started');
      expect(
        finals.map((e) => e.event),
        `final events of ${snap.job.id}`,
      ).toHaveLength(1);
      const expected =
        snap.statusCounts.failed === 0
          ? 'completed'
          : snap.statusCounts.successful === 0
            ? 'failed'
            : 'completed_with_errors';
      expect(finals[0]!.event).toBe(expected);
      expect(snap.job.status).toBe(expected);
      expect(snap.statusCounts.successful + snap.statusCounts.failed).toBe(snap.items!.length);
      const notOnce = snap.items!.filter((i) => !reportedOnce(i, lostAnswers.get(snap.job.id) ?? []));
      expect(
        notOnce.map((i) => `${i.accountingEntryId}: ${JSON.stringify(i.history)}`),
        `items of ${snap.job.id} reported other than once`,
      ).toEqual([]);
      resent += snap.items!.filter((i) => i.updateCount > 1).length;
      for (const item of snap.items!)
        if (item.status === 'successful') successful.push(item.accountingEntryId);
      items += snap.items!.length;
      failedItems += snap.statusCounts.failed;
    }
    // Creation order (the engine's order: createdAt, then id) is processing order.
    const ordered = [...snaps].sort(
      (a, b) => Date.parse(a.job.createdAt) - Date.parse(b.job.createdAt) || a.job.id.localeCompare(b.job.id),
    );
    for (let i = 1; i < ordered.length; i++) {
      const previousEnd = ordered[i - 1]!.events.find((e) => e.accepted && FINAL.has(e.event))!;
      const nextStart = ordered[i]!.events.find((e) => e.accepted && e.event === 'started')!;
      expect(
        Date.parse(previousEnd.at) <= Date.parse(nextStart.at),
        `company ${companyId}: job ${ordered[i]!.job.id} started before ${ordered[i - 1]!.job.id} ended`,
      ).toBe(true);
    }
  }
  const stats = world.receiver.stats();
  const bookedTwice = Object.entries(stats.bookingsByEntryId).filter(([, n]) => n !== 1);
  expect(bookedTwice).toEqual([]);
  expect(Object.keys(stats.bookingsByEntryId).sort()).toEqual(successful.sort());
  return { jobs: [...world.jobs.values()].flat().length, items, failedItems, resentAfterLostAnswer: resent };
}

/**
 * Reported once: one accepted update, or the same final status again right after an update of this
 * job whose answer was lost (each such loss explains one repetition, never a different status).
 */
function reportedOnce(item: ItemSnapshot, lost: readonly number[]): boolean {
  if (item.updateCount === 1) return true;
  const updates = item.history.filter((change) => change.source === 'update');
  if (updates.length !== item.updateCount || item.updateCount - 1 > lost.length) return false;
  if (updates.some((change) => change.status !== updates[0]!.status)) return false;
  // Every update but the last was applied by a request whose answer was lost.
  return updates
    .slice(0, -1)
    .every((change) => lost.some((at) => Math.abs(Date.parse(change.at) - at) <= 2000));
}

/** Lines of a worker's log (pino JSON) whose `msg` matches. */
export function logLines(world: World, index: number, msg: RegExp): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(world.logOf(index), 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (typeof record['msg'] === 'string' && msg.test(record['msg'])) out.push(record);
    } catch {
      // a line torn by kill -9
    }
  }
  return out;
}

/** Deterministic PRNG for kill timing (reproducible runs). */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
