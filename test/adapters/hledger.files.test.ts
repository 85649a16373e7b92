/**
 * The hledger adapter's files (issue 17): a journal it creates is 0640 whatever the umask; receipts
 * next to the journal live in one folder per company, are 0640, are recognised by content hash
 * (not size) and are never written or trusted through a symbolic link.
 */
import { lstatSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import { createHledgerAdapter } from '../../src/adapters/index.js';
import { contractEntry } from './contract.js';

const COMPANY_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const COMPANY_B = 'bbbbbbbb-0000-4000-8000-000000000002';
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pleo-hledger-files-'));
}

async function downloaded(dir: string, name: string, content: string) {
  const path = join(dir, name);
  await writeFile(path, content);
  return { path, name: 'scan.pdf', contentType: 'application/pdf', size: Buffer.byteLength(content) };
}

async function book(
  journalPath: string,
  companyId: string,
  entry: AccountingEntry,
  attachment: { path: string; name: string; contentType: string; size: number },
) {
  const adapter = createHledgerAdapter({ journalPath });
  try {
    const outcome = await adapter.record(entry, {
      companyId,
      idempotencyKey: entry.accountingEntryId,
      attachments: [{ key: `${entry.accountingEntryId}-0`, ...attachment }],
    });
    expect(outcome.status).toBe('booked');
  } finally {
    await adapter.close();
  }
}

describe.each([
  ['umask 000', 0o000],
  ['umask 077', 0o077],
])('hledger file modes (%s)', (_name, umask) => {
  let previous: number;
  beforeEach(() => {
    previous = process.umask(umask);
  });
  afterEach(() => {
    process.umask(previous);
  });

  it('creates the journal and its receipts 0640', async () => {
    const dir = await tempDir();
    const journalPath = join(dir, 'books.journal');
    const e = contractEntry();
    await book(journalPath, COMPANY_A, e, await downloaded(dir, 'r.pdf', 'receipt'));
    expect(mode(journalPath)).toBe('640');
    expect(mode(join(dir, 'receipts', COMPANY_A, `${e.accountingEntryId}-0.pdf`))).toBe('640');
  });
});

describe('hledger receipts', () => {
  it('keeps the receipts of two companies apart, even under the same entry id', async () => {
    const dir = await tempDir();
    const e = contractEntry();
    // Same entry id, same size, other bytes: one company's file never stands for the other's.
    await book(join(dir, 'a.journal'), COMPANY_A, e, await downloaded(dir, 'a.pdf', 'AAAA receipt'));
    await book(join(dir, 'b.journal'), COMPANY_B, e, await downloaded(dir, 'b.pdf', 'BBBB receipt'));
    const name = `${e.accountingEntryId}-0.pdf`;
    expect(await readFile(join(dir, 'receipts', COMPANY_A, name), 'utf8')).toBe('AAAA receipt');
    expect(await readFile(join(dir, 'receipts', COMPANY_B, name), 'utf8')).toBe('BBBB receipt');
    expect(await readFile(join(dir, 'a.journal'), 'utf8')).toContain(
      `; receipt:receipts/${COMPANY_A}/${name}`,
    );
    expect(await readFile(join(dir, 'b.journal'), 'utf8')).toContain(
      `; receipt:receipts/${COMPANY_B}/${name}`,
    );
  });

  it('replaces a receipt of the same size but other content', async () => {
    const dir = await tempDir();
    const e = contractEntry();
    const target = join(dir, 'receipts', COMPANY_A, `${e.accountingEntryId}-0.pdf`);
    await mkdir(join(dir, 'receipts', COMPANY_A), { recursive: true });
    await writeFile(target, 'XXXX receipt');
    await book(join(dir, 'books.journal'), COMPANY_A, e, await downloaded(dir, 'r.pdf', 'AAAA receipt'));
    expect(await readFile(target, 'utf8')).toBe('AAAA receipt');
  });

  it('replaces a symbolic link at the receipt name instead of trusting or writing through it', async () => {
    const dir = await tempDir();
    const e = contractEntry();
    const target = join(dir, 'receipts', COMPANY_A, `${e.accountingEntryId}-0.pdf`);
    await mkdir(join(dir, 'receipts', COMPANY_A), { recursive: true });
    const elsewhere = join(dir, 'elsewhere.pdf');
    await writeFile(elsewhere, 'AAAA receipt'); // even the right content, through a link, is not kept
    await symlink(elsewhere, target);
    await book(join(dir, 'books.journal'), COMPANY_A, e, await downloaded(dir, 'r.pdf', 'AAAA receipt'));
    expect(lstatSync(target).isSymbolicLink()).toBe(false);
    expect(await readFile(target, 'utf8')).toBe('AAAA receipt');
  });

  it('refuses a downloaded receipt that is a symbolic link', async () => {
    const dir = await tempDir();
    const e = contractEntry();
    await writeFile(join(dir, 'secret'), 'a local secret');
    await symlink(join(dir, 'secret'), join(dir, 'r.pdf'));
    const adapter = createHledgerAdapter({ journalPath: join(dir, 'books.journal') });
    const outcome = await adapter.record(e, {
      companyId: COMPANY_A,
      idempotencyKey: e.accountingEntryId,
      attachments: [
        {
          key: `${e.accountingEntryId}-0`,
          path: join(dir, 'r.pdf'),
          name: 'scan.pdf',
          contentType: 'application/pdf',
          size: 14,
        },
      ],
    });
    await adapter.close();
    expect(outcome).toMatchObject({ status: 'failed', failureReasonType: 'receipt_upload_failure' });
    expect((outcome as { failureReason: string }).failureReason).toMatch(/not a regular file/);
  });

  it('a new receipt is one hard link to the download, synced before the journal append that names it', async () => {
    const dir = await tempDir();
    const events: string[] = [];
    const adapter = createHledgerAdapter({
      journalPath: join(dir, 'books.journal'),
      faultHooks: {
        receiptsSynced: () => events.push('receipts synced'),
        afterWrite: () => events.push('journal written'),
        afterSync: () => events.push('journal synced'),
      },
    });
    const entries = [contractEntry(), contractEntry()];
    try {
      for (const e of entries) {
        const attachment = await downloaded(
          dir,
          `${e.accountingEntryId}.pdf`,
          `receipt ${e.accountingEntryId}`,
        );
        const ctx = { companyId: COMPANY_A, idempotencyKey: e.accountingEntryId };
        const attachments = [{ key: `${e.accountingEntryId}-0`, ...attachment }];
        expect(await adapter.stageAttachments!(attachments, ctx)).toBeNull();
        expect((await adapter.record(e, { ...ctx, attachments })).status).toBe('booked');
        const target = join(dir, 'receipts', COMPANY_A, `${e.accountingEntryId}-0.pdf`);
        expect(statSync(target).ino).toBe(statSync(attachment.path).ino); // no bytes copied
        expect(mode(target)).toBe('640');
      }
    } finally {
      await adapter.close();
    }
    expect(events).toEqual([
      'receipts synced',
      'journal written',
      'journal synced',
      'receipts synced',
      'journal written',
      'journal synced',
    ]);
  });
});
