/**
 * Crash tests around the journal write: a child process writes through the built adapter
 * (dist/) and is SIGKILLed between write and fsync, in the middle of a write, and between fsync
 * and the engine's record. After each crash the "engine" resumes the way the exactly-once
 * protocol says (findExisting first, record what is missing) and the journal must hold every
 * entry exactly once, with no torn transaction, and pass `hledger check --strict`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import { createHledgerAdapter, type StoredAttachment } from '../../src/adapters/index.js';
import { contractEntry } from './contract.js';
import { checkStrict, findByTag } from './hledger-cli.js';

const CHILD = fileURLToPath(new URL('./fixtures/hledger-crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/adapters/hledger/index.js', import.meta.url));

interface ChildRun {
  signal: NodeJS.Signals | null;
  booked: string[];
}

async function runChild(
  journal: string,
  entries: (AccountingEntry | WithReceipts)[],
  env: Record<string, string>,
): Promise<ChildRun> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before the crash tests`);
  const entriesFile = `${journal}.entries.json`;
  await writeFile(entriesFile, JSON.stringify(entries));
  const result = spawnSync(process.execPath, [CHILD], {
    env: { ...process.env, JOURNAL: journal, ENTRIES_FILE: entriesFile, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.signal !== 'SIGKILL' && result.status !== 0)
    throw new Error(`child failed (${result.status}): ${result.stderr}`);
  return {
    signal: result.signal,
    booked: result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[1]!),
  };
}

interface WithReceipts {
  entry: AccountingEntry;
  attachments: StoredAttachment[];
}

/** What the engine does on resume: look every entry up first, record only what is missing. */
async function resume(
  journal: string,
  entries: AccountingEntry[],
  receipts: ReadonlyMap<string, StoredAttachment[]> = new Map(),
): Promise<{ found: string[]; written: string[] }> {
  const adapter = createHledgerAdapter({ journalPath: journal });
  const found: string[] = [];
  const written: string[] = [];
  for (const e of entries) {
    const existing = await adapter.findExisting(e.accountingEntryId, { companyId: e.companyId });
    if (existing) {
      found.push(e.accountingEntryId);
      continue;
    }
    const outcome = await adapter.record(e, {
      companyId: e.companyId,
      idempotencyKey: e.accountingEntryId,
      attachments: receipts.get(e.accountingEntryId) ?? [],
    });
    expect(outcome.status).toBe('booked');
    written.push(e.accountingEntryId);
  }
  await adapter.close();
  return { found, written };
}

async function assertExactlyOnce(journal: string, entries: AccountingEntry[]): Promise<void> {
  checkStrict(journal);
  const text = await readFile(journal, 'utf8');
  for (const e of entries) {
    const headers = text
      .split('\n')
      .filter((l) => /^\d{4}-/.test(l) && l.includes(`pleo-entry:${e.accountingEntryId}`));
    expect(headers).toHaveLength(1);
    expect(findByTag(journal, e.accountingEntryId)).toHaveLength(1);
  }
  // No torn transaction: every begin marker has its end marker.
  expect(text.match(/^# pleo-begin:/gm)?.length).toBe(text.match(/^# pleo-end:/gm)?.length);
}

async function setup(n: number): Promise<{ journal: string; entries: AccountingEntry[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-crash-'));
  // Different accounts per entry so that account declarations also go through the crash.
  const entries = Array.from({ length: n }, (_, i) =>
    contractEntry({
      postings: [
        {
          account: `60${String(i).padStart(2, '0')}`,
          amount: { currency: 'EUR', value: 1000 + i },
          dimensions: {},
          role: 'expense',
        },
        { account: '1920', amount: { currency: 'EUR', value: -(1000 + i) }, dimensions: {}, role: 'contra' },
      ],
    }),
  );
  return { journal: join(dir, 'books.journal'), entries };
}

describe('hledger adapter crash safety (child process SIGKILLed at injected points)', () => {
  for (const point of ['mid-write', 'after-write', 'after-sync'] as const) {
    it(`crash ${point} of the 3rd transaction: no torn transaction, no duplicate after resume`, async () => {
      const { journal, entries } = await setup(5);
      const run = await runChild(journal, entries, { CRASH_POINT: point, CRASH_BATCH: '2' });
      expect(run.signal).toBe('SIGKILL');
      expect(run.booked).toEqual(entries.slice(0, 2).map((e) => e.accountingEntryId));
      const { found, written } = await resume(journal, entries);
      // Acknowledged entries survive; the crashed one is there iff its write completed.
      expect(found.slice(0, 2)).toEqual(run.booked);
      const crashed = entries[2]!.accountingEntryId;
      if (point === 'mid-write') {
        expect(written).toContain(crashed);
        expect((await readdir(join(journal, '..'))).some((f) => f.startsWith('books.journal.torn-'))).toBe(
          true,
        );
      } else {
        expect(found).toContain(crashed);
      }
      await assertExactlyOnce(journal, entries);
    });
  }

  it('crash in the middle of a group commit (30 entries in one write): complete blocks are found, the torn rest is rewritten once', async () => {
    const { journal, entries } = await setup(30);
    const run = await runChild(journal, entries, {
      CRASH_POINT: 'mid-write',
      CRASH_BATCH: '0',
      PARALLEL: '1',
    });
    expect(run.signal).toBe('SIGKILL');
    expect(run.booked).toEqual([]);
    const { found, written } = await resume(journal, entries);
    // Half the batch's bytes reached the file: the blocks complete in it count (never acknowledged,
    // so the engine learns about them through findExisting); the rest is cut off and rewritten.
    expect(found.length).toBeGreaterThan(0);
    expect(written.length).toBeGreaterThan(0);
    expect([...found, ...written].sort()).toEqual(entries.map((e) => e.accountingEntryId).sort());
    expect(found).toEqual(entries.slice(0, found.length).map((e) => e.accountingEntryId));
    await assertExactlyOnce(journal, entries);
  });

  it('the lock of a killed writer is stale and taken over; a clean run books everything once', async () => {
    const { journal, entries } = await setup(3);
    await runChild(journal, entries, { CRASH_POINT: 'after-sync', CRASH_BATCH: '0' });
    expect(existsSync(`${journal}.lock`)).toBe(true);
    const run = await runChild(journal, entries, { CRASH_POINT: 'none' });
    expect(run.signal).toBeNull();
    expect(run.booked).toHaveLength(3);
    await assertExactlyOnce(journal, entries);
  });

  // Issue 20 moved the receipts' sync from each copy to the journal append that names them (one
  // background sync per file and a coalesced one per folder, awaited before the append).
  for (const point of ['receipts-synced', 'after-write', 'after-sync'] as const) {
    it(`entries with receipts, crash ${point} of the 3rd: every receipt named is in place, each entry once`, async () => {
      const { journal, entries } = await setup(5);
      const downloads = join(dirname(journal), 'downloads');
      await mkdir(downloads);
      const receipts = new Map<string, StoredAttachment[]>();
      for (const [i, e] of entries.entries()) {
        const bytes = Buffer.from(`%PDF receipt of entry ${i} `.repeat(50 + i));
        const path = join(downloads, `${e.accountingEntryId}-0.pdf`);
        await writeFile(path, bytes, { mode: 0o640 });
        receipts.set(e.accountingEntryId, [
          {
            key: `${e.accountingEntryId}-0`,
            path,
            name: 'scan.pdf',
            contentType: 'application/pdf',
            size: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        ]);
      }
      const items = entries.map((entry) => ({ entry, attachments: receipts.get(entry.accountingEntryId)! }));
      const run = await runChild(journal, items, { CRASH_POINT: point, CRASH_BATCH: '2' });
      expect(run.signal).toBe('SIGKILL');
      expect(run.booked).toEqual(entries.slice(0, 2).map((e) => e.accountingEntryId));
      const { found, written } = await resume(journal, entries, receipts);
      const crashed = entries[2]!.accountingEntryId;
      if (point === 'receipts-synced') expect(written).toContain(crashed);
      else expect(found).toContain(crashed);
      await assertExactlyOnce(journal, entries);
      const text = await readFile(journal, 'utf8');
      for (const e of entries) {
        const link = `receipts/${e.companyId}/${e.accountingEntryId}-0.pdf`;
        expect(text.split(`; receipt:${link}`)).toHaveLength(2);
        const [original] = receipts.get(e.accountingEntryId)!;
        const stored = await readFile(join(dirname(journal), link));
        expect(createHash('sha256').update(stored).digest('hex')).toBe(original!.sha256);
      }
    });
  }
});
