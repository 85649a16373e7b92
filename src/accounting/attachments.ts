/**
 * Pure helpers for receipts: deterministic names (so a re-download or re-upload lands on the same
 * key), MIME type → extension, the pre-checks the engine runs as soon as an item is fetched, and
 * the `receipt_*` item failures with actionable text.
 *
 * The engine downloads every file as soon as the item is fetched (URLs expire 24 h later), stores
 * it under {@link attachmentFileName} and hands adapters `StoredAttachment`s; adapters link them.
 */
import type { CompiledAccountingConfig } from './config.js';
import type { ItemFailure } from './types.js';

const EXTENSIONS: ReadonlyMap<string, string> = new Map([
  ['application/pdf', 'pdf'],
  ['image/jpeg', 'jpg'],
  ['image/jpg', 'jpg'],
  ['image/pjpeg', 'jpg'],
  ['image/png', 'png'],
  ['image/gif', 'gif'],
  ['image/heic', 'heic'],
  ['image/webp', 'webp'],
  ['image/tiff', 'tiff'],
  ['text/plain', 'txt'],
  ['text/csv', 'csv'],
  ['application/msword', 'doc'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
  ['application/vnd.ms-excel', 'xls'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
  ['application/xml', 'xml'],
  ['text/xml', 'xml'],
  ['application/zip', 'zip'],
]);

/** Pleo sometimes sends a bare extension (`pdf`) instead of a MIME type: accept both. */
export function normalizeContentType(type: string): string {
  const base = (type.split(';')[0] ?? '').trim().toLowerCase();
  if (base.includes('/')) return base;
  for (const [mime, ext] of EXTENSIONS) if (ext === base || (base === 'jpeg' && ext === 'jpg')) return mime;
  return base ? `application/x-${base.replace(/[^a-z0-9.+-]/g, '')}` : 'application/octet-stream';
}

/** File extension (without dot) for a MIME type; `bin` when unknown. */
export function extensionForContentType(type: string): string {
  return EXTENSIONS.get(normalizeContentType(type)) ?? 'bin';
}

/** Deterministic key of the `index`-th file (0-based, Pleo's upload order) of an entry. */
export function attachmentKey(accountingEntryId: string, index: number): string {
  return `${accountingEntryId}-${index}`;
}

/** Deterministic file name: `<accountingEntryId>-<index>.<ext>`; same input → same name. */
export function attachmentFileName(accountingEntryId: string, index: number, contentType: string): string {
  return `${attachmentKey(accountingEntryId, index)}.${extensionForContentType(contentType)}`;
}

export type ReceiptProblem =
  | { kind: 'download'; index: number; detail?: string }
  | { kind: 'upload'; index: number; detail?: string }
  | { kind: 'too_large'; index: number; size: number; maxBytes: number }
  | { kind: 'conversion'; index: number; contentType: string; detail?: string };

/** The item failure for a receipt problem, with text a bookkeeper can act on. */
export function receiptFailure(problem: ReceiptProblem): ItemFailure {
  const which = `Receipt ${problem.index + 1}`;
  const detail = 'detail' in problem && problem.detail ? ` (${problem.detail})` : '';
  switch (problem.kind) {
    case 'download':
      return {
        failureReasonType: 'receipt_download_failure',
        failureReason: `${which} could not be downloaded from Pleo${detail}. Export the expense again to retry.`,
      };
    case 'upload':
      return {
        failureReasonType: 'receipt_upload_failure',
        failureReason: `${which} could not be stored in the accounting system${detail}. Export the expense again to retry.`,
      };
    case 'too_large':
      return {
        failureReasonType: 'receipt_file_size_limit_exceeded',
        failureReason: `${which} is ${formatBytes(problem.size)}, above the limit of ${formatBytes(problem.maxBytes)}. Replace it with a smaller file in Pleo and export again.`,
      };
    case 'conversion':
      return {
        failureReasonType: 'receipt_conversion_failure',
        failureReason: `${which} has the unsupported format ${problem.contentType}${detail}. Replace it with a PDF, JPEG or PNG in Pleo and export again.`,
      };
    default: {
      const never: never = problem;
      throw new Error(`unknown receipt problem ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Checks a file's announced metadata before downloading it: size limit and accepted type.
 * Returns the problem, or `null` when the file may be downloaded. Run again on the real byte size.
 */
export function checkReceipt(
  file: { index: number; size: number; contentType: string },
  config: Pick<CompiledAccountingConfig, 'attachments'>,
): ReceiptProblem | null {
  if (file.size > config.attachments.maxBytes) {
    return { kind: 'too_large', index: file.index, size: file.size, maxBytes: config.attachments.maxBytes };
  }
  const type = normalizeContentType(file.contentType);
  const allowed = config.attachments.allowedTypes.some(
    (t) => normalizeContentType(t) === type || extensionForContentType(t) === extensionForContentType(type),
  );
  if (!allowed) return { kind: 'conversion', index: file.index, contentType: type };
  return null;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(Math.round((bytes / (1024 * 1024)) * 10) / 10).toString()} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024).toString()} KB`;
  return `${bytes.toString()} bytes`;
}
