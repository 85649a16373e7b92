/**
 * One measured run: a fresh simulator (and reference receiver) in this process, a contender in a
 * child process, then the simulator's request counters and a check of the contender's output.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { startReferenceReceiver, type ReferenceReceiver } from '../src/testing/index.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/index.js';
import {
  RESULT_PREFIX,
  SAMPLE_PREFIX,
  type ContenderConfig,
  type ContenderKind,
  type ContenderResult,
  type ContenderSample,
} from './protocol.js';

/** Simulator operation names → the client's names, used in the report. */
export const OPERATION_NAMES: Readonly<Record<string, string>> = {
  listJobs: 'listJobs',
  getJob: 'getJob',
  createEvent: 'sendJobEvent',
  listJobItems: 'listJobItems',
  listExportItems: 'listExportItems',
  updateJobItems: 'updateJobItems',
  files: 'downloadFile',
};

export interface WorldSpec {
  seed: number;
  jobs: number;
  itemsPerJob: number;
  /** Pleo latency per request (API calls and receipt downloads alike). */
  latencyMs: number;
  pageSize: number;
  adapter: 'hledger' | 'http';
  /** Reference receiver latency (http adapter). */
  asLatencyMs: number;
}

export interface ContenderSpec {
  /** Stable key in results. */
  key: string;
  label: string;
  kind: ContenderKind;
  concurrency: number;
  downloadConcurrency: number;
  receipts: boolean;
}

export interface Verification {
  ok: boolean;
  problems: string[];
  /** Digest of every item's final status at Pleo (jobs ≤ 100,000 items), to compare contenders. */
  outcomeDigest: string | null;
  successful: number;
  failed: number;
  /** Entries found in the accounting system, and how many of them were booked more than once. */
  booked: number;
  bookedTwice: number;
  /** Items whose status Pleo received more than once. */
  itemsUpdatedMoreThanOnce: number;
}

export interface ChildRun {
  /** The child's own figures; null when it did not finish (killed, crashed, out of memory). */
  result: ContenderResult | null;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  processWallMs: number;
  samples: ContenderSample[];
  stderrTail: string;
}

export interface RunRecord {
  contender: string;
  child: ChildRun;
  /** Pleo requests by (client) operation during the measured run. */
  requests: Record<string, number>;
  /** Requests that reached the reference receiver (http adapter), receipts included. */
  asRequests: number | null;
  asReceiptUploads: number | null;
  /** CPU the simulator (and receiver) process spent during the run. */
  worldCpuMs: number;
  verification: Verification | null;
}

export interface World {
  sim: RunningSimulator;
  receiver: ReferenceReceiver | null;
  dir: string;
  companyId: string;
  apiKey: string;
  jobIds: string[];
  spec: WorldSpec;
  journalPath: string;
  close(): Promise<void>;
}

export async function startWorld(spec: WorldSpec, dir: string): Promise<World> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const sim = await startSimulator({
    seed: spec.seed,
    companies: 1,
    jobsPerCompany: 0,
    latencyMs: spec.latencyMs,
    requestLogSize: 0,
    historyLimit: 0,
    onError: (error) => process.stderr.write(`simulator: ${String(error)}\n`),
  });
  const company = sim.companies[0]!;
  const jobIds: string[] = [];
  for (let j = 0; j < spec.jobs; j++) {
    jobIds.push(sim.admin.createJob(company.id, { itemCount: spec.itemsPerJob }).id);
  }
  const receiver =
    spec.adapter === 'http' ? await startReferenceReceiver({ latencyMs: spec.asLatencyMs }) : null;
  return {
    sim,
    receiver,
    dir,
    companyId: company.id,
    apiKey: company.apiKey,
    jobIds,
    spec,
    journalPath: join(dir, 'books', 'pleo.journal'),
    async close() {
      await sim.close();
      await receiver?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function requestCounters(world: World): Record<string, number> {
  const byOperation = world.sim.admin.state({ items: false }).requests.byOperation;
  const out: Record<string, number> = {};
  for (const [operation, count] of Object.entries(byOperation)) {
    out[OPERATION_NAMES[operation] ?? operation] = count;
  }
  return out;
}

export function subtractCounters(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}

export interface ChildOptions {
  childScript: string;
  nodeArgs: string[];
  /** Print progress lines on stderr. */
  onSample?: (sample: ContenderSample) => void;
}

export function contenderConfig(
  world: World,
  contender: ContenderSpec,
  extra: Partial<ContenderConfig> = {},
): ContenderConfig {
  return {
    contender: contender.kind,
    simUrl: world.sim.url,
    apiKey: world.apiKey,
    companyId: world.companyId,
    seed: world.spec.seed,
    pageSize: world.spec.pageSize,
    adapter:
      world.receiver === null
        ? { kind: 'hledger', journalPath: world.journalPath }
        : { kind: 'http', url: world.receiver.url },
    dataDir: join(world.dir, 'engine'),
    concurrency: contender.concurrency,
    downloadConcurrency: contender.downloadConcurrency,
    receipts: contender.receipts,
    sampleMs: 1000,
    ...extra,
  };
}

/** Runs one contender process to its end and collects what it printed. */
export function runChild(config: ContenderConfig, options: ChildOptions): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...options.nodeArgs, options.childScript], {
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const samples: ContenderSample[] = [];
    let result: ContenderResult | null = null;
    let stderr = '';
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith(SAMPLE_PREFIX)) {
        const sample = JSON.parse(line.slice(SAMPLE_PREFIX.length)) as ContenderSample;
        samples.push(sample);
        options.onSample?.(sample);
      } else if (line.startsWith(RESULT_PREFIX)) {
        result = JSON.parse(line.slice(RESULT_PREFIX.length)) as ContenderResult;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        result,
        exit: { code, signal },
        processWallMs: performance.now() - started,
        samples,
        stderrTail: stderr.trim(),
      });
    });
  });
}

/** `pleo-entry:<id>` tags of a journal: how many entries, how many ids appear more than once. */
export async function journalEntries(path: string): Promise<{ entries: number; duplicates: number }> {
  const seen = new Set<string>();
  let entries = 0;
  let duplicates = 0;
  const tag = /pleo-entry:([0-9a-fA-F-]{36})/;
  try {
    const lines = createInterface({
      input: createReadStream(path, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      const match = tag.exec(line);
      if (!match) continue;
      entries++;
      if (seen.has(match[1]!)) duplicates++;
      else seen.add(match[1]!);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { entries, duplicates };
}

/**
 * Checks what a contender left behind: every job final with the right event, every item final at
 * Pleo and reported once, and the accounting system holding exactly one entry per successful item.
 */
export async function verify(world: World): Promise<Verification> {
  const problems: string[] = [];
  const state = world.sim.admin.state({ items: false });
  let successful = 0;
  let failed = 0;
  let updatedTwice = 0;
  const digest = createHash('sha256');
  let digestible = world.spec.itemsPerJob <= 100_000;
  for (const jobId of world.jobIds) {
    const snapshot = state.jobs.find((j) => j.job.id === jobId);
    if (!snapshot) {
      problems.push(`job ${jobId} missing`);
      digestible = false;
      continue;
    }
    const counts = snapshot.statusCounts;
    successful += counts.successful;
    failed += counts.failed;
    updatedTwice += snapshot.itemsUpdatedMoreThanOnce;
    const open = counts.pending + counts.in_progress + counts.abandoned;
    if (open > 0) problems.push(`job ${jobId}: ${open} items not final`);
    const expected =
      counts.failed === 0 ? 'completed' : counts.successful === 0 ? 'failed' : 'completed_with_errors';
    if (snapshot.job.status !== expected) {
      problems.push(`job ${jobId} is ${snapshot.job.status}, expected ${expected}`);
    }
    if (digestible) {
      const items = world.sim.admin.job(jobId, { items: true })?.items ?? [];
      for (const item of items) digest.update(`${item.index}:${item.status}\n`);
    }
  }
  let booked: number;
  let bookedTwice: number;
  if (world.receiver) {
    const stats = world.receiver.stats();
    booked = stats.entries;
    bookedTwice = stats.duplicates;
  } else {
    const journal = await journalEntries(world.journalPath);
    booked = journal.entries;
    bookedTwice = journal.duplicates;
  }
  if (bookedTwice > 0) problems.push(`${bookedTwice} entries booked twice`);
  if (booked !== successful) {
    problems.push(`${booked} entries in the accounting system, ${successful} items successful at Pleo`);
  }
  if (updatedTwice > 0) problems.push(`${updatedTwice} items reported to Pleo more than once`);
  return {
    ok: problems.length === 0,
    problems,
    outcomeDigest: digestible ? digest.digest('hex').slice(0, 16) : null,
    successful,
    failed,
    booked,
    bookedTwice,
    itemsUpdatedMoreThanOnce: updatedTwice,
  };
}
