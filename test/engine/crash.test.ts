/**
 * Crash safety: the engine runs as a child process and is killed with SIGKILL at every step
 * boundary (and at random moments), then restarted until it finishes. After each scenario:
 * every accountingEntryId is booked in the accounting system exactly once, every item is reported
 * to Pleo exactly once with its final status, and the job is completed exactly once with the
 * right event. The accounting system is the http adapter's reference receiver, which counts
 * bookings per entry.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { createSqliteStore } from '../../src/store/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/engine/index.js', import.meta.url));
const SEED = 11;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(env: Record<string, string>, killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface World {
  sim: RunningSimulator;
  receiver: ReferenceReceiver;
  dir: string;
  env: Record<string, string>;
}

let world: World | undefined;
afterEach(async () => {
  if (!world) return;
  await world.sim.close();
  await world.receiver.close();
  rmSync(world.dir, { recursive: true, force: true });
  world = undefined;
});

async function setup(items: number, receiverLatencyMs = 0): Promise<{ w: World; jobId: string }> {
  const sim = await startSimulator({ seed: SEED, companies: 1, jobsPerCompany: 0, maxPageSize: 100 });
  const receiver = await startReferenceReceiver({ latencyMs: receiverLatencyMs });
  const dir = mkdtempSync(join(tmpdir(), 'pleo-crash-'));
  const company = sim.companies[0]!;
  const job = sim.admin.createJob(company.id, { itemCount: items });
  const w: World = {
    sim,
    receiver,
    dir,
    env: {
      SIM_URL: sim.url,
      API_KEY: company.apiKey,
      COMPANY_ID: company.id,
      RECEIVER_URL: receiver.url,
      DATA_DIR: dir,
      SEED: String(SEED),
    },
  };
  world = w;
  return { w, jobId: job.id };
}

/** Restarts the engine until a run exits 0; returns how many runs it took. */
async function finish(w: World, extra: Record<string, string> = {}): Promise<number> {
  for (let runs = 1; runs <= 10; runs++) {
    const run = await runChild({ ...w.env, ...extra });
    if (run.code === 0) return runs;
    if (run.signal !== 'SIGKILL')
      throw new Error(`engine run failed (${run.code}): ${run.stderr.slice(-2000)}`);
  }
  throw new Error('engine did not finish in 10 runs');
}

/** Entries per accountingEntryId in the hledger journal, read from the file itself. */
function journalBookings(w: World): Record<string, number> {
  const path = join(w.dir, 'books.journal');
  const counts: Record<string, number> = {};
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const id = /^\d{4}-.*pleo-entry:([0-9a-f-]{36})/.exec(line)?.[1];
    if (id !== undefined) counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

function assertExactlyOnce(
  w: World,
  jobId: string,
  items: number,
  bookings: Record<string, number> = w.receiver.stats().bookingsByEntryId,
): void {
  const snap = w.sim.admin.job(jobId, { items: true })!;
  // Completed exactly once, with the event the outcomes call for.
  const finals = snap.events.filter((e) => e.accepted && e.event !== 'started');
  expect(finals).toHaveLength(1);
  expect(snap.events.filter((e) => e.accepted && e.event === 'started')).toHaveLength(1);
  const expectedEvent =
    snap.statusCounts.failed === 0
      ? 'completed'
      : snap.statusCounts.successful === 0
        ? 'failed'
        : 'completed_with_errors';
  expect(finals[0]!.event).toBe(expectedEvent);
  expect(snap.job.status).toBe(expectedEvent);
  // Every item reported exactly once, with a final status.
  expect(snap.statusCounts.successful + snap.statusCounts.failed).toBe(items);
  const updatedTwice = snap.items!.filter((i) => i.updateCount !== 1);
  expect(updatedTwice.map((i) => `${i.accountingEntryId}:${i.updateCount}`)).toEqual([]);
  // Every successful item booked exactly once; failed items not at all.
  const bookedTwice = Object.entries(bookings).filter(([, n]) => n !== 1);
  expect(bookedTwice).toEqual([]);
  const successful = snap
    .items!.filter((i) => i.status === 'successful')
    .map((i) => i.accountingEntryId)
    .sort();
  expect(Object.keys(bookings).sort()).toEqual(successful);
  expect(snap.statusCounts.failed).toBeGreaterThan(0); // the seeded job holds designed failures
}

const STEPS: [step: string, at: number][] = [
  ['claimed', 1],
  ['listed_page', 2],
  ['fetched_page', 2],
  ['intent_recorded', 40],
  ['receipts_staged', 50], // receipts uploaded, entry not written yet
  ['entry_written', 77],
  ['outcome_recorded', 120],
  // Group commits of intents and outcomes (src/engine/progress.ts): killed right after one, the
  // outcomes still queued behind it are lost and their items are found by lookup.
  ['progress_committed', 3],
  ['progress_committed', 101],
  ['report_sent', 1],
  ['report_sent', 2],
  ['before_complete', 1],
  ['event_sent', 1],
];

describe('crash safety (kill -9 of the engine process)', () => {
  it('has the built engine to run (npm test builds first)', () => {
    expect(existsSync(DIST)).toBe(true);
  });

  for (const [step, at] of STEPS) {
    it(`killed at ${step} #${at}: resumes, books and reports everything exactly once`, async () => {
      const { w, jobId } = await setup(260);
      const crashed = await runChild({ ...w.env, CRASH_STEP: step, CRASH_AT: String(at) });
      expect(crashed.signal).toBe('SIGKILL');
      await finish(w);
      assertExactlyOnce(w, jobId, 260);
    });
  }

  it('killed after staging a page of export items while the listing runs: resumes, reads the data layer again, books everything exactly once', async () => {
    const { w, jobId } = await setup(260);
    // The listing's second page waits until two export pages are staged; the kill comes at the second.
    const crashed = await runChild({
      ...w.env,
      HOLD_LISTING_UNTIL_STAGED: '2',
      CRASH_STEP: 'staged_page',
      CRASH_AT: '2',
    });
    expect(crashed.signal).toBe('SIGKILL');
    const job = w.sim.admin.job(jobId, { items: true })!;
    expect(job.items!.filter((i) => i.updateCount > 0)).toHaveLength(0); // nothing reported yet
    // What the kill left: two staged pages of 100 items, no item with its data yet.
    const ref = { companyId: w.env['COMPANY_ID']!, jobId };
    const state = createSqliteStore({ path: join(w.dir, 'state.db') });
    const record = (await state.getJob(ref))!;
    const fence = { ...ref, token: record.fenceToken, owner: 'test' };
    expect((await state.stagedPage(fence, 0))?.items).toHaveLength(100);
    expect((await state.stagedPage(fence, 1))?.items).toHaveLength(100);
    expect((await state.counts(ref)).fetched).toBe(0);
    expect(record.dataCursor).toBeNull();
    await finish(w);
    assertExactlyOnce(w, jobId, 260);
    // The dead run's staged pages went when the job was planned.
    expect(await state.stagedPage(fence, 0)).toBeNull();
    await state.close();
  });

  it('killed after a group commit with concurrency 4: the outcomes queued behind it are found by lookup', async () => {
    const { w, jobId } = await setup(260, 2);
    const env = { ...w.env, CONCURRENCY: '4' };
    const crashed = await runChild({ ...env, CRASH_STEP: 'progress_committed', CRASH_AT: '40' });
    expect(crashed.signal).toBe('SIGKILL');
    await finish(w, { CONCURRENCY: '4' });
    assertExactlyOnce(w, jobId, 260);
  });

  it('killed at random step boundaries and random moments, with concurrency 4', async () => {
    // 800 entries at 10 ms each in the accounting system, so runs are long enough to be cut.
    const { w, jobId } = await setup(800, 10);
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // Steps every resumed run passes again while work remains (at most 30 entries are processed
    // before the kill). Runs killed at a random moment may get far, so a later step kill can find
    // fewer entries left than its count: the run then finishes, and the loop ends there.
    const steps = ['intent_recorded', 'entry_written', 'outcome_recorded'];
    const env = { ...w.env, CONCURRENCY: '4' };
    let kills = 0;
    for (let i = 0; i < 10; i++) {
      const step = steps[Math.floor(random() * steps.length)]!;
      const run =
        i % 2 === 0
          ? await runChild({ ...env, CRASH_STEP: step, CRASH_AT: String(1 + Math.floor(random() * 30)) })
          : await runChild(env, 200 + Math.floor(random() * 1500));
      if (run.code === 0) break;
      expect(run.signal, `run ${i}`).toBe('SIGKILL');
      kills++;
    }
    // The first run is always cut (800 entries at 10 ms each), and so are the next ones in practice.
    expect(kills).toBeGreaterThanOrEqual(3);
    await finish(w, { CONCURRENCY: '4' });
    assertExactlyOnce(w, jobId, 800);
  });
});

/**
 * The same with hledger, whose adapter offers `recordBatch`: entries go to the journal in batches
 * (one append and one fsync for every entry whose turn came while the previous batch was written),
 * so a kill after a write leaves a whole batch of written entries without outcomes, and up to a
 * batch more of committed intents; each is found by `findExisting` on resume, none is written twice.
 */
describe('crash safety with batched writes (hledger journal)', () => {
  const HLEDGER_STEPS: [step: string, at: number][] = [
    ['intent_recorded', 30],
    ['entry_written', 1],
    ['entry_written', 45],
    ['outcome_recorded', 60],
    ['progress_committed', 4],
    ['progress_committed', 6],
    ['report_sent', 1],
  ];
  for (const [step, at] of HLEDGER_STEPS) {
    it(`killed at ${step} #${at}: each entry once in the journal, each item reported once`, async () => {
      const { w, jobId } = await setup(260);
      const env = { ...w.env, ADAPTER: 'hledger' };
      const crashed = await runChild({ ...env, CRASH_STEP: step, CRASH_AT: String(at) });
      expect(crashed.signal).toBe('SIGKILL');
      await finish(w, { ADAPTER: 'hledger' });
      assertExactlyOnce(w, jobId, 260, journalBookings(w));
    });
  }

  it('killed at random moments and steps, concurrency 1 and 4: each entry once', async () => {
    const { w, jobId } = await setup(800);
    let seed = 777;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const steps = ['intent_recorded', 'entry_written', 'outcome_recorded', 'progress_committed'];
    for (let i = 0; i < 8; i++) {
      const env = { ...w.env, ADAPTER: 'hledger', CONCURRENCY: i % 4 < 2 ? '1' : '4' };
      const step = steps[Math.floor(random() * steps.length)]!;
      const run = await runChild({
        ...env,
        CRASH_STEP: step,
        CRASH_AT: String(1 + Math.floor(random() * 200)),
      });
      if (run.code === 0) break;
      expect(run.signal, `run ${i}`).toBe('SIGKILL');
    }
    await finish(w, { ADAPTER: 'hledger' });
    assertExactlyOnce(w, jobId, 800, journalBookings(w));
  });
});
