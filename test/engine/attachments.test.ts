/**
 * Receipts on disk (issue 17): written 0640 whatever the umask, identified by their SHA-256 and
 * never through a symbolic link planted in the receipts folder.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { ExportItem, PleoClient } from '../../src/client/index.js';
import type { AttachmentRecord } from '../../src/store/index.js';
import {
  downloadAttachments,
  ensureAttachmentsHere,
  fileIdentity,
  receiptFolder,
} from '../../src/engine/attachments.js';

const root = mkdtempSync(join(tmpdir(), 'pleo-receipts-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const POLICY = {
  attachments: { maxBytes: 1024 * 1024, required: true, allowedTypes: ['application/pdf'] },
} as const;
const RECEIPT = Buffer.from('%PDF-1.4 the real receipt');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

function fakeClient(body: Uint8Array = RECEIPT): { client: PleoClient; downloads: string[] } {
  const downloads: string[] = [];
  const client = {
    download: (url: string) => {
      downloads.push(url);
      const bytes = new Uint8Array(body);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      return Promise.resolve({ bytes, byteLength: bytes.byteLength, sha256 });
    },
  } as unknown as PleoClient;
  return { client, downloads };
}

function item(entryId = 'e0000000-0000-4000-8000-000000000001'): ExportItem {
  return {
    accountingEntryId: entryId,
    files: [{ url: 'https://files.pleo.io/r.pdf', size: RECEIPT.length, type: 'application/pdf' }],
  } as unknown as ExportItem;
}

function recorder(): { warn(obj: object, msg?: string): void; warnings: { obj: object; msg?: string }[] } {
  const warnings: { obj: object; msg?: string }[] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, ...(msg === undefined ? {} : { msg }) }) };
}

describe.each([
  ['umask 000', 0o000],
  ['umask 077', 0o077],
])('receipts on disk (%s)', (_name, umask) => {
  let previous: number;
  beforeEach(() => {
    previous = process.umask(umask);
  });
  afterEach(() => {
    process.umask(previous);
  });

  it('writes a receipt 0640 in a 0700 folder and records its SHA-256', async () => {
    const dir = join(root, `d${n++}`, 'company');
    const { client } = fakeClient();
    const result = await downloadAttachments(client, item(), dir, POLICY);
    expect(result.prefailure).toBeNull();
    const [record] = result.attachments;
    expect(record).toMatchObject({ size: RECEIPT.length, sha256: sha256(RECEIPT) });
    expect(readFileSync(record!.path)).toEqual(RECEIPT);
    expect(mode(record!.path)).toBe('640');
    expect(mode(dir)).toBe('700');
    // The identity recorded is the file's as it stays (taken after any chmod the umask needed).
    expect(record!.file).toBe(fileIdentity(lstatSync(record!.path, { bigint: true })));
  });
});

describe('receipts found on disk', () => {
  it('replaces a symbolic link planted at a receipt name instead of writing through it', async () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir, { recursive: true });
    const secret = join(root, `secret-${n}`);
    writeFileSync(secret, 'a local secret');
    symlinkSync(secret, join(dir, 'e0000000-0000-4000-8000-000000000001-0.pdf'));
    const logger = recorder();
    const result = await downloadAttachments(fakeClient().client, item(), dir, POLICY, undefined, logger);
    const path = result.attachments[0]!.path;
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(path)).toEqual(RECEIPT);
    expect(readFileSync(secret, 'utf8')).toBe('a local secret');
    expect(logger.warnings).toEqual([
      expect.objectContaining({ obj: expect.objectContaining({ path, type: 'symbolic link' }) }),
    ]);
  });

  it('uses a receipt in place only when its content hash is the recorded one, not its size', async () => {
    const dir = join(root, `d${n++}`);
    const first = await downloadAttachments(fakeClient().client, item(), dir, POLICY);
    const record = first.attachments[0]!;

    const same = fakeClient();
    const kept = await ensureAttachmentsHere(same.client, item(), [record], POLICY);
    expect(same.downloads).toEqual([]);
    expect(kept.attachments).toEqual([record]);

    // Same size, other bytes (another company's file, a tampered one): downloaded again.
    writeFileSync(record.path, Buffer.alloc(RECEIPT.length, 0x41));
    const again = fakeClient();
    const restored = await ensureAttachmentsHere(again.client, item(), [record], POLICY);
    expect(again.downloads).toHaveLength(1);
    expect(readFileSync(record.path)).toEqual(RECEIPT);
    expect(restored.attachments[0]?.sha256).toBe(sha256(RECEIPT));
  });

  it('never trusts a symbolic link, even to a file with the right content', async () => {
    const dir = join(root, `d${n++}`);
    const record = (await downloadAttachments(fakeClient().client, item(), dir, POLICY)).attachments[0]!;
    const elsewhere = join(root, `copy-${n}.pdf`);
    writeFileSync(elsewhere, RECEIPT);
    rmSync(record.path);
    symlinkSync(elsewhere, record.path);
    const logger = recorder();
    const again = fakeClient();
    await ensureAttachmentsHere(again.client, item(), [record], POLICY, undefined, logger);
    expect(again.downloads).toHaveLength(1);
    expect(lstatSync(record.path).isFile()).toBe(true);
    expect(logger.warnings).toHaveLength(1);
  });

  it('downloads again a receipt recorded without a hash (an older version recorded size only)', async () => {
    const dir = join(root, `d${n++}`);
    const record = (await downloadAttachments(fakeClient().client, item(), dir, POLICY)).attachments[0]!;
    const { sha256: _dropped, ...legacy } = record;
    const again = fakeClient();
    const result = await ensureAttachmentsHere(again.client, item(), [legacy], POLICY);
    expect(again.downloads).toHaveLength(1);
    expect(result.attachments[0]?.sha256).toBe(sha256(RECEIPT));
  });
});

/**
 * Issue 20: at booking, a receipt that is still the file written at download (same device, inode,
 * size, change and modification times: one lstat) is not read and hashed again; any change or
 * replacement after the download is still caught and the receipt downloaded again.
 */
describe('receipts checked at booking by the identity of the file written', () => {
  const ENTRY = 'e0000000-0000-4000-8000-000000000001';
  const OTHER = Buffer.alloc(RECEIPT.length, 0x41); // same size, other bytes

  async function downloaded(): Promise<{ dir: string; record: AttachmentRecord }> {
    const dir = join(root, `d${n++}`);
    const record = (await downloadAttachments(fakeClient().client, item(ENTRY), dir, POLICY)).attachments[0]!;
    return { dir, record };
  }

  it('the file written at download is used as it is, without reading it again', async () => {
    const { record } = await downloaded();
    expect(record.file).toEqual(expect.any(String));
    // A record whose hash the file does not have: kept only because the file was not read again.
    const trusted = { ...record, sha256: sha256(OTHER) };
    const booking = fakeClient();
    const result = await ensureAttachmentsHere(booking.client, item(ENTRY), [trusted], POLICY);
    expect(booking.downloads).toEqual([]);
    expect(result.attachments).toEqual([trusted]);
  });

  it('a receipt rewritten in place with other bytes of the same size is downloaded again', async () => {
    const { record } = await downloaded();
    writeFileSync(record.path, OTHER);
    const booking = fakeClient();
    const result = await ensureAttachmentsHere(booking.client, item(ENTRY), [record], POLICY);
    expect(booking.downloads).toHaveLength(1);
    expect(readFileSync(record.path)).toEqual(RECEIPT);
    expect(result.attachments[0]?.sha256).toBe(sha256(RECEIPT));
    // The new file's identity is recorded, not the old one.
    expect(result.attachments[0]?.file).toBe(fileIdentity(lstatSync(record.path, { bigint: true })));
    expect(result.attachments[0]?.file).not.toBe(record.file);
  });

  it('a receipt replaced by another file (a rename over it) is downloaded again', async () => {
    const { dir, record } = await downloaded();
    const planted = join(dir, 'planted');
    writeFileSync(planted, OTHER);
    renameSync(planted, record.path);
    const booking = fakeClient();
    await ensureAttachmentsHere(booking.client, item(ENTRY), [record], POLICY);
    expect(booking.downloads).toHaveLength(1);
    expect(readFileSync(record.path)).toEqual(RECEIPT);
  });

  it('a receipt removed and created again (the inode may be reused) is downloaded again', async () => {
    const { record } = await downloaded();
    rmSync(record.path);
    writeFileSync(record.path, OTHER, { mode: 0o640 });
    const booking = fakeClient();
    await ensureAttachmentsHere(booking.client, item(ENTRY), [record], POLICY);
    expect(booking.downloads).toHaveLength(1);
    expect(readFileSync(record.path)).toEqual(RECEIPT);
  });

  it('a receipt whose only change is its mode or times is checked by its hash, not trusted blindly', async () => {
    const { record } = await downloaded();
    // chmod moves the change time: the identity no longer matches, the hash decides (same bytes).
    chmodSync(record.path, 0o600);
    const booking = fakeClient();
    const result = await ensureAttachmentsHere(
      booking.client,
      item(ENTRY),
      [{ ...record, sha256: sha256(OTHER) }], // the hash is what is checked now
      POLICY,
    );
    expect(booking.downloads).toHaveLength(1);
    expect(result.attachments[0]?.sha256).toBe(sha256(RECEIPT));
  });

  it('a file with the recorded content but another identity is kept after hashing it', async () => {
    const { dir, record } = await downloaded();
    const copy = join(dir, 'copy');
    writeFileSync(copy, RECEIPT, { mode: 0o640 });
    renameSync(copy, record.path);
    const booking = fakeClient();
    const result = await ensureAttachmentsHere(booking.client, item(ENTRY), [record], POLICY);
    expect(booking.downloads).toEqual([]);
    expect(result.attachments[0]?.sha256).toBe(sha256(RECEIPT));
    expect(result.attachments[0]?.file).toBe(fileIdentity(lstatSync(record.path, { bigint: true })));
  });

  it('a symbolic link to the very file written is not the file: downloaded again', async () => {
    const { dir, record } = await downloaded();
    const moved = join(dir, 'moved.pdf');
    renameSync(record.path, moved); // the same inode, elsewhere (a rename changes only its ctime)
    symlinkSync(moved, record.path);
    const booking = fakeClient();
    await ensureAttachmentsHere(booking.client, item(ENTRY), [record], POLICY, undefined, recorder());
    expect(booking.downloads).toHaveLength(1);
    expect(lstatSync(record.path).isFile()).toBe(true);
  });

  it('a receipt found in place at download (a re-run) is recorded with the identity it has', async () => {
    const { dir, record } = await downloaded();
    // Same content already there (a crash before the page was committed): kept, identity recorded.
    const again = (await downloadAttachments(fakeClient().client, item(ENTRY), dir, POLICY)).attachments[0]!;
    expect(again.file).toBe(record.file);
    // Other content there (half-written by a crash): replaced by rename; the new file's identity.
    writeFileSync(record.path, RECEIPT.subarray(0, 5));
    const replaced = (await downloadAttachments(fakeClient().client, item(ENTRY), dir, POLICY))
      .attachments[0]!;
    expect(replaced.file).toBe(fileIdentity(lstatSync(record.path, { bigint: true })));
    const booking = fakeClient();
    const result = await ensureAttachmentsHere(
      booking.client,
      item(ENTRY),
      [{ ...replaced, sha256: sha256(OTHER) }], // kept by its identity alone
      POLICY,
    );
    expect(booking.downloads).toEqual([]);
    expect(readFileSync(record.path)).toEqual(RECEIPT);
    expect(result.attachments[0]?.file).toBe(replaced.file);
  });

  it('an identity without a hash (a forged or partial record) is never trusted', async () => {
    const { record } = await downloaded();
    const { sha256: _dropped, ...noHash } = record;
    const booking = fakeClient();
    await ensureAttachmentsHere(booking.client, item(ENTRY), [noHash], POLICY);
    expect(booking.downloads).toHaveLength(1);
  });
});

/** Issue 20: receipts are written where they stay, in a folder made once per job. */
describe('receipts written in place', () => {
  it('one folder per job: created on first use, not per receipt; created again when it goes away', async () => {
    const dir = join(root, `d${n++}`, 'company');
    const folder = receiptFolder(dir);
    const made: Promise<void>[] = [];
    const counting = {
      path: folder.path,
      ready: (again?: boolean) => {
        const p = folder.ready(again);
        made.push(p);
        return p;
      },
    };
    const { client } = fakeClient();
    for (const i of [1, 2, 3]) {
      const id = `e0000000-0000-4000-8000-00000000000${i}`;
      expect((await downloadAttachments(client, item(id), counting, POLICY)).prefailure).toBeNull();
    }
    expect(new Set(made).size).toBe(1); // one mkdir for the three receipts
    rmSync(dir, { recursive: true });
    const result = await downloadAttachments(
      client,
      item('e0000000-0000-4000-8000-000000000004'),
      folder,
      POLICY,
    );
    expect(readFileSync(result.attachments[0]!.path)).toEqual(RECEIPT);
    expect(mode(dir)).toBe('700');
  });

  it('a new receipt goes straight to its final name: no temporary file, nothing else in the folder', async () => {
    const dir = join(root, `d${n++}`);
    await downloadAttachments(fakeClient().client, item(), dir, POLICY);
    expect(readdirSync(dir)).toEqual(['e0000000-0000-4000-8000-000000000001-0.pdf']);
  });

  it('a name taken by the same content is kept as it is (same file, not rewritten)', async () => {
    const dir = join(root, `d${n++}`);
    const first = (await downloadAttachments(fakeClient().client, item(), dir, POLICY)).attachments[0]!;
    const before = statSync(first.path);
    const again = (await downloadAttachments(fakeClient().client, item(), dir, POLICY)).attachments[0]!;
    const after = statSync(again.path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(again.sha256).toBe(sha256(RECEIPT));
  });

  it('a file left half-written by a crash is detected by its hash and replaced whole', async () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'e0000000-0000-4000-8000-000000000001-0.pdf');
    writeFileSync(path, RECEIPT.subarray(0, 7)); // the crash's partial file, at the final name
    const result = await downloadAttachments(fakeClient().client, item(), dir, POLICY);
    expect(readFileSync(path)).toEqual(RECEIPT);
    expect(result.attachments[0]).toMatchObject({ path, size: RECEIPT.length, sha256: sha256(RECEIPT) });
    expect(mode(path)).toBe('640');
    expect(readdirSync(dir)).toEqual(['e0000000-0000-4000-8000-000000000001-0.pdf']);
  });

  it('a folder at a receipt name is refused, not written through', async () => {
    const dir = join(root, `d${n++}`);
    mkdirSync(join(dir, 'e0000000-0000-4000-8000-000000000001-0.pdf'), { recursive: true });
    const result = await downloadAttachments(fakeClient().client, item(), dir, POLICY);
    expect(result.prefailure).toMatchObject({ failureReasonType: 'receipt_download_failure' });
  });
});
