/**
 * The `trigger` command (in-process, against a running server) and the `serve` command (the
 * built CLI in a child process: real signals, real logs, the default runtime with an hledger
 * journal and the accounting configuration of the simulator's reference data).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { cli, expectCleanError } from '../cli/helpers.js';
import { startWorld, TRIGGER_TOKEN, WEBHOOK_SECRET, type World } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SERVE = fileURLToPath(new URL('../../dist/cli/commands/serve.js', import.meta.url));

let world: World | undefined;
let sim: RunningSimulator | undefined;
let child: ChildProcessWithoutNullStreams | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await world?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  world = sim = dir = undefined;
});

describe('pleo-export trigger', () => {
  it('asks the daemon to poll; exit codes for a refused token, an unknown company and no daemon', async () => {
    world = await startWorld({ server: { triggerToken: TRIGGER_TOKEN } });
    const w = world;
    const server = await w.start();
    await server.whenIdle();
    const companyId = w.companies[0]!.id;
    const job = w.sim.admin.createJob(companyId, { itemCount: 3, profile: { failureRatio: 0 } });

    const ok = await cli(['trigger', '--url', server.url, '--token', TRIGGER_TOKEN, '--company', companyId]);
    expect(ok).toEqual({ code: 0, out: `Poll scheduled for company ${companyId}.`, err: '' });
    await server.whenIdle();
    expect(w.sim.admin.job(job.id)!.job.status, JSON.stringify(w.logs)).toBe('completed');

    // URL and token from the configuration file.
    const file = join(w.dir, 'daemon.json');
    writeFileSync(
      file,
      JSON.stringify({ server: { host: '127.0.0.1', port: server.port, triggerTokenEnv: 'T' } }),
    );
    process.env['T'] = TRIGGER_TOKEN;
    try {
      expect(await cli(['trigger', '-c', file])).toMatchObject({
        code: 0,
        out: 'Poll scheduled for company ' + companyId + '.',
      });
    } finally {
      delete process.env['T'];
    }

    const refused = await cli(['trigger', '--url', server.url, '--token', 'wrong']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/answered 401: unauthorized/);
    const unknown = await cli([
      'trigger',
      '--url',
      `${server.url}/`,
      '--token',
      TRIGGER_TOKEN,
      '--company',
      'nope',
    ]);
    expect(unknown.code).toBe(5);
    expect(unknown.err).toMatch(/answered 404: unknown_company/);
    await server.close();
    const gone = await cli(['trigger', '--url', server.url, '--token', TRIGGER_TOKEN]);
    expect(gone.code).toBe(3);
    expect(gone.err).toMatch(
      /No daemon answered at http:\/\/127\.0\.0\.1:\d+ \(is `pleo-export serve` running\?\)/,
    );
  });
});

/** Waits (polling every 20 ms, at most `ms`) until `check` returns a value. */
async function until<T>(
  check: () => T | undefined | Promise<T | undefined>,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

describe('pleo-export serve: an exposed /trigger needs a token', () => {
  it.each([
    [['--host', '0.0.0.0'], {}, /listens on 0\.0\.0\.0/],
    [[], { publicUrl: 'https://exporter.example.com' }, /publicUrl is set/],
  ])('%j %j: a clear configuration error at startup', async (args, server, why) => {
    dir = mkdtempSync(join(tmpdir(), 'pleo-serve-'));
    const file = join(dir, 'pleo-export.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        companies: [{ id: '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b', apiKey: 'k' }],
        server: { port: 0, ...server },
      }),
    );
    const result = await cli(['serve', '-c', file, ...args]);
    expectCleanError(result, 2, /server\.triggerToken is required/);
    expect(result.err).toMatch(why);
    expect(existsSync(join(dir, 'data', 'state.db'))).toBe(false);
  });
});

describe('pleo-export serve (the built CLI)', () => {
  it('logs its URL, serves, processes a triggered job into the journal, and exits 0 on SIGTERM without leaking secrets', async () => {
    expect(existsSync(SERVE), 'npm test builds dist first (npm run build)').toBe(true);
    const seed = 42;
    sim = await startSimulator({ seed, companies: 1, jobsPerCompany: 0 });
    const company = sim.companies[0]!;
    dir = mkdtempSync(join(tmpdir(), 'pleo-serve-'));
    const journal = join(dir, 'books.journal');
    const file = join(dir, 'pleo-export.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        pleo: { url: sim.url, requestsPerSecond: 1000 },
        companies: [
          {
            id: company.id,
            apiKeyEnv: 'SERVE_TEST_API_KEY',
            adapter: { type: 'hledger', journal },
            accounting: simulatorAccountingConfig(seed),
          },
        ],
        server: {
          port: 0,
          triggerToken: TRIGGER_TOKEN,
          webhookSecret: WEBHOOK_SECRET,
          shutdownGraceMs: 5000,
        },
      }),
    );
    const proc = spawn(process.execPath, [MAIN, 'serve', '-c', file], {
      env: { ...process.env, SERVE_TEST_API_KEY: company.apiKey },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

    const lines = () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; url?: string; level: number });
    const ready = await until(
      () => lines().find((l) => l.msg?.startsWith('pleo-export serve listening on')),
      20_000,
      'the listening line',
    );
    const url = ready.url!;
    expect(ready.msg).toBe(`pleo-export serve listening on ${url}`);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const job = sim.admin.createJob(company.id, { itemCount: 15, profile: { failureRatio: 0 } });
    expect((await cli(['trigger', '--url', url, '--token', TRIGGER_TOKEN])).code).toBe(0);
    const s = sim;
    await until(
      () => (s.admin.job(job.id)!.job.status === 'completed' ? true : undefined),
      30_000,
      'the job',
    );
    expect(readFileSync(journal, 'utf8').match(/pleo-entry:/g)).toHaveLength(15);
    // The poll ends a moment after Pleo saw the job completed (it looks for a next job first).
    const metrics = await until(
      async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return /^pleo_export_polls_total\{trigger="manual",outcome="ok"\} 1$/m.test(text) ? text : undefined;
      },
      10_000,
      'the poll to end',
    );
    expect(metrics).toMatch(/^pleo_export_jobs_total\{outcome="completed"\} 1$/m);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines().some((l) => l.msg === 'shutting down: finishing in-flight items')).toBe(true);
    expect(lines().at(-1)?.msg).toBe('stopped');
    for (const secret of [company.apiKey, TRIGGER_TOKEN, WEBHOOK_SECRET.slice(6)])
      expect(stderr).not.toContain(secret);
  });
});
