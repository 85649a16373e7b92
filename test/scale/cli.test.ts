/**
 * The scaled-out mode's commands: `serve --postgres --workers 0` detects and enqueues while a
 * separate `worker` process runs the company; `jobs --postgres` shows the shared store and the
 * queue; the commands refuse what cannot work (an adapter that cannot scale out, no database).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli, expectCleanError } from '../cli/helpers.js';
import {
  allJobsFinal,
  assertExactlyOnce,
  CLI,
  createDatabase,
  startWorld,
  waitFor,
  type World,
} from './harness.js';

let database: Awaited<ReturnType<typeof createDatabase>> | undefined;
let world: World | undefined;
const children: ReturnType<typeof spawn>[] = [];

beforeAll(async () => {
  database = await createDatabase();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await world?.close();
  await database?.drop();
});

/** The `url` of the first log line (pino JSON) whose message starts with `msg`. */
function logUrl(file: string, msg: string): string {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const record = JSON.parse(line) as { msg?: string; url?: string };
    if (record.msg?.startsWith(msg) === true && record.url !== undefined) return record.url;
  }
  throw new Error(`no "${msg}" line with a url in ${file}`);
}

const COMPANY = '2b9b6d1c-9a1e-4c55-8b0b-0d8f1a8e7c11';

describe('scaled-out commands', () => {
  it('serve --postgres --workers 0 enqueues, a worker process runs; jobs shows store and queue', async () => {
    const w = await startWorld({ pgUrl: database!.url, companies: 2, faultRate: 0 });
    world = w;
    w.createJobs(2, 25);
    const log = join(w.dir, 'serve.log');
    const fd = openSync(log, 'a');
    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '-c', w.configPath, '--workers', '0', '--port', '0'],
      {
        stdio: ['ignore', fd, fd],
      },
    );
    closeSync(fd);
    children.push(serve);
    const serveExit = new Promise<number | null>((resolve) => serve.on('exit', resolve));
    const worker = w.spawnWorker(0, 2, ['--metrics-port', '0']);
    children.push(worker.child);
    // serve polls every company at start: each poll enqueues a run, the worker runs it.
    await waitFor('both companies done', () => allJobsFinal(w), 60_000);
    expect(assertExactlyOnce(w).jobs).toBe(4);

    const jobs = await cli(['jobs', '-c', w.configPath]);
    expect(jobs.code, jobs.err).toBe(0);
    expect(jobs.out).toMatch(/owner.*runs/);
    expect(jobs.out).toMatch(/Queue: \d+ waiting \(\d+ ready\), \d+ running, 0 failed/);
    const queue = await cli(['jobs', '-c', w.configPath, '--queue', '--json']);
    expect(queue.code, queue.err).toBe(0);
    expect(JSON.parse(queue.out)).toMatchObject({ depth: { failed: 0 }, waiting: expect.any(Array) });
    const listed = await cli(['jobs', '-c', w.configPath, '--json']);
    const rows = JSON.parse(listed.out) as { phase: string; leaseOwner: string; runs: number }[];
    expect(rows.map((r) => r.phase)).toEqual(['done', 'done', 'done', 'done']);
    expect(rows.every((r) => r.leaseOwner.endsWith(`:${worker.child.pid}`))).toBe(true);

    // Metrics: the worker's own endpoint, and serve's /metrics with the fleet-wide depth.
    const workerMetrics = await (await fetch(logUrl(w.logOf(0), 'metrics listening'))).text();
    expect(workerMetrics).toMatch(/^pleo_export_queue_runs_total\{result="completed"\} [1-9]/m);
    expect(workerMetrics).toMatch(/^pleo_export_lease_takeovers_total 0$/m);
    expect(workerMetrics).toMatch(/^pleo_export_queue_worker_slots 2$/m);
    const serveUrl = logUrl(log, 'pleo-export serve listening');
    const served = await (await fetch(`${serveUrl}/metrics`)).text();
    expect(served).toMatch(/^pleo_export_queue_messages\{state="failed"\} 0$/m);

    serve.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    expect(await serveExit, readFileSync(log, 'utf8').slice(-2000)).toBe(0);
  }, 120_000);

  it('refuses an adapter that cannot scale out, a missing database and --workers without --postgres', async () => {
    const base = ['--company', COMPANY, '--api-key', 'k', '--log-level', 'silent'];
    expectCleanError(
      await cli([
        'worker',
        ...base,
        '--postgres',
        database!.url,
        '--adapter',
        'hledger',
        '--journal',
        '/tmp/j.journal',
      ]),
      2,
      /cannot share these companies' accounting adapters: .*\(hledger\).*adapter type "http"/,
    );
    expectCleanError(
      await cli(['worker', ...base, '--adapter', 'http', '--http-url', 'http://127.0.0.1:1']),
      2,
      /needs a PostgreSQL database: pass --postgres URL/,
    );
    expectCleanError(
      await cli([
        'serve',
        ...base,
        '--adapter',
        'http',
        '--http-url',
        'http://127.0.0.1:1',
        '--workers',
        '2',
      ]),
      2,
      /--workers needs --postgres/,
    );
    expectCleanError(await cli(['jobs', ...base, '--queue']), 2, /--queue needs the scaled-out mode/);
  });

  it('config --print masks the database password', async () => {
    const printed = await cli([
      'config',
      '--print',
      '--json',
      '--company',
      COMPANY,
      '--api-key',
      'k',
      '--postgres',
      'postgres://export:s3cret@db.internal:5432/pleo',
    ]);
    expect(printed.code, printed.err).toBe(0);
    expect(printed.out).not.toMatch(/s3cret/);
    expect(JSON.parse(printed.out)).toMatchObject({
      postgres: { url: 'postgres://export:[REDACTED]@db.internal:5432/pleo', heartbeatSeconds: 30 },
    });
  });
});
