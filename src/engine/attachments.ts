/**
 * Receipt downloads. Pleo's `files[].url` works for 24 hours after the item was fetched, so the
 * engine downloads every file of a data page before it commits the page, and keeps it on disk
 * under a deterministic name (`<company id>/<accountingEntryId>-<index>.<ext>` in the receipts
 * folder). A file that cannot be downloaded, is too large or of a type the accounting system does
 * not take fails its item with the matching `receipt_*` type — unless receipts are configured as
 * optional, in which case the problem is logged and the entry is booked without that file. A file
 * is never dropped silently.
 *
 * Few file operations per receipt (issue 20): the folder is created once per job
 * ({@link receiptFolder}), and a receipt is written where it stays, under its final name, opened
 * `O_CREAT | O_EXCL | O_NOFOLLOW`: for a new name that open is the whole existence check (no
 * stat, no directory listing, no temporary file, no rename) — 4 calls: open, write, fstat,
 * close (plus fchmod when the umask took a bit of 0640). They are made synchronously, as the
 * store's SQLite writes to the same data folder are: four system calls of some 30 µs each cost
 * less than four trips through libuv's thread pool (a futex wake-up, a thread switch and an
 * eventfd write each, on two cores shared with everything else), and the bytes written are a
 * copy into the page cache, cheaper than the SHA-256 already computed over them on this thread.
 * No rename is needed for crash safety because nothing trusts a file by its name: a file
 * left half-written by a crash was never recorded (the page is committed after its downloads
 * finish), and any later use of a file found in place checks it first (below). Only when the
 * name is taken (a re-run, a re-export) is the file in place hashed: identical content is kept
 * as is; anything else is replaced atomically (temporary file, then rename). Receipts are not
 * synced here: the store records their hash, and an adapter that names them in its books syncs
 * them before that write (hledger: once per journal append).
 *
 * What is on disk is not trusted by its name or its size (issue 17): a receipt found in place is
 * used only when it is a regular file — a symbolic link is never followed — that is still the
 * file written at download time (below), or whose SHA-256 is the one recorded then; anything else
 * is downloaded again, and a link or other non-file found at a receipt's name is replaced, with a
 * warning. Receipts are written 0640 in folders created 0700, whatever the umask.
 *
 * The file written, not its content, is what booking checks first (issue 20: re-reading and
 * re-hashing every receipt at booking cost a read of every byte downloaded). When a receipt is
 * written, its {@link fileIdentity} — device, inode, size, change and modification times, taken
 * from the open file after the last write — is recorded with its hash; at booking one `lstat`
 * (no link followed) that finds the same identity proves the bytes are the ones hashed: the
 * kernel sets the change time (`ctime`) on every write, truncation, chmod, link and rename of an
 * inode, and no system call sets it to a chosen value; a file removed and another created or
 * renamed in its place is another inode, or has a later change time. Only the file's owner (this
 * service's account: the folder is 0700) or root can change a receipt at all, and they can as well
 * rewrite the recorded hash in the store, so the hash defended nothing the identity does not. The
 * engine itself never writes into a receipt it recorded (it replaces by rename). Any other
 * identity — another machine, a restored backup, a file edited or replaced, a link — falls back to
 * the hash, as before. (On kernels before Linux 6.13, whose timestamps are one clock tick coarse,
 * an in-place rewrite by the owner within the tick of the download keeps the change time; the
 * owner is trusted, see above.)
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import {
  attachmentFileName,
  attachmentKey,
  checkReceipt,
  receiptFailure,
  type CompiledAccountingConfig,
  type ReceiptProblem,
} from '../accounting/index.js';
import type { ExportItem, PleoClient } from '../client/index.js';
import { describeError } from '../errors/index.js';
import type { AttachmentRecord, ItemFailureFields } from '../store/index.js';

/** Mode of a stored receipt: owner read/write, group read (the books' readers), others nothing. */
export const RECEIPT_FILE_MODE = 0o640;

/** Where problems with files found in the receipts folder are reported. */
export interface ReceiptLogger {
  warn(obj: object, msg?: string): void;
}

export type ReceiptPolicy = Pick<CompiledAccountingConfig, 'attachments'>;

/** A receipts folder (one company's), created 0700 on first use and then not again. */
export interface ReceiptFolder {
  readonly path: string;
  /** Creates the folder once; after a failure, or when it is found gone, the next call tries again. */
  ready(again?: boolean): Promise<void>;
}

/**
 * The receipts folder `path` for one job: `mkdir` runs once for all its receipts, not per file.
 * A folder removed while the job runs is created again when a write finds it missing.
 */
export function receiptFolder(path: string): ReceiptFolder {
  let made: Promise<void> | null = null;
  return {
    path,
    ready(again = false): Promise<void> {
      if (made === null || again) {
        const making = mkdir(path, { recursive: true, mode: 0o700 }).then(() => undefined);
        making.catch(() => {
          if (made === making) made = null;
        });
        made = making;
      }
      return made;
    },
  };
}

export interface DownloadResult {
  attachments: AttachmentRecord[];
  prefailure: ItemFailureFields | null;
  /** Problems tolerated because receipts are optional (logged by the caller). */
  tolerated: ReceiptProblem[];
}

/**
 * Downloads an item's receipts into `folder` (a job passes one {@link receiptFolder} for all its
 * items; a path makes a folder for this item alone).
 */
export async function downloadAttachments(
  client: PleoClient,
  item: ExportItem,
  folder: ReceiptFolder | string,
  policy: ReceiptPolicy,
  signal?: AbortSignal,
  logger?: ReceiptLogger,
): Promise<DownloadResult> {
  const files = (item.files ?? []).filter((f) => f !== null);
  const result: DownloadResult = { attachments: [], prefailure: null, tolerated: [] };
  if (files.length === 0) return result;
  const dir = typeof folder === 'string' ? receiptFolder(folder) : folder;
  for (const [index, file] of files.entries()) {
    const problem =
      checkReceipt({ index, size: file.size, contentType: file.type }, policy) ??
      (await fetchOne(client, item.accountingEntryId, index, file, dir, policy, {
        signal,
        logger,
        into: result.attachments,
      }));
    if (problem === null) continue;
    if (policy.attachments.required) {
      result.prefailure = receiptFailure(problem);
      return result;
    }
    result.tolerated.push(problem);
  }
  return result;
}

interface FetchContext {
  signal: AbortSignal | undefined;
  logger: ReceiptLogger | undefined;
  into: AttachmentRecord[];
  /** What was recorded at download time: a file in place that is still that file is used as is. */
  expected?: AttachmentRecord | undefined;
}

/**
 * Identity of a file as written: device, inode, size, change and modification times (ns). The
 * change time moves with every write, truncation, chmod, link or rename of the inode and cannot
 * be set by a caller, so an unchanged identity means unchanged bytes (see the module comment).
 */
export function fileIdentity(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.ctimeNs}:${stats.mtimeNs}`;
}

/**
 * The receipt at `path` when it is the one `expected` recorded: the same file (one `lstat`, no
 * link followed), else a regular file with the recorded SHA-256 (read and hashed). Null when
 * neither (missing, changed, replaced, a link), or when nothing was recorded to compare with.
 */
async function keptInPlace(
  path: string,
  expected: AttachmentRecord,
): Promise<{ size: number; sha256: string; file: string } | null> {
  if (expected.sha256 === undefined) return null; // an older record: size only, never trusted
  if (expected.file !== undefined) {
    let stats: BigIntStats | undefined;
    try {
      stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return null; // not reachable (a file where a folder should be, no permission)
    }
    if (stats === undefined || !stats.isFile()) return null; // missing, a link, not a file
    if (fileIdentity(stats) === expected.file)
      return { size: Number(stats.size), sha256: expected.sha256, file: expected.file };
  }
  const present = await hashRegularFile(path);
  return present?.sha256 === expected.sha256 ? present : null;
}

async function fetchOne(
  client: PleoClient,
  entryId: string,
  index: number,
  file: { url: string; size: number; type: string },
  dir: ReceiptFolder,
  policy: ReceiptPolicy,
  ctx: FetchContext,
): Promise<ReceiptProblem | null> {
  const name = attachmentFileName(entryId, index, file.type);
  const path = join(dir.path, name);
  const record = (size: number, sha256: string, identity: string): AttachmentRecord => ({
    key: attachmentKey(entryId, index),
    path,
    name,
    contentType: file.type,
    size,
    sha256,
    file: identity,
  });
  if (ctx.expected !== undefined) {
    const present = await keptInPlace(path, ctx.expected);
    if (present !== null) {
      ctx.into.push(record(present.size, present.sha256, present.file));
      return null;
    }
  }
  let bytes: Uint8Array;
  let sha256: string;
  try {
    // Counted while it streams: never more than maxBytes, nor more than the size Pleo declared.
    const downloaded = await client.download(file.url, {
      maxBytes: policy.attachments.maxBytes,
      ...(typeof file.size === 'number' && file.size >= 0 ? { expectedBytes: file.size } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    bytes = downloaded.bytes;
    sha256 = downloaded.sha256;
  } catch (error) {
    if (ctx.signal?.aborted === true) throw error;
    return { kind: 'download', index, detail: describeError(error) };
  }
  const written = await writeReceipt(dir, path, bytes, sha256, ctx.logger);
  if ('refused' in written) return { kind: 'download', index, detail: written.refused };
  ctx.into.push(record(bytes.byteLength, sha256, written.file));
  return null;
}

/** A receipt written (its {@link fileIdentity}), or why it was not. */
type Written = { file: string } | { refused: string };

/**
 * Writes a receipt at `path` (in `dir`) with mode {@link RECEIPT_FILE_MODE}, under its final name:
 * `O_CREAT | O_EXCL | O_NOFOLLOW` creates it only when the name is free, and never opens through a
 * link planted there. A taken name goes to {@link replaceReceipt}.
 */
async function writeReceipt(
  dir: ReceiptFolder,
  path: string,
  bytes: Uint8Array,
  sha256: string,
  logger?: ReceiptLogger,
): Promise<Written> {
  await dir.ready();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return { file: createReceipt(path, bytes) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return replaceReceipt(path, bytes, sha256, logger);
      if (code !== 'ENOENT' || attempt > 0) throw error;
      await dir.ready(true); // the folder went away while the job ran
    }
  }
}

/**
 * Creates a receipt at a free name (synchronously, see the module comment): open
 * `O_CREAT | O_EXCL | O_NOFOLLOW`, write, fstat (the identity, and the mode: `chmod` only when
 * the umask took some of 0640, then the identity again, as the chmod moves the change time),
 * close. Returns the file's {@link fileIdentity}. A failed write removes the partial file (it was
 * never recorded, so never trusted; removed anyway).
 */
function createReceipt(path: string, bytes: Uint8Array): string {
  const fd = openSync(path, EXCLUSIVE, RECEIPT_FILE_MODE);
  let identity: string;
  try {
    for (let done = 0; done < bytes.byteLength;) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    let stats = fstatSync(fd, { bigint: true });
    if ((Number(stats.mode) & 0o777) !== RECEIPT_FILE_MODE) {
      fchmodSync(fd, RECEIPT_FILE_MODE);
      stats = fstatSync(fd, { bigint: true });
    }
    identity = fileIdentity(stats);
  } catch (error) {
    closeQuietly(fd);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    throw error;
  }
  closeSync(fd);
  return identity;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // the error being thrown is the one that matters
  }
}

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * The name of a receipt is taken (a re-run after a crash, a re-export, another worker): a regular
 * file with the same content is kept as it is; anything else is replaced atomically — a fresh
 * temporary file (`O_EXCL | O_NOFOLLOW`), then a rename, which replaces a link at `path` itself
 * rather than what it points to. The identity is read from the open file after the rename (which
 * moves its change time), never from whatever the name holds by then.
 */
async function replaceReceipt(
  path: string,
  bytes: Uint8Array,
  sha256: string,
  logger?: ReceiptLogger,
): Promise<Written> {
  const present = await hashRegularFile(path);
  if (present !== null && present.sha256 === sha256 && present.size === bytes.byteLength)
    return { file: present.file };
  const existing = await lstat(path).catch(() => null);
  if (existing !== null && !existing.isFile()) {
    if (existing.isDirectory()) return { refused: `${path} is a folder, not a receipt file` };
    logger?.warn(
      { path, type: existing.isSymbolicLink() ? 'symbolic link' : 'special file' },
      'receipts folder: replacing something that is not a regular file with the downloaded receipt',
    );
  }
  const temporary = `${path}.tmp-${process.pid}`;
  await rm(temporary, { force: true }); // left by a crash; removes a link, never its target
  const handle = await open(temporary, EXCLUSIVE, RECEIPT_FILE_MODE);
  try {
    await handle.chmod(RECEIPT_FILE_MODE);
    await handle.writeFile(bytes);
    await rename(temporary, path);
    return { file: fileIdentity(await handle.stat({ bigint: true })) };
  } finally {
    await handle.close();
  }
}

/**
 * Size, SHA-256 and {@link fileIdentity} of `path` when it is a regular file (a symbolic link is
 * not followed); else null. The identity is taken before the bytes are read: a change during the
 * read moves the change time, so it can never be recorded as matching the hash.
 */
export async function hashRegularFile(
  path: string,
): Promise<{ size: number; sha256: string; file: string } | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null; // missing, or a link (ELOOP)
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return { size: Number(stats.size), sha256: hash.digest('hex'), file: fileIdentity(stats) };
  } finally {
    await handle.close();
  }
}

/**
 * The receipts of an item about to be booked, present on this machine. In the scaled-out mode the
 * worker that fetched a job's data may not be the one that books an entry (a takeover, another
 * machine without a shared `dataDir`): a receipt missing here — or no longer the file that was
 * downloaded (another hash, a link) — is downloaded again from the URL kept in the stored export
 * item (valid 24 hours after the fetch), under the same deterministic name. A receipt that cannot
 * be had again fails the item (or, with optional receipts, is left out and reported in
 * `tolerated`), exactly as at fetch time.
 */
export async function ensureAttachmentsHere(
  client: PleoClient,
  item: ExportItem,
  attachments: readonly AttachmentRecord[],
  policy: ReceiptPolicy,
  signal?: AbortSignal,
  logger?: ReceiptLogger,
): Promise<DownloadResult> {
  const files = (item.files ?? []).filter((f) => f !== null);
  const result: DownloadResult = { attachments: [], prefailure: null, tolerated: [] };
  // Created only if a receipt must be written again (usually every one is in place).
  const folders = new Map<string, ReceiptFolder>();
  const folderOf = (path: string): ReceiptFolder => {
    let folder = folders.get(path);
    if (folder === undefined) folders.set(path, (folder = receiptFolder(path)));
    return folder;
  };
  for (const record of attachments) {
    const index = Number(record.key.slice(record.key.lastIndexOf('-') + 1));
    const file = files[index];
    const problem =
      file === undefined
        ? ({ kind: 'download', index, detail: 'the export data no longer lists this receipt' } as const)
        : await fetchOne(
            client,
            item.accountingEntryId,
            index,
            file,
            folderOf(dirname(record.path)),
            policy,
            {
              signal,
              logger,
              into: result.attachments,
              expected: record,
            },
          );
    if (problem === null) continue;
    if (policy.attachments.required) {
      result.prefailure = receiptFailure(problem);
      return result;
    }
    result.tolerated.push(problem);
  }
  return result;
}
