/**
 * kill -9 around the RPC: a child process books entries (journal moves with receipts, a supplier
 * invoice with its payment, posted) through the built adapter (dist/) and is SIGKILLed after a
 * given write step, or when a write's answer has arrived but was not yet read (a lost answer).
 * The "engine" then resumes as the exactly-once protocol says (findExisting first, record what
 * is missing), and Tryton must hold every entry exactly once, complete (receipts linked, posted),
 * each found by lookup.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../../src/accounting/index.js';
import type { StoredAttachment } from '../../../src/adapters/index.js';
import { contractEntry } from '../contract.js';
import { inspectKey, startTestTryton, type TestTryton } from './fixture.js';

const CHILD = fileURLToPath(new URL('../fixtures/tryton-crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../../dist/adapters/tryton/index.js', import.meta.url));

let t: TestTryton;
beforeAll(async () => {
  t = await startTestTryton();
}, 600_000);
afterAll(async () => t?.cleanup());

interface Work {
  entry: AccountingEntry;
  attachments: StoredAttachment[];
}

async function workload(): Promise<Work[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-tryton-crash-'));
  const withReceipt = contractEntry({ posting: 'final' });
  const path = join(dir, 'r.pdf');
  await writeFile(path, '%PDF-1.4\n% crash test receipt\n');
  const invoice = contractEntry({
    kind: 'supplier_invoice',
    method: 'accounts_payable',
    posting: 'final',
    counterparty: { source: 'vendor', code: 'V-CRASH', name: 'Crash Supplies' },
    postings: [
      {
        account: '6010',
        amount: { currency: 'EUR', value: 8000 },
        dimensions: {},
        role: 'expense',
        lineId: 'l1',
      },
      {
        account: '2640',
        amount: { currency: 'EUR', value: 2000 },
        dimensions: {},
        role: 'tax',
        lineId: 'l1',
        tax: { rate: 0.25, type: 'inclusive' },
      },
      {
        account: '2440',
        amount: { currency: 'EUR', value: -10000 },
        dimensions: {},
        role: 'payable',
        party: 'V-CRASH',
      },
      {
        account: '2440',
        amount: { currency: 'EUR', value: 10000 },
        dimensions: {},
        role: 'payable',
        party: 'V-CRASH',
      },
      { account: '1920', amount: { currency: 'EUR', value: -10000 }, dimensions: {}, role: 'contra' },
    ],
  });
  return [
    {
      entry: withReceipt,
      attachments: [
        {
          key: `${withReceipt.accountingEntryId}-0`,
          path,
          name: 'r.pdf',
          contentType: 'application/pdf',
          size: 30,
        },
      ],
    },
    { entry: invoice, attachments: [] },
    { entry: contractEntry({ posting: 'draft' }), attachments: [] },
  ];
}

function runChild(
  work: Work[],
  file: string,
  env: Record<string, string>,
): Promise<{ signal: NodeJS.Signals | null; booked: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, TRYTON_OPTIONS: JSON.stringify(t.options()), ENTRIES_FILE: file, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${String(code)}): ${err}`));
      else
        resolvePromise({
          signal,
          booked: out
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' ')[1] ?? ''),
        });
    });
    void work;
  });
}

async function resume(work: Work[]): Promise<void> {
  const adapter = t.adapter();
  for (const { entry, attachments } of work) {
    const ctx = { companyId: entry.companyId };
    if (await adapter.findExisting(entry.accountingEntryId, ctx)) continue;
    const outcome = await adapter.record(entry, {
      ...ctx,
      idempotencyKey: entry.accountingEntryId,
      attachments,
    });
    expect(outcome.status).toBe('booked');
  }
  await adapter.close();
}

async function assertExactlyOnce(work: Work[]): Promise<void> {
  const admin = t.admin();
  const adapter = t.adapter();
  for (const { entry, attachments } of work) {
    const key = entry.accountingEntryId;
    const found = await inspectKey(admin, key);
    const primary = [
      ...found.invoices,
      ...found.moves.filter((m) => !String(m['description']).startsWith('pleo-settlement:')),
    ];
    expect(primary, key).toHaveLength(1);
    expect(String(primary[0]?.['description'])).not.toMatch(/^pleo-pending:/);
    if (entry.kind === 'supplier_invoice') {
      expect(found.moves.filter((m) => String(m['description']).startsWith('pleo-settlement:'))).toHaveLength(
        1,
      );
    }
    for (const doc of [...found.moves, ...found.invoices])
      expect(doc['state']).toBe(entry.posting === 'final' ? 'posted' : 'draft');
    expect(found.attachments).toHaveLength(attachments.length);
    expect(found.lines.reduce((s, l) => s + l.amount, 0)).toBe(0);
    expect(found.lines.map((l) => l.amount).sort((a, b) => a - b)).toEqual(
      entry.postings.map((p) => p.amount.value).sort((a, b) => a - b),
    );
    expect(await adapter.findExisting(key, { companyId: entry.companyId })).not.toBeNull();
  }
  await adapter.close();
  await admin.close();
}

describe('Tryton: kill -9 around the RPC', () => {
  it('the built adapter exists', () => {
    expect(existsSync(DIST), `${DIST} is missing: run npm run build before the crash tests`).toBe(true);
  });

  // Crash points spread over the run: early (first create), between create and attach/mark/post,
  // in the supplier invoice's middle (settlement), and late.
  for (const [mode, at] of [
    ['step', 1],
    ['step', 2],
    ['step', 3],
    ['step', 5],
    ['step', 7],
    ['answer', 1],
    ['answer', 4],
    ['answer', 6],
    ['answer', 8],
  ] as const) {
    it(`killed at ${mode} ${at}, resumed: every entry exactly once, complete`, async () => {
      const work = await workload();
      const file = join(await mkdtemp(join(tmpdir(), 'pleo-tryton-crash-')), 'work.json');
      await writeFile(file, JSON.stringify(work));
      const run = await runChild(work, file, { CRASH_AT: String(at), CRASH_MODE: mode });
      expect(run.signal).toBe('SIGKILL');
      expect(run.booked.length).toBeLessThan(work.length);
      await resume(work);
      await assertExactlyOnce(work);
    }, 180_000);
  }

  it('without a crash the child books everything once', async () => {
    const work = await workload();
    const file = join(await mkdtemp(join(tmpdir(), 'pleo-tryton-crash-')), 'work.json');
    await writeFile(file, JSON.stringify(work));
    const run = await runChild(work, file, { CRASH_AT: '0' });
    expect(run.signal).toBeNull();
    expect(run.booked).toHaveLength(work.length);
    await resume(work);
    await assertExactlyOnce(work);
  }, 180_000);
});
