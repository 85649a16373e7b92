/**
 * Receipt downloads. Pleo's `files[].url` works for 24 hours after the item was fetched, so the
 * engine downloads every file of a data page before it commits the page, and keeps it on disk
 * under a deterministic name (`<company id>/<accountingEntryId>-<index>.<ext>` in the receipts
 * folder). A download repeated after a crash overwrites the same name atomically (temporary file,
 * then rename): nothing is stored twice. A file that cannot be downloaded, is too large or of a
 * type the accounting system does not take fails its item with the matching `receipt_*` type —
 * unless receipts are configured as optional, in which case the problem is logged and the entry is
 * booked without that file. A file is never dropped silently.
 *
 * What is on disk is not trusted by its name or its size (issue 17): a receipt found in place is
 * used only when it is a regular file — a symbolic link is never followed — whose SHA-256 is the
 * one recorded when it was downloaded; anything else is downloaded again, and a link or other
 * non-file found at a receipt's name is replaced, with a warning. Receipts are written 0640 in
 * folders created 0700, whatever the umask.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
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

export interface DownloadResult {
  attachments: AttachmentRecord[];
  prefailure: ItemFailureFields | null;
  /** Problems tolerated because receipts are optional (logged by the caller). */
  tolerated: ReceiptProblem[];
}

export async function downloadAttachments(
  client: PleoClient,
  item: ExportItem,
  dir: string,
  policy: ReceiptPolicy,
  signal?: AbortSignal,
  logger?: ReceiptLogger,
): Promise<DownloadResult> {
  const files = (item.files ?? []).filter((f) => f !== null);
  const result: DownloadResult = { attachments: [], prefailure: null, tolerated: [] };
  if (files.length === 0) return result;
  await mkdir(dir, { recursive: true, mode: 0o700 });
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
  /** The hash recorded at download time: a file in place with this content is used as is. */
  expectedSha256?: string | undefined;
}

async function fetchOne(
  client: PleoClient,
  entryId: string,
  index: number,
  file: { url: string; size: number; type: string },
  dir: string,
  policy: ReceiptPolicy,
  ctx: FetchContext,
): Promise<ReceiptProblem | null> {
  const name = attachmentFileName(entryId, index, file.type);
  const path = join(dir, name);
  const record = (size: number, sha256: string): AttachmentRecord => ({
    key: attachmentKey(entryId, index),
    path,
    name,
    contentType: file.type,
    size,
    sha256,
  });
  if (ctx.expectedSha256 !== undefined) {
    const present = await hashRegularFile(path);
    if (present?.sha256 === ctx.expectedSha256) {
      ctx.into.push(record(present.size, present.sha256));
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
  const refused = await writeReceipt(path, bytes, ctx.logger);
  if (refused !== null) return { kind: 'download', index, detail: refused };
  ctx.into.push(record(bytes.byteLength, sha256));
  return null;
}

/**
 * Writes a receipt at `path` atomically with mode {@link RECEIPT_FILE_MODE}: a fresh temporary file
 * (`O_EXCL | O_NOFOLLOW`: never through a link planted at its name), then a rename, which replaces
 * a link at `path` itself rather than what it points to. Returns why it refused, or null.
 */
async function writeReceipt(path: string, bytes: Uint8Array, logger?: ReceiptLogger): Promise<string | null> {
  const existing = await lstat(path).catch(() => null);
  if (existing !== null && !existing.isFile()) {
    if (existing.isDirectory()) return `${path} is a folder, not a receipt file`;
    logger?.warn(
      { path, type: existing.isSymbolicLink() ? 'symbolic link' : 'special file' },
      'receipts folder: replacing something that is not a regular file with the downloaded receipt',
    );
  }
  const temporary = `${path}.tmp-${process.pid}`;
  await rm(temporary, { force: true }); // left by a crash; removes a link, never its target
  const handle = await open(
    temporary,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    RECEIPT_FILE_MODE,
  );
  try {
    await handle.chmod(RECEIPT_FILE_MODE); // the umask may have removed the group bit
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  return null;
}

/** Size and SHA-256 of `path` when it is a regular file (a symbolic link is not followed); else null. */
export async function hashRegularFile(path: string): Promise<{ size: number; sha256: string } | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null; // missing, or a link (ELOOP)
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return { size: stats.size, sha256: hash.digest('hex') };
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
  for (const record of attachments) {
    const index = Number(record.key.slice(record.key.lastIndexOf('-') + 1));
    const file = files[index];
    await mkdir(dirname(record.path), { recursive: true, mode: 0o700 });
    const problem =
      file === undefined
        ? ({ kind: 'download', index, detail: 'the export data no longer lists this receipt' } as const)
        : await fetchOne(client, item.accountingEntryId, index, file, dirname(record.path), policy, {
            signal,
            logger,
            into: result.attachments,
            expectedSha256: record.sha256,
          });
    if (problem === null) continue;
    if (policy.attachments.required) {
      result.prefailure = receiptFailure(problem);
      return result;
    }
    result.tolerated.push(problem);
  }
  return result;
}
