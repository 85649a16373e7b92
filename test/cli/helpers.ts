import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { expect } from 'vitest';

import type { Io } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/program.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs the CLI in-process with captured output (the environment is the test's process.env).
 * `sleep` replaces the engine's waits between retries (`noSleep`: no real backoff).
 */
export async function cli(args: string[], sleep?: Io['sleep']): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    ...(sleep ? { sleep } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Bad input must give one clear line, never a stack trace. */
export function expectCleanError(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code, result.err).toBe(code);
  expect(result.err).toMatch(pattern);
  expect(result.err).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

export function hledgerCheck(journal: string): void {
  const check = spawnSync('hledger', ['-f', journal, 'check', '--strict'], { encoding: 'utf8' });
  expect(check.error, 'hledger must be installed (apt-get install hledger)').toBeUndefined();
  expect(check.status, check.stderr).toBe(0);
}

export function entryTags(journal: string): string[] {
  return [...readFileSync(journal, 'utf8').matchAll(/pleo-entry:([0-9a-f-]{36})/g)].map((m) => m[1]!);
}
