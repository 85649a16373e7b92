/**
 * The two ways of running, without a database or Pleo: `runCompaniesOnce` (in-process, `run
 * --once`) over the company pool with injected runtimes, and the scaled-out daemon's poller, which
 * only enqueues.
 */
import { describe, expect, it } from 'vitest';

import type { CompiledConfig } from '../../src/config/index.js';
import type { JobResult } from '../../src/engine/index.js';
import type { WorkQueue } from '../../src/queue/index.js';
import {
  createEnqueueingPoller,
  runCompaniesOnce,
  type CompanyRuntime,
  type CreateRuntime,
} from '../../src/runtime/index.js';
import type { Store } from '../../src/store/index.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function configOf(ids: string[], maxConcurrentCompanies: number): CompiledConfig {
  return {
    companies: ids.map((id) => ({ id, name: `company ${id}` })),
    server: { maxConcurrentCompanies },
  } as unknown as CompiledConfig;
}

/** Runtimes whose `runOnce` the test finishes one by one. */
function controlledRuntimes() {
  const started: { companyId: string; signal: AbortSignal | undefined; finish: (error?: Error) => void }[] =
    [];
  const closed: string[] = [];
  const createRuntime: CreateRuntime = (company) =>
    Promise.resolve({
      company,
      engine: {
        companyId: company.id,
        runOnce: (signal?: AbortSignal) =>
          new Promise<JobResult[]>((resolve, reject) =>
            started.push({
              companyId: company.id,
              signal,
              finish: (error) =>
                error ? reject(error) : resolve([{ jobId: `job-of-${company.id}` } as JobResult]),
            }),
          ),
      },
      close: () => {
        closed.push(company.id);
        return Promise.resolve();
      },
    } as unknown as CompanyRuntime);
  return { started, closed, createRuntime };
}

describe('runCompaniesOnce', () => {
  it('runs every company once, up to the cap at a time, and returns the results in the order runs ended', async () => {
    const r = controlledRuntimes();
    const run = runCompaniesOnce(configOf(['a', 'b', 'c'], 2), {} as Store, {
      createRuntime: r.createRuntime,
    });
    await tick();
    expect(r.started.map((s) => s.companyId)).toEqual(['a', 'b']);
    r.started[1]!.finish();
    await tick();
    expect(r.started.map((s) => s.companyId)).toEqual(['a', 'b', 'c']);
    r.started[2]!.finish();
    r.started[0]!.finish();
    expect((await run).map((result) => result.jobId)).toEqual(['job-of-b', 'job-of-c', 'job-of-a']);
    expect(r.closed.sort()).toEqual(['a', 'b', 'c']);
  });

  it('a run that throws: no further company starts, the running ones finish, then the error is thrown', async () => {
    const r = controlledRuntimes();
    const run = runCompaniesOnce(configOf(['a', 'b', 'c'], 2), {} as Store, {
      createRuntime: r.createRuntime,
    });
    const outcome = run.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await tick();
    r.started[0]!.finish(new Error('Pleo refused the key'));
    await tick();
    expect(r.started.map((s) => s.companyId)).toEqual(['a', 'b']);
    let settled = false;
    void outcome.then(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // b still runs
    r.started[1]!.finish();
    expect(await outcome).toBe('Pleo refused the key');
    expect(r.closed.sort()).toEqual(['a', 'b']);
  });

  it('on shutdown, companies waiting for a slot are not started and the running one sees the signal', async () => {
    const r = controlledRuntimes();
    const shutdown = new AbortController();
    const run = runCompaniesOnce(configOf(['a', 'b'], 1), {} as Store, {
      createRuntime: r.createRuntime,
      signal: shutdown.signal,
    });
    await tick();
    shutdown.abort(new Error('received SIGTERM'));
    expect(r.started[0]!.signal?.aborted).toBe(true);
    r.started[0]!.finish();
    expect((await run).map((result) => result.jobId)).toEqual(['job-of-a']);
    expect(r.started.map((s) => s.companyId)).toEqual(['a']);
  });
});

describe('the scaled-out poller', () => {
  it('enqueues a run of the company and builds nothing; a failed enqueue is logged and says error', async () => {
    const enqueued: [string, string][] = [];
    let down = false;
    const queue = {
      enqueue: (companyId: string, reason: string) => {
        if (down) return Promise.reject(new Error('connection refused'));
        enqueued.push([companyId, reason]);
        return Promise.resolve('queued');
      },
    } as unknown as WorkQueue;
    const errors: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (_o: object, msg?: string) => errors.push(msg ?? ''),
    };
    const poller = createEnqueueingPoller(queue, logger);
    const signal = new AbortController().signal;
    expect(await poller.poll('a', 'webhook', signal)).toBe('ok');
    expect(enqueued).toEqual([['a', 'poll']]);
    down = true;
    expect(await poller.poll('a', 'timer', signal)).toBe('error');
    expect(errors).toEqual(['poll failed']);
    expect(poller.runningJobs()).toBe(0);
    await poller.close();
  });
});
