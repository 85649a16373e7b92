/**
 * The work queue and its workers in-process, on a fresh database: deduplicated enqueue, one run per
 * company at a time in FIFO order while companies run in parallel, retries of a failed run,
 * lease-takeover counting and the metrics reading.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  createQueueWorkers,
  createWorkQueue,
  queueMetrics,
  type QueueWorkers,
  type RunCompany,
  type WorkQueue,
} from '../../src/queue/index.js';
import { createDatabase, waitFor } from './harness.js';

let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let queue: WorkQueue | undefined;
let workers: QueueWorkers | undefined;
let schema = 0;

const silent = { info() {}, warn() {}, error() {} };

beforeAll(async () => {
  database = await createDatabase();
});
afterEach(async () => {
  await workers?.stop(1000);
  workers = undefined;
  await queue?.stop(1000);
  queue = undefined;
});
afterAll(async () => {
  await database?.drop();
});

async function openQueue(name = `queue_${++schema}`): Promise<WorkQueue> {
  queue = createWorkQueue({
    connectionString: database!.url,
    schema: name,
    heartbeatSeconds: 10,
    superviseIntervalSeconds: 1,
    pollIntervalMs: 500,
    retryDelayMaxSeconds: 1,
  });
  await queue.start();
  return queue;
}

describe('work queue', () => {
  it('enqueues a company once while a run of it is waiting', async () => {
    const q = await openQueue();
    expect(await q.enqueue('company-a', 'poll')).toBe('queued');
    expect(await q.enqueue('company-a', 'webhook')).toBe('already_queued');
    expect(await q.enqueue('company-b', 'poll')).toBe('queued');
    const waiting = await q.waiting(10);
    expect(waiting.map((m) => [m.companyId, m.state, m.failedRuns])).toEqual([
      ['company-a', 'created', 0],
      ['company-b', 'created', 0],
    ]);
  });

  it('runs one message per company at a time, in order, and companies in parallel', async () => {
    const q = await openQueue();
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const perCompany = new Map<string, number>();
    const runCompany: RunCompany = async (companyId) => {
      const active = (perCompany.get(companyId) ?? 0) + 1;
      perCompany.set(companyId, active);
      expect(active, `two runs of ${companyId} at once`).toBe(1);
      running++;
      peak = Math.max(peak, running);
      log.push(`start ${companyId}`);
      await sleep(700);
      log.push(`end ${companyId}`);
      running--;
      perCompany.set(companyId, active - 1);
      return { interrupted: false };
    };
    workers = createQueueWorkers({
      queue: q,
      concurrency: 4,
      companyIds: ['a', 'b'],
      runCompany,
      logger: silent,
    });
    await q.enqueue('a', 'poll');
    await q.enqueue('b', 'poll');
    await workers.start();
    await waitFor('a to start', () => log.includes('start a'), 10_000);
    // A run of `a` is active, none is waiting: this one queues behind it.
    expect(await q.enqueue('a', 'webhook')).toBe('queued');
    await waitFor('both runs of a', () => log.filter((l) => l === 'end a').length === 2, 15_000);
    await waitFor('b', () => log.includes('end b'), 15_000);
    expect(log.indexOf('start a', log.indexOf('end a'))).toBeGreaterThan(log.indexOf('end a'));
    expect(peak).toBe(2); // a and b together
    expect(workers.stats()).toMatchObject({ completed: 3, failed: 0, busy: 0, slots: 4 });
  });

  it('retries a run that failed, and counts the redelivery', async () => {
    const q = await openQueue();
    let calls = 0;
    workers = createQueueWorkers({
      queue: q,
      concurrency: 1,
      companyIds: ['a'],
      runCompany: () => {
        calls++;
        return calls === 1
          ? Promise.reject(new Error('Pleo is down'))
          : Promise.resolve({ interrupted: false });
      },
      logger: silent,
    });
    await q.enqueue('a', 'poll');
    await workers.start();
    await waitFor('the retry to complete', () => workers!.stats().completed === 1, 20_000);
    expect(workers.stats()).toMatchObject({ failed: 1, completed: 1, redeliveries: 1 });
    const metrics = await queueMetrics(q, workers);
    expect(metrics.queue).toBe('pleo-export.company');
    expect(metrics.workers).toMatchObject({ completed: 1, failed: 1, redeliveries: 1, takeovers: 0 });
    expect(metrics.depth).toEqual({
      queued: expect.any(Number),
      ready: expect.any(Number),
      active: expect.any(Number),
      failed: 0,
    });
  });

  it('counts a lease takeover when an engine acquires a job another owner held', async () => {
    const q = await openQueue();
    const leases = new Map<string, string | null>([
      ['job-1', 'host:1'], // held by another worker that died
      ['job-2', null], // new
      ['job-3', 'me'], // ours already
    ]);
    // What the worker pool forwards from the engine's `lease_acquired` events.
    const w: QueueWorkers = createQueueWorkers({
      queue: q,
      concurrency: 1,
      companyIds: ['a'],
      runCompany: () => {
        for (const jobId of ['job-1', 'job-2', 'job-3'])
          w.leaseAcquired({ companyId: 'a', jobId }, leases.get(jobId) ?? null, 'me');
        return Promise.resolve({ interrupted: false });
      },
      logger: silent,
    });
    workers = w;
    await q.enqueue('a', 'poll');
    await w.start();
    await waitFor('the run', () => w.stats().completed === 1, 10_000);
    expect(w.stats().takeovers).toBe(1);
  });

  it('on stop, interrupts the running run and leaves its message to be retried', async () => {
    const q = await openQueue();
    workers = createQueueWorkers({
      queue: q,
      concurrency: 1,
      companyIds: ['a'],
      runCompany: async (_id, signal) => {
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return { interrupted: true };
      },
      logger: silent,
    });
    await q.enqueue('a', 'poll');
    await workers.start();
    await waitFor('the run', () => workers!.stats().busy === 1, 10_000);
    await workers.stop(5000);
    expect(workers.stats()).toMatchObject({ state: 'stopped', interrupted: 1, completed: 0 });
    workers = undefined;
    // Seen from another process: the message waits for its retry, with the reason.
    const other = await openQueue(`queue_${schema}`);
    const [waiting] = await other.waiting(10);
    expect(waiting).toMatchObject({ companyId: 'a', state: 'retry', failedRuns: 1 });
    expect(waiting!.lastError).toMatch(/interrupted/);
  });
});
