/**
 * Receipt files: how many an item has, their type and size, the opaque token in their URL,
 * and their bytes. Bytes are real, small documents (a one-page PDF or a 16×16 PNG) padded
 * to the exact size announced in `files[].size`; they are generated on demand from
 * (job, index, fileIndex), so nothing is stored.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { components } from '../../generated/export-v3.js';
import { base32, Kind } from './ids.js';
import type { ExportItemType, JobContext } from './job.js';
import { checkIndex, entryIdAt, failureAt, jobContext, reconciliationIdAt, rngFor, typeAt } from './job.js';
import type { JobSpec } from './job.js';
import { hashString } from './prng.js';
import type { Rng } from './prng.js';
import { TYPE_RULES } from './type-rules.js';

type ExportItemFile = NonNullable<components['schemas']['ExportItemFile']>;

/** Type, size and file name of one receipt. */
export interface FileMeta {
  readonly type: 'application/pdf' | 'image/png';
  readonly size: number;
  readonly name: string;
}

/** What a file token decodes to. */
export interface FileToken {
  readonly jobKey: string;
  readonly index: number;
  readonly fileIndex: number;
}

/** Number of receipts of item `index`, or null when the type never has receipts (`files: null`). */
export function fileCountAt(ctx: JobContext, index: number, type: ExportItemType): number | null {
  const weights = TYPE_RULES[type].receipts;
  if (weights === null) return null;
  return rngFor(ctx, index, Kind.fileList).weighted(weights.map((w, n) => [n, w] as const));
}

/** Type, size and name of receipt `fileIndex` of item `index`. */
export function fileMetaAt(ctx: JobContext, index: number, fileIndex: number): FileMeta {
  const rng = rngFor(ctx, index, Kind.file, fileIndex);
  const pdf = rng.chance(0.65);
  const base = `receipt-${reconciliationIdAt(ctx, index)}-${String(fileIndex + 1)}`;
  return pdf
    ? { type: 'application/pdf', size: rng.range(1800, 6000), name: `${base}.pdf` }
    : { type: 'image/png', size: rng.range(1200, 4000), name: `${base}.png` };
}

function checksum(payload: string): string {
  return base32([hashString(payload, 0x7e11), hashString(payload, 0x0b5c)], 8);
}

/** The opaque token naming a file: base64url(index.fileIndex.jobKey) + '.' + checksum. */
export function fileToken(jobKey: string, index: number, fileIndex: number): string {
  const payload = `${String(index)}.${String(fileIndex)}.${jobKey}`;
  return `${Buffer.from(payload, 'utf8').toString('base64url')}.${checksum(payload)}`;
}

/**
 * Decodes a token from a file URL (`…/files/<token>`); null when it is malformed or was
 * tampered with. The server still has to check that the job exists and the index and file
 * index are in range (`fileContentAt` throws RangeError otherwise).
 *
 * @example
 * parseFileToken(new URL(item.files[0].url).pathname.split('/').pop()!);
 * // { jobKey: 'job-1', index: 7, fileIndex: 0 }
 */
export function parseFileToken(token: string): FileToken | null {
  const dot = token.lastIndexOf('.');
  if (dot <= 0) return null;
  const encoded = token.slice(0, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  const payload = Buffer.from(encoded, 'base64url').toString('utf8');
  if (Buffer.from(payload, 'utf8').toString('base64url') !== encoded) return null;
  if (checksum(payload) !== token.slice(dot + 1)) return null;
  const match = /^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.([\s\S]*)$/.exec(payload);
  if (match === null) return null;
  const [, index, fileIndex, jobKey] = match;
  if (index === undefined || fileIndex === undefined || jobKey === undefined) return null;
  return { jobKey, index: Number(index), fileIndex: Number(fileIndex) };
}

/** The `files` array of an item (URLs under `${fileBaseUrl}/files/`). */
export function filesOf(
  ctx: JobContext,
  index: number,
  type: ExportItemType,
  fileBaseUrl: string,
): ExportItemFile[] | null {
  const count = fileCountAt(ctx, index, type);
  if (count === null) return null;
  const files: ExportItemFile[] = [];
  for (let f = 0; f < count; f++) {
    const meta = fileMetaAt(ctx, index, f);
    files.push({
      size: meta.size,
      type: meta.type,
      url: `${fileBaseUrl}/files/${fileToken(ctx.job.jobKey, index, f)}`,
    });
  }
  return files;
}

function filler(rng: Rng, length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)] ?? ' ';
  return out;
}

/** Comment lines of exactly `length` bytes (a lone newline is valid PDF whitespace). */
function pdfPadding(rng: Rng, length: number): string {
  let out = '';
  let left = length;
  while (left > 0) {
    if (left === 1) {
      out += '\n';
      left = 0;
    } else {
      const n = Math.min(left, 78);
      out += `%${filler(rng, n - 2)}\n`;
      left -= n;
    }
  }
  return out;
}

function buildPdf(lines: readonly string[], padding: string): string {
  const text = lines.map((l, i) => `${i === 0 ? '' : '0 -16 Td '}(${l}) Tj`).join('\n');
  const stream = `BT /F1 11 Tf 24 370 Td\n${text}\nET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${String(stream.length)} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = `%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n${padding}`;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${String(i + 1)} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${String(objects.length + 1)}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${String(objects.length + 1)} /Root 1 0 R >>\nstartxref\n${String(xref)}\n%%EOF\n`;
  return out;
}

function pdfBytes(rng: Rng, lines: readonly string[], size: number): Buffer {
  let pad = Math.max(0, size - buildPdf(lines, '').length);
  for (let attempt = 0; attempt < 5; attempt++) {
    const pdf = buildPdf(lines, pdfPadding(rng, pad));
    if (pdf.length === size) return Buffer.from(pdf, 'latin1');
    pad += size - pdf.length;
  }
  throw new Error(`could not pad the PDF to ${String(size)} bytes`);
}

const CRC_TABLE: readonly number[] = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A 16×16 grey-scale PNG with a `tEXt` comment sized so the file is exactly `size` bytes. */
function pngBytes(rng: Rng, caption: string, size: number): Buffer {
  const side = 16;
  const raw = Buffer.alloc(side * (side + 1));
  for (let y = 0; y < side; y++) {
    raw[y * (side + 1)] = 0;
    for (let x = 0; x < side; x++) raw[y * (side + 1) + 1 + x] = 200 + rng.int(56);
  }
  // zlib stream with one stored (uncompressed) block, so the bytes never depend on zlib.
  let a = 1;
  let b = 0;
  for (const v of raw) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  const zhead = Buffer.from([
    0x78,
    0x01,
    0x01,
    raw.length & 0xff,
    raw.length >>> 8,
    ~raw.length & 0xff,
    (~raw.length >>> 8) & 0xff,
  ]);
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0, 0);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const fixed = signature.length + chunk('IHDR', ihdr).length + 12 + zhead.length + raw.length + 4 + 12;
  const textLength = size - fixed - 12 - 'Comment'.length - 1;
  const text = (caption + ' ' + filler(rng, Math.max(0, textLength))).slice(0, Math.max(0, textLength));
  const png = Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from(`Comment\u0000${text}`, 'latin1')),
    chunk('IDAT', Buffer.concat([zhead, raw, adler])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  if (png.length !== size) throw new Error(`PNG is ${String(png.length)} bytes, wanted ${String(size)}`);
  return png;
}

/**
 * The bytes a receipt URL serves. `bytes.length` equals the `size` announced in the item's
 * `files[fileIndex]`.
 *
 * @throws RangeError when `index` is not an item of the job or the item has no such file.
 * @example
 * const { bytes, type, name } = fileContentAt(job, 7, 0); // e.g. 3187 bytes, 'application/pdf'
 */
export function fileContentAt(
  job: JobSpec,
  index: number,
  fileIndex: number,
): { bytes: Buffer; type: string; name: string } {
  checkIndex(job, index);
  const ctx = jobContext(job);
  const type = typeAt(ctx, index, failureAt(ctx, index));
  const count = fileCountAt(ctx, index, type) ?? 0;
  if (!Number.isInteger(fileIndex) || fileIndex < 0 || fileIndex >= count) {
    throw new RangeError(`item ${String(index)} has no file ${String(fileIndex)} (it has ${String(count)})`);
  }
  const meta = fileMetaAt(ctx, index, fileIndex);
  const rng = rngFor(ctx, index, Kind.file, 1000 + fileIndex);
  const lines = [
    'Pleo receipt (simulated)',
    `Entry ${entryIdAt(ctx.entryKey, index)}`,
    `Book ID ${reconciliationIdAt(ctx, index)}`,
    `Type ${type}`,
    `Page ${String(fileIndex + 1)} of ${String(count)}`,
  ];
  const bytes =
    meta.type === 'application/pdf'
      ? pdfBytes(rng, lines, meta.size)
      : pngBytes(rng, lines.join(' | '), meta.size);
  return { bytes, type: meta.type, name: meta.name };
}
