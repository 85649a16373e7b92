import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AccountingEntry } from '../../src/accounting/index.js';
import {
  createHledgerAdapter,
  type AccountingAdapter,
  type HledgerAdapter,
  type StoredAttachment,
} from '../../src/adapters/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import { describe, expect, it } from 'vitest';

import { contractEntry, runAdapterContract } from './contract.js';
import { checkStrict } from './hledger-cli.js';

/**
 * The hledger subject. Faults are injected at the file level through the adapter's crash-test
 * hooks: a write that fails before its fsync completes is cut off (transient); a journal damaged
 * in the middle stops the adapter (job failure); `duringNextWrite` runs between the two halves of
 * the write.
 *
 * A lost answer: the adapter's only "answer" is the return of an in-process call, so an answer is
 * lost when the writing process dies after the fsync, before the engine stores the outcome. That
 * is what happens here, for real: the write is made by a child process over the built adapter
 * (`fixtures/hledger-crash-writer.mjs`) that SIGKILLs itself right after the fsync; the caller
 * gets the error its supervisor would see, and the adapter under test is a new one over the same
 * journal, as after the restart.
 */
const CHILD = fileURLToPath(new URL('./fixtures/hledger-crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/adapters/hledger/index.js', import.meta.url));

async function crashAfterSync(
  journal: string,
  entry: AccountingEntry,
  attachments: readonly StoredAttachment[],
): Promise<void> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  const entriesFile = `${journal}.lost-answer.json`;
  await writeFile(entriesFile, JSON.stringify([{ entry, attachments }]));
  const child = spawnSync(process.execPath, [CHILD], {
    env: {
      ...process.env,
      JOURNAL: journal,
      ENTRIES_FILE: entriesFile,
      CRASH_POINT: 'after-sync',
      CRASH_BATCH: '0',
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.signal !== 'SIGKILL')
    throw new Error(`the writer did not crash: ${child.status} ${child.stderr}`);
  if (child.stdout.includes('booked')) throw new Error('the writer answered before it crashed');
}

runAdapterContract('hledger', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-hledger-contract-'));
  const journalPath = join(dir, 'books.journal');
  const armed = { failBeforeSync: false, during: undefined as (() => void) | undefined };
  let damaged = false;
  let loseNext = false;
  const open = (): HledgerAdapter =>
    createHledgerAdapter({
      journalPath,
      faultHooks: {
        midWrite: () => {
          const run = armed.during;
          armed.during = undefined;
          run?.();
        },
        afterWrite: () => {
          if (!armed.failBeforeSync) return;
          armed.failBeforeSync = false;
          throw new Error('EIO: i/o error, fdatasync (injected)');
        },
      },
    });
  let inner = open();
  // The adapter under test, with the restart of a lost answer spliced in.
  const adapter: AccountingAdapter = {
    name: inner.name,
    supportsScaleOut: inner.supportsScaleOut,
    validate: (c) => inner.validate(c),
    findExisting: (key, c) => inner.findExisting(key, c),
    stageAttachments: (files, c) => inner.stageAttachments!(files, c),
    recordBatch: (entries, c) => inner.recordBatch!(entries, c),
    async record(entry, c) {
      if (!loseNext) return inner.record(entry, c);
      loseNext = false;
      // The write happens in another process (the journal lock allows one writer: hand it over).
      await inner.close();
      await crashAfterSync(journalPath, entry, c.attachments);
      inner = open();
      throw new AccountingSystemError('the writer died after the fsync, before answering (SIGKILL)', {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
      });
    },
    close: () => inner.close(),
  };
  return {
    adapter,
    async reopen() {
      await inner.close();
      inner = open();
      return adapter;
    },
    // Counted from the file itself, independently of the adapter's index.
    async countBookings(key) {
      const text = await readFile(journalPath, 'utf8');
      return text.split('\n').filter((l) => /^\d{4}-/.test(l) && l.includes(`pleo-entry:${key}`)).length;
    },
    // The `; receipt:` lines of the entry's block, read from the file.
    async linkedReceipts(key) {
      const text = await readFile(journalPath, 'utf8');
      const block = text.split(/\n(?=\d{4}-)/).find((b) => b.includes(`pleo-entry:${key}`)) ?? '';
      return [...block.matchAll(/; receipt:(\S+)/g)].map((m) => m[1] ?? '');
    },
    faults: {
      transient: () => {
        armed.failBeforeSync = true;
      },
      // A hand edit broke a block in the middle of the journal: the adapter must stop, not guess.
      async jobFailure() {
        const text = await readFile(journalPath, 'utf8');
        const first = text.indexOf('# pleo-begin:');
        await writeFile(journalPath, `${text.slice(0, first)}# pleo-begin:hand-edit\n${text.slice(first)}`);
        damaged = true;
      },
      loseAnswer: () => {
        loseNext = true;
      },
      duringNextWrite: (run) => {
        armed.during = run;
      },
    },
    // An account name hledger cannot parse (two spaces end an account name).
    itemRefusal: (entry) => ({
      entry: {
        ...entry,
        postings: entry.postings.map((p, i) => (i === 0 ? { ...p, account: 'Office  supplies' } : p)),
      },
      failureReasonType: 'account_unknown',
    }),
    // A journal whose folder is a regular file cannot be opened.
    async breakValidation() {
      const blocker = join(dir, 'not-a-folder');
      await writeFile(blocker, 'x');
      return createHledgerAdapter({ journalPath: join(blocker, 'books.journal') });
    },
    cleanup: () => {
      // Every journal the suite leaves must pass `hledger check --strict` (no half-written block).
      if (!damaged && existsSync(journalPath)) checkStrict(journalPath);
      return Promise.resolve();
    },
  };
});

describe('hledger recordBatch', () => {
  it('appends a batch in the order given, in one write and one fsync, each entry once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pleo-hledger-batch-'));
    const journalPath = join(dir, 'books.journal');
    let writes = 0;
    const adapter = createHledgerAdapter({ journalPath, faultHooks: { afterWrite: () => void writes++ } });
    try {
      // Given in the reverse of their ids' order, so neither the ids nor the calls' creation sort them.
      const entries = Array.from({ length: 20 }, () => contractEntry()).reverse();
      const results = await adapter.recordBatch!(
        entries.map((entry) => ({ entry, idempotencyKey: entry.accountingEntryId, attachments: [] })),
        { companyId: entries[0]!.companyId },
      );
      expect(results.map((r) => r.status === 'fulfilled' && r.value.status)).toEqual(
        entries.map(() => 'booked'),
      );
      expect(writes).toBe(1);
      const text = await readFile(journalPath, 'utf8');
      const at = entries.map((e) => text.indexOf(`pleo-entry:${e.accountingEntryId}`));
      expect(at.every((position) => position >= 0)).toBe(true);
      expect(at).toEqual([...at].sort((a, b) => a - b));
      for (const e of entries) expect(text.split(`pleo-entry:${e.accountingEntryId}`)).toHaveLength(2);
      checkStrict(journalPath);
    } finally {
      await adapter.close();
    }
  });
});
