/**
 * Receipt downloads. Pleo's `files[].url` works for 24 hours after the item was fetched, so the
 * engine downloads every file of a data page before it commits the page, and keeps it on disk
 * under a deterministic name (`<accountingEntryId>-<index>.<ext>`). A download repeated after a
 * crash overwrites the same name atomically (temporary file, then rename): nothing is stored twice.
 * A file that cannot be downloaded, is too large or of a type the accounting system does not take
 * fails its item with the matching `receipt_*` type — unless receipts are configured as optional,
 * in which case the problem is logged and the entry is booked without that file. A file is never
 * dropped silently.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
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
): Promise<DownloadResult> {
  const files = (item.files ?? []).filter((f) => f !== null);
  const result: DownloadResult = { attachments: [], prefailure: null, tolerated: [] };
  if (files.length === 0) return result;
  await mkdir(dir, { recursive: true });
  for (const [index, file] of files.entries()) {
    const problem =
      checkReceipt({ index, size: file.size, contentType: file.type }, policy) ??
      (await fetchOne(client, item.accountingEntryId, index, file, dir, policy, signal, result.attachments));
    if (problem === null) continue;
    if (policy.attachments.required) {
      result.prefailure = receiptFailure(problem);
      return result;
    }
    result.tolerated.push(problem);
  }
  return result;
}

async function fetchOne(
  client: PleoClient,
  entryId: string,
  index: number,
  file: { url: string; size: number; type: string },
  dir: string,
  policy: ReceiptPolicy,
  signal: AbortSignal | undefined,
  into: AttachmentRecord[],
): Promise<ReceiptProblem | null> {
  const name = attachmentFileName(entryId, index, file.type);
  const path = join(dir, name);
  const record = (size: number): AttachmentRecord => ({
    key: attachmentKey(entryId, index),
    path,
    name,
    contentType: file.type,
    size,
  });
  const existing = await stat(path).catch(() => null);
  if (existing?.isFile() === true && existing.size === file.size) {
    into.push(record(existing.size));
    return null;
  }
  let bytes: Uint8Array;
  try {
    bytes = await client.downloadFile(file.url, {
      maxBytes: policy.attachments.maxBytes,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    return { kind: 'download', index, detail: describeError(error) };
  }
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
  into.push(record(bytes.byteLength));
  return null;
}

/**
 * The receipts of an item about to be booked, present on this machine. In the scaled-out mode the
 * worker that fetched a job's data may not be the one that books an entry (a takeover, another
 * machine without a shared `dataDir`): a receipt missing here is downloaded again from the URL kept
 * in the stored export item (valid 24 hours after the fetch), under the same deterministic name.
 * A receipt that cannot be had again fails the item (or, with optional receipts, is left out and
 * reported in `tolerated`), exactly as at fetch time.
 */
export async function ensureAttachmentsHere(
  client: PleoClient,
  item: ExportItem,
  attachments: readonly AttachmentRecord[],
  policy: ReceiptPolicy,
  signal?: AbortSignal,
): Promise<DownloadResult> {
  const files = (item.files ?? []).filter((f) => f !== null);
  const result: DownloadResult = { attachments: [], prefailure: null, tolerated: [] };
  for (const record of attachments) {
    const present = await stat(record.path).catch(() => null);
    if (present?.isFile() === true && present.size === record.size) {
      result.attachments.push(record);
      continue;
    }
    const index = Number(record.key.slice(record.key.lastIndexOf('-') + 1));
    const file = files[index];
    await mkdir(dirname(record.path), { recursive: true });
    const problem =
      file === undefined
        ? ({ kind: 'download', index, detail: 'the export data no longer lists this receipt' } as const)
        : await fetchOne(
            client,
            item.accountingEntryId,
            index,
            file,
            dirname(record.path),
            policy,
            signal,
            result.attachments,
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
