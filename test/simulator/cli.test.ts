import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { simulateCommand } from '../../src/simulator/index.js';
import { basic } from './helpers.js';

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  let ready!: (line: string) => void;
  const firstLine = new Promise<string>((r) => (ready = r));
  return {
    out,
    err,
    firstLine,
    stdout: { write: (s: string) => (out.push(s), ready(s)) },
    stderr: { write: (s: string) => err.push(s) },
    exit: (code: number): never => {
      throw new Exit(code);
    },
  };
}

describe('pleo-export simulate', () => {
  it('prints exactly one JSON line once ready, serves, and closes on the signal', async () => {
    const o = io();
    const ac = new AbortController();
    const done = simulateCommand({ ...o, signal: ac.signal }).parseAsync(
      [
        '--port',
        '0',
        '--seed',
        '9',
        '--companies',
        '2',
        '--jobs',
        '2',
        '--items',
        '7',
        '--max-page-size',
        '5',
      ],
      { from: 'user' },
    );
    const line = await o.firstLine;
    expect(line.endsWith('\n')).toBe(true);
    const ready = JSON.parse(line) as { url: string; companies: { id: string; apiKey: string }[] };
    expect(Object.keys(ready)).toEqual(['url', 'companies']);
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.companies).toHaveLength(2);
    expect(Object.keys(ready.companies[0]!)).toEqual(['id', 'apiKey']);
    const res = await fetch(`${ready.url}/v3/export-jobs?limit=50`, {
      headers: { authorization: basic(ready.companies[1]!.apiKey) },
    });
    const body = (await res.json()) as { data: { numberOfItems: number; id: string }[] };
    expect(body.data.map((j) => j.numberOfItems)).toEqual([7, 7]);
    const items = await fetch(`${ready.url}/v3/export-jobs/${body.data[0]!.id}/items?limit=50`, {
      headers: { authorization: basic(ready.companies[1]!.apiKey) },
    });
    expect(((await items.json()) as { data: unknown[] }).data).toHaveLength(5);
    ac.abort();
    await done;
    expect(o.out).toHaveLength(1);
    expect(o.err).toEqual([]);
    await expect(fetch(`${ready.url}/v3/export-jobs`)).rejects.toThrow();
  });

  it.each([
    [['--port', 'abc']],
    [['--port', '70000']],
    [['--fault-rate', '1.5']],
    [['--items', '-1']],
    [['--max-page-size', '0']],
    [['--bogus']],
    [['extra']],
  ])('%j → one line on stderr, exit code 2', async (args) => {
    const o = io();
    const err = await simulateCommand(o)
      .parseAsync(args, { from: 'user' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Exit);
    expect((err as Exit).code).toBe(2);
    expect(o.out).toEqual([]);
    expect(o.err.join('').trim().split('\n')).toHaveLength(1);
    expect(o.err.join('')).not.toMatch(/\bat .+:\d+:\d+/);
  });

  it('--help prints usage and exits 0', async () => {
    const o = io();
    const err = await simulateCommand(o)
      .parseAsync(['--help'], { from: 'user' })
      .catch((e: unknown) => e);
    expect((err as Exit).code).toBe(0);
    expect(o.out.join('')).toContain('--max-page-size');
  });

  const main = fileURLToPath(new URL('../../dist/simulator/main.js', import.meta.url));
  it('runs from dist/ as a child process and exits 0 on SIGTERM (npm test builds dist first)', async () => {
    expect(existsSync(main), 'dist/simulator/main.js is missing: run npm run build').toBe(true);
    const child = spawn(process.execPath, [main, '--port', '0', '--items', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const { url, companies } = JSON.parse(line) as { url: string; companies: { apiKey: string }[] };
    const res = await fetch(`${url}/v3/export-jobs`, {
      headers: { authorization: basic(companies[0]!.apiKey) },
    });
    expect(res.status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
