/**
 * Workload 6, scale-out: N `pleo-export worker` processes (each running one company at a time,
 * `--workers 1`) share a fresh PostgreSQL database (store + pg-boss queue) and drain C companies ×
 * 1 job each. The harness enqueues every company once, as `serve --postgres` does on its poll
 * timer; the time runs from starting the workers until the simulator shows every job final. The
 * workers are then stopped with SIGTERM. The accounting system is the reference receiver (the
 * hledger journal cannot be shared by several machines).
 *
 * It needs the scale-out issue (PostgreSQL store, pg-boss queue, `pleo-export worker`). Until that
 * has landed the workload is reported as not run. The queue module is loaded at run time from the
 * harness build (the CLI, which the build includes, imports it), so this file compiles without it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import pg from 'pg';

import { startReferenceReceiver } from '../src/testing/index.js';
import { simulatorAccountingConfig } from '../src/cli/demo/catalog-config.js';
import { startSimulator } from '../src/simulator/index.js';
import { stat, type Stat } from './stats.js';
import { OPERATION_NAMES } from './world.js';
import type { ScaleOutWorkload } from './workloads.js';

/** The part of `src/queue`'s `createWorkQueue` the harness uses (see the module comment). */
interface WorkQueueLike {
  start(): Promise<void>;
  enqueue(companyId: string, reason: 'poll'): Promise<string>;
  stop(graceMs: number): Promise<void>;
}
interface QueueModule {
  createWorkQueue(
    this: void,
    options: {
      connectionString: string;
      schema: string;
      heartbeatSeconds: number;
      superviseIntervalSeconds: number;
      pollIntervalMs: number;
      retryDelayMaxSeconds: number;
    },
  ): WorkQueueLike;
}

const QUEUE = {
  heartbeatSeconds: 10,
  superviseIntervalSeconds: 1,
  pollIntervalMs: 500,
  retryDelayMaxSeconds: 2,
};

export interface ScaleOutPoint {
  workers: number;
  wallMs: Stat;
  itemsPerSec: number;
  verified: boolean;
  problems: string[];
  /**
   * Resources (medians over the repetitions; absent from raw results written before they were
   * measured). CPU and peak RSS of the worker processes come from /proc, read just before they
   * are stopped; the machine's busy share from `os.cpus()` over the measured span.
   */
  workerCpuSec?: Stat;
  /** The largest peak RSS of one worker process. */
  workerMaxRssBytes?: Stat;
  /** Busy share of all cores over the run (1 = every core busy all the time). */
  machineBusy?: Stat;
  /** Pleo requests per item by operation (`downloadFile`: receipt files). */
  requestsPerItem?: Record<string, number>;
  /** Requests the accounting system saw per item (entries, receipt uploads, validations). */
  asCallsPerItem?: number;
  /** Pleo calls that must follow one another × latency, companies `workers` at a time. */
  floorMs?: number;
}

export type ScaleOutMeasurement =
  | { workload: ScaleOutWorkload; status: 'not-run'; reason: string }
  | { workload: ScaleOutWorkload; status: 'run'; points: ScaleOutPoint[] };

export interface ScaleOutContext {
  seed: number;
  repeat: number;
  workDir: string;
  /** The harness build's CLI (`src/cli/main.js`); the queue module sits beside it. */
  cliScript: string;
  queueModule: string;
  /** PostgreSQL server URL without a database (a fresh database is created per run). */
  postgresServer: string;
  /** Node options for every worker process (`--profile` passes `--cpu-prof`). */
  nodeArgs: string[];
  log: (line: string) => void;
}

/** Whether the CLI has a `worker` command (the scale-out issue has landed). */
export function workerCommandAvailable(ctx: ScaleOutContext): { ok: boolean; detail: string } {
  if (!existsSync(ctx.queueModule)) return { ok: false, detail: 'no work queue module (src/queue)' };
  const probe = spawnSync(process.execPath, [ctx.cliScript, 'worker', '--help'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (probe.error) return { ok: false, detail: probe.error.message };
  const text = `${probe.stdout}${probe.stderr}`;
  if (probe.status !== 0 || /unknown command/i.test(text)) {
    return { ok: false, detail: text.trim().split('\n')[0] ?? `exit code ${String(probe.status)}` };
  }
  return { ok: true, detail: '' };
}

function stop(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
        }),
    ),
  ).then(() => undefined);
}

async function withAdmin<T>(server: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface PointRun {
  wallMs: number;
  problems: string[];
  workerCpuSec: number;
  workerMaxRssBytes: number;
  machineBusy: number;
  requests: Record<string, number>;
  asRequests: number;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

/** CPU seconds and peak RSS of a live process, from /proc (null when it has gone or off Linux). */
async function processUsage(pid: number): Promise<{ cpuSec: number; peakRssBytes: number } | null> {
  try {
    const statLine = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at "state"; utime and stime
    // are fields 14 and 15 of the line, 12 and 13 after the name.
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!Number.isFinite(ticks) || !hwm) return null;
    return { cpuSec: ticks / TICKS_PER_SECOND, peakRssBytes: Number(hwm[1]) * 1024 };
  } catch {
    return null;
  }
}

/** Busy and total CPU time of all cores so far (ms). */
function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

async function runPoint(
  ctx: ScaleOutContext,
  workload: ScaleOutWorkload,
  workers: number,
): Promise<PointRun> {
  const dir = join(ctx.workDir, `scale-out-${workers}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const database = `pleo_bench_${process.pid}_${workers}`;
  await withAdmin(ctx.postgresServer, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  await withAdmin(ctx.postgresServer, (c) => c.query(`CREATE DATABASE ${database}`));
  const url = `${ctx.postgresServer}/${database}`;
  const sim = await startSimulator({
    seed: ctx.seed,
    companies: workload.companies,
    jobsPerCompany: 1,
    itemsPerJob: workload.itemsPerJob,
    latencyMs: workload.latencyMs,
    requestLogSize: 0,
    historyLimit: 0,
  });
  const receiver = await startReferenceReceiver({ latencyMs: workload.asLatencyMs });
  const { createWorkQueue } = (await import(pathToFileURL(ctx.queueModule).href)) as QueueModule;
  const queue = createWorkQueue({ connectionString: url, schema: 'pleo_export_queue', ...QUEUE });
  const children: ChildProcess[] = [];
  try {
    const config = {
      dataDir: join(dir, 'data'),
      pleo: { url: sim.url, requestsPerSecond: 10_000 },
      postgres: { url, ...QUEUE },
      engine: { concurrency: 1 },
      log: { level: 'warn' },
      companies: sim.companies.map((company, index) => ({
        id: company.id,
        name: `company-${index}`,
        apiKey: company.apiKey,
        adapter: { type: 'http', url: receiver.url },
        accounting: simulatorAccountingConfig(ctx.seed),
      })),
    };
    const configPath = join(dir, 'pleo-export.json');
    await writeFile(configPath, JSON.stringify(config));
    await queue.start();
    for (const company of sim.companies) await queue.enqueue(company.id, 'poll');
    const started = performance.now();
    const machineBefore = machineTimes();
    let failure: string | null = null;
    for (let w = 0; w < workers; w++) {
      const child = spawn(
        process.execPath,
        [...ctx.nodeArgs, ctx.cliScript, 'worker', '-c', configPath, '--workers', '1', '--log-level', 'warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      child.on('exit', (code, signal) => {
        if (failure === null && signal === null && code !== 0) {
          failure = `worker exited with ${String(code)}: ${stderr.trim()}`;
        }
      });
      children.push(child);
    }
    const deadline = started + 60 * 60 * 1000;
    for (;;) {
      if (failure !== null) throw new Error(failure);
      const state = sim.admin.state({ items: false });
      const open = state.jobs.filter((j) => j.job.status === 'pending' || j.job.status === 'in_progress');
      if (open.length === 0) break;
      if (performance.now() > deadline) throw new Error(`${open.length} jobs still open after an hour`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const wallMs = performance.now() - started;
    const machineAfter = machineTimes();
    const usage = await Promise.all(children.map((child) => processUsage(child.pid ?? -1)));
    const state = sim.admin.state({ items: false });
    const problems: string[] = [];
    for (const job of state.jobs) {
      const c = job.statusCounts;
      if (c.pending + c.in_progress + c.abandoned > 0) problems.push(`job ${job.job.id} has open items`);
      if (job.itemsUpdatedMoreThanOnce > 0) problems.push(`job ${job.job.id}: items reported twice`);
    }
    const stats = receiver.stats();
    if (stats.duplicates > 0) problems.push(`${stats.duplicates} entries booked twice`);
    const measured = usage.filter((u) => u !== null);
    if (measured.length < usage.length)
      problems.push('the CPU time of a worker could not be read from /proc');
    return {
      wallMs,
      problems,
      workerCpuSec: measured.reduce((sum, u) => sum + u.cpuSec, 0),
      workerMaxRssBytes: Math.max(0, ...measured.map((u) => u.peakRssBytes)),
      machineBusy:
        (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
      requests: Object.fromEntries(
        Object.entries(state.requests.byOperation).map(([op, n]) => [OPERATION_NAMES[op] ?? op, n]),
      ),
      asRequests: stats.requests,
    };
  } finally {
    await stop(children);
    await queue.stop(1000).catch(() => undefined);
    await sim.close();
    await receiver.close();
    await withAdmin(ctx.postgresServer, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
    ).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The Pleo calls of one company's job that must follow one another: list the company's jobs, send
 * `started`, read every job-item page beside every export-item page (the longer chain counts), send
 * the last batch of item updates
 * and the final event (page size 100, the engine's default), × latency. Companies run `workers` at
 * a time, so the floor is that sequence once per round of companies. Local work (mapping, the
 * store, the receiver) is left out: it is what the measured CPU shows.
 */
export function scaleOutCriticalCalls(workload: ScaleOutWorkload): { pages: number; calls: number } {
  const pages = Math.ceil(workload.itemsPerJob / 100);
  return { pages, calls: 1 + 1 + pages + 1 + 1 };
}

/** That sequence × latency, once per round of companies (`workers` at a time). */
export function scaleOutFloorMs(workload: ScaleOutWorkload, workers: number): number {
  return Math.ceil(workload.companies / workers) * scaleOutCriticalCalls(workload).calls * workload.latencyMs;
}

export async function measureScaleOut(
  ctx: ScaleOutContext,
  workload: ScaleOutWorkload,
): Promise<ScaleOutMeasurement> {
  const available = workerCommandAvailable(ctx);
  if (!available.ok) {
    ctx.log(`[${workload.id}] not run: no \`pleo-export worker\` command (${available.detail})`);
    return {
      workload,
      status: 'not-run',
      reason: `the scale-out issue has not landed: \`pleo-export worker\` does not exist (${available.detail})`,
    };
  }
  const points: ScaleOutPoint[] = [];
  const items = workload.companies * workload.itemsPerJob;
  try {
    for (const workers of workload.workers) {
      const runs: PointRun[] = [];
      for (let rep = 1; rep <= ctx.repeat; rep++) {
        ctx.log(`[${workload.id}] ${rep}/${ctx.repeat} ${workers} worker(s) …`);
        const run = await runPoint(ctx, workload, workers);
        runs.push(run);
        ctx.log(
          `[${workload.id}] ${workers} worker(s): ${(run.wallMs / 1000).toFixed(2)} s, workers' CPU ${run.workerCpuSec.toFixed(1)} s, machine ${(run.machineBusy * 100).toFixed(0)} % busy`,
        );
      }
      const wallMs = stat(runs.map((r) => r.wallMs));
      const problems = runs.flatMap((r) => r.problems);
      const requestsPerItem: Record<string, number> = {};
      for (const op of new Set(runs.flatMap((r) => Object.keys(r.requests)))) {
        requestsPerItem[op] = stat(runs.map((r) => r.requests[op] ?? 0)).median / items;
      }
      points.push({
        workers,
        wallMs,
        itemsPerSec: items / (wallMs.median / 1000),
        verified: problems.length === 0,
        problems: [...new Set(problems)],
        workerCpuSec: stat(runs.map((r) => r.workerCpuSec)),
        workerMaxRssBytes: stat(runs.map((r) => r.workerMaxRssBytes)),
        machineBusy: stat(runs.map((r) => r.machineBusy)),
        requestsPerItem,
        asCallsPerItem: stat(runs.map((r) => r.asRequests)).median / items,
        floorMs: scaleOutFloorMs(workload, workers),
      });
    }
  } catch (error) {
    const reason = `the worker command exists but the run failed: ${(error as Error).message}`;
    ctx.log(`[${workload.id}] not run: ${reason}`);
    return { workload, status: 'not-run', reason };
  }
  return { workload, status: 'run', points };
}
