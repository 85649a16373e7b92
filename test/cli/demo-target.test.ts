import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cli, expectCleanError } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'pleo-demo-target-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Accounting entry ids in the reference receiver's file, one JSON line per stored entry. */
function storedIds(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { entry: { accountingEntryId: string } }).entry.accountingEntryId);
}

describe('pleo-export demo --target', () => {
  it('books the demo into another registered target (http: the reference receiver), twice without doubles', async () => {
    const dir = join(root, 'http');
    const first = await cli(['demo', '--dir', dir, '--target', 'http', '--no-progress']);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/into http: http:\/\/127\.0\.0\.1:\d+ \(the reference receiver/);
    expect(first.out).toMatch(/completed_with_errors/);
    expect(first.out).toMatch(/Receiver: +\d+ entries, 0 booked twice/);
    const file = join(dir, 'erp-entries.jsonl');
    const ids = storedIds(file);
    expect(ids.length).toBeGreaterThan(450);
    expect(new Set(ids).size).toBe(ids.length);
    const second = await cli(['demo', '--dir', dir, '--target', 'http', '--json', '--no-progress']);
    expect(second.code, second.err).toBe(0);
    const report = JSON.parse(second.out) as { run: number; target: string; checked: boolean };
    expect(report).toMatchObject({ run: 2, target: 'http', checked: true });
    expect(storedIds(file)).toEqual(ids);
  });

  it('offers only registered targets with a demo', async () => {
    expectCleanError(
      await cli(['demo', '--dir', join(root, 'x'), '--target', 'sap']),
      2,
      /Allowed choices are hledger, http/,
    );
  });
});
