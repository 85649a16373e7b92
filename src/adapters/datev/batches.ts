/**
 * The batch files of one output directory and their manifest.
 *
 * State machine of a batch file:
 *   `EXTF_Pleo_….csv.part` (open: this session appends to it) ─seal─► `EXTF_Pleo_….csv` (final)
 * - A file is created complete (header + column line: written to a temp file, synced, renamed)
 *   and listed in the manifest before any row is appended, so it is always a valid batch.
 * - An entry's rows are appended in one write and synced (`fdatasync`) before `record` returns.
 *   Each row carries the entry id and its number ("2/3") in Beleginfo, so a torn tail (a crash in
 *   the middle of a write) is recognised and cut off on the next open.
 * - Open files are sealed (manifest updated first, then renamed to `.csv`) when a record for
 *   another job arrives, when `validate` runs (the engine calls it when a job starts) and on
 *   close; leftovers of a crashed session are repaired and sealed on open. A final file never
 *   changes again, so an accountant can import it at any time; a `.part` file is never to be
 *   imported.
 * - The manifest (`pleo-datev-manifest.json`, written atomically: temp, fsync, rename, fsync dir)
 *   lists every file and the entry ids it holds. Files on disk that it does not list (or lists as
 *   open) are scanned on open, so a crash between a write and a manifest update is reconciled. Its
 *   entry lists keep the ids of files that were moved away after import, so a re-export never
 *   books them again.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';

import { AccountingSystemError } from '../../errors/index.js';
import { COL } from './columns.js';
import { decodeCp1252, encodeCp1252 } from './cp1252.js';
import { columnLine, headerLine, LINE_END, type BatchHeader } from './format.js';
import { lockDirectory, type DirLock } from './lock.js';
import { parseLine } from './validate.js';

export const MANIFEST_NAME = 'pleo-datev-manifest.json';
const FILE_PATTERN = /^EXTF_Pleo_[A-Za-z0-9_-]+\.csv(\.part)?$/;

export interface ManifestFile {
  /** Final name (`EXTF_Pleo_….csv`); while open the file on disk is `<name>.part`. */
  name: string;
  status: 'open' | 'final';
  group: string;
  jobId: string;
  header: BatchHeader;
  /** [accountingEntryId, line of its first row] in file order. */
  entries: [string, number][];
}

export interface Manifest {
  version: 1;
  format: 'EXTF 700 / 21 Buchungsstapel / 13';
  nextNumber: number;
  files: ManifestFile[];
}

export interface Located {
  name: string;
  line: number;
}

/** Test-only crash points on the write path. */
export interface FaultHooks {
  /** After half of an entry's bytes were written, before the rest. */
  midWrite?: () => void;
  /** After the rows were written and synced, before the caller learns about it. */
  afterSync?: () => void;
  /** After the manifest lists a sealed file as final, before the rename. */
  beforeSealRename?: () => void;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
async function writeAtomic(dir: string, path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${String(process.pid)}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await syncDir(dir);
}

/** A file-system fault: retried later with the same key (the engine's transient course). */
function unreachable(message: string, cause: unknown): AccountingSystemError {
  return new AccountingSystemError(message, { code: 'ACCOUNTING_UNREACHABLE', retryable: true, cause });
}

interface ScannedEntry {
  id: string;
  line: number;
}

/**
 * Reads a batch file's complete entries. `keepBytes` is where the file must be cut so that only
 * complete entries remain (a torn last write is dropped).
 */
export function scanBatch(bytes: Uint8Array): { entries: ScannedEntry[]; keepBytes: number } {
  const text = decodeCp1252(bytes);
  const entries: ScannedEntry[] = [];
  let offset = 0;
  let lineNo = 0;
  let keepBytes = 0;
  let current: { id: string; line: number; seen: number; total: number } | undefined;
  while (offset < text.length) {
    const end = text.indexOf(LINE_END, offset);
    if (end === -1) break; // torn: no line end
    const line = text.slice(offset, end);
    offset = end + LINE_END.length;
    lineNo += 1;
    if (lineNo <= 2) {
      keepBytes = offset;
      continue;
    }
    const fields = parseLine(line);
    const id = fields?.[COL.beleginfoArt1]?.value; // Beleginfo - Inhalt 1
    const position = /^(\d+)\/(\d+)$/.exec(fields?.[COL.beleginfoArt1 + 2]?.value ?? ''); // Inhalt 2
    if (!fields || !id || !position) break; // not one of ours or damaged: cut here
    const n = Number(position[1]);
    const total = Number(position[2]);
    if (n === 1) current = { id, line: lineNo, seen: 1, total };
    else if (!current || current.id !== id || current.seen + 1 !== n || current.total !== total) break;
    else current.seen = n;
    if (current.seen === current.total) {
      entries.push({ id: current.id, line: current.line });
      keepBytes = offset; // CP1252: one byte per character
      current = undefined;
    }
  }
  return { entries, keepBytes };
}

export class BatchDirectory {
  manifest: Manifest = { version: 1, format: 'EXTF 700 / 21 Buchungsstapel / 13', nextNumber: 1, files: [] };
  readonly index = new Map<string, Located>();
  /** Open files of this session by group. */
  private readonly open = new Map<string, ManifestFile>();
  private lock: DirLock | undefined;
  /** Entries whose file is listed under two names (never written by us; reported by `check`). */
  readonly duplicates: string[] = [];
  /** What the last open repaired (torn tails cut, files adopted), for the logs. */
  readonly repairs: string[] = [];

  readonly dir: string;
  private readonly hooks: FaultHooks;

  private constructor(dir: string, hooks: FaultHooks) {
    this.dir = dir;
    this.hooks = hooks;
  }

  static async open(dir: string, hooks: FaultHooks = {}): Promise<BatchDirectory> {
    await mkdir(dir, { recursive: true });
    const batches = new BatchDirectory(dir, hooks);
    batches.lock = await lockDirectory(dir);
    try {
      await batches.load();
    } catch (error) {
      await batches.lock.release();
      throw error;
    }
    return batches;
  }

  private async load(): Promise<void> {
    const manifestPath = join(this.dir, MANIFEST_NAME);
    let raw: string | undefined;
    try {
      raw = await readFile(manifestPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (raw !== undefined) {
      try {
        const parsed = JSON.parse(raw) as Manifest;
        if (parsed.version !== 1 || !Array.isArray(parsed.files)) throw new Error('unknown manifest version');
        this.manifest = parsed;
      } catch (error) {
        throw new AccountingSystemError(
          `The DATEV manifest ${manifestPath} cannot be read (${(error as Error).message}). It lists every entry ever written; restore it from a backup (deleting it rebuilds it from the batch files still in ${this.dir}, forgetting files moved away).`,
          { code: 'ACCOUNTING_UNUSABLE', retryable: false },
        );
      }
    }
    const onDisk = (await readdir(this.dir)).filter((f) => FILE_PATTERN.test(f));
    // Leftover temp files of an interrupted atomic write.
    for (const f of await readdir(this.dir)) {
      if (/\.tmp-\d+$/.test(f)) await rm(join(this.dir, f), { force: true });
    }
    let changed = false;
    const byName = new Map(this.manifest.files.map((f) => [f.name, f]));
    for (const fileName of onDisk) {
      const name = fileName.replace(/\.part$/, '');
      const listed = byName.get(name);
      const part = fileName.endsWith('.part');
      if (listed && listed.status === 'final' && !part) continue;
      if (!part && onDisk.includes(`${name}.part`)) continue; // handled with the .part
      const path = join(this.dir, fileName);
      const bytes = await readFile(path);
      const { entries, keepBytes } = scanBatch(bytes);
      // Only an open file of ours is cut back; a final file (adopted because the manifest did not
      // list it) may have been handed over or edited, and is never changed.
      if (part && keepBytes < bytes.length) {
        await truncate(path, keepBytes);
        const handle = await open(path, 'r+');
        await handle.sync().finally(() => handle.close());
        this.repairs.push(
          `${fileName}: cut ${String(bytes.length - keepBytes)} bytes of an interrupted write`,
        );
      }
      const file: ManifestFile = listed ?? {
        name,
        status: 'open',
        group: '',
        jobId: '',
        header: headerOf(bytes),
        entries: [],
      };
      if (!listed) {
        this.manifest.files.push(file);
        byName.set(name, file);
        this.repairs.push(`${fileName}: not in the manifest; adopted`);
      }
      file.entries = entries.map((e) => [e.id, e.line]);
      const number = /^EXTF_Pleo_(\d+)_/.exec(name);
      if (number) this.manifest.nextNumber = Math.max(this.manifest.nextNumber, Number(number[1]) + 1);
      if (part) {
        if (entries.length === 0) {
          // Created but never written to: nothing to seal.
          await rm(path, { force: true });
          this.manifest.files = this.manifest.files.filter((f) => f !== file);
          byName.delete(name);
        } else file.status = 'open';
      }
      changed = true;
    }
    // Files listed as open whose .part is gone were sealed (renamed) before the manifest said so,
    // or removed by hand: either way they never grow again, and their entries stay booked.
    for (const f of this.manifest.files) {
      if (f.status === 'open' && !onDisk.includes(`${f.name}.part`)) {
        f.status = 'final';
        changed = true;
      }
    }
    this.manifest.files = this.manifest.files.filter((f) => f.status === 'open' || f.entries.length > 0);
    for (const f of this.manifest.files) {
      for (const [id, line] of f.entries) {
        const seen = this.index.get(id);
        if (seen && seen.name !== f.name) this.duplicates.push(`${id} in ${seen.name} and ${f.name}`);
        else this.index.set(id, { name: f.name, line });
      }
    }
    if (changed) await this.saveManifest();
    // A previous session's open files are sealed now: they will not grow again.
    for (const f of this.manifest.files.filter((x) => x.status === 'open')) await this.sealFile(f);
  }

  async saveManifest(): Promise<void> {
    await writeAtomic(this.dir, join(this.dir, MANIFEST_NAME), `${JSON.stringify(this.manifest)}\n`);
  }

  /** The open file for a group, created (valid and listed in the manifest) when missing. */
  async fileFor(group: string, jobId: string, header: BatchHeader, label: string): Promise<ManifestFile> {
    const existing = this.open.get(group);
    if (existing) return existing;
    const number = this.manifest.nextNumber;
    const name = `EXTF_Pleo_${String(number).padStart(6, '0')}_${label}.csv`;
    const file: ManifestFile = { name, status: 'open', group, jobId, header, entries: [] };
    await writeAtomic(
      this.dir,
      join(this.dir, `${name}.part`),
      encodeCp1252(`${headerLine(header)}${LINE_END}${columnLine()}${LINE_END}`),
    );
    this.manifest.nextNumber = number + 1;
    this.manifest.files.push(file);
    await this.saveManifest();
    this.open.set(group, file);
    return file;
  }

  /**
   * Appends one entry's lines to an open file (one write, then fdatasync). Returns the first line.
   * A failed write (disk full, I/O error) is cut off again before the error is thrown, so the file
   * stays a valid batch; if even that fails the directory is marked broken and must be reopened
   * (which repairs the tail).
   */
  async append(file: ManifestFile, entryId: string, lines: readonly string[]): Promise<number> {
    if (this.broken) throw this.broken;
    const bytes = encodeCp1252(lines.map((l) => `${l}${LINE_END}`).join(''));
    const path = join(this.dir, `${file.name}.part`);
    const size = this.sizes.get(file.name) ?? (await stat(path)).size;
    try {
      await this.write(path, bytes);
    } catch (error) {
      try {
        await truncate(path, size);
      } catch {
        this.broken = unreachable(
          `${path} could not be repaired after a failed write; reopen to repair it`,
          error,
        );
      }
      throw unreachable(`Writing ${path} failed: ${(error as Error).message}`, error);
    }
    this.sizes.set(file.name, size + bytes.length);
    const firstLine = (this.lineCounts.get(file.name) ?? 2) + 1;
    file.entries.push([entryId, firstLine]);
    this.index.set(entryId, { name: file.name, line: firstLine });
    this.lineCounts.set(file.name, firstLine - 1 + lines.length);
    this.hooks.afterSync?.();
    return firstLine;
  }

  /** Set when a failed write could not be undone: no further write in this session. */
  private broken: Error | undefined;
  /** Byte size of each file opened by this session. */
  private readonly sizes = new Map<string, number>();

  private async write(path: string, bytes: Uint8Array): Promise<void> {
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND);
    try {
      if (this.hooks.midWrite) {
        const half = Math.max(1, Math.floor(bytes.length / 2));
        await handle.write(bytes.subarray(0, half));
        await handle.datasync();
        this.hooks.midWrite();
        await handle.write(bytes.subarray(half));
      } else await handle.write(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  /** Lines in each file opened by this session (header and column line included). */
  private readonly lineCounts = new Map<string, number>();

  /** Seals every open file of this session. */
  async sealAll(): Promise<void> {
    for (const file of [...this.open.values()]) await this.sealFile(file);
    this.open.clear();
  }

  get openJob(): string | undefined {
    return [...this.open.values()][0]?.jobId;
  }

  private async sealFile(file: ManifestFile): Promise<void> {
    this.open.delete(file.group);
    if (file.entries.length === 0) {
      await rm(join(this.dir, `${file.name}.part`), { force: true });
      this.manifest.files = this.manifest.files.filter((f) => f !== file);
      await this.saveManifest();
      return;
    }
    file.status = 'final';
    await this.saveManifest();
    this.hooks.beforeSealRename?.();
    await rename(join(this.dir, `${file.name}.part`), join(this.dir, file.name));
    await syncDir(this.dir);
  }

  async close(): Promise<void> {
    try {
      await this.sealAll();
    } finally {
      await this.lock?.release();
      this.lock = undefined;
    }
  }
}

/** The header of an adopted file (one the manifest did not list), read back from its first line. */
function headerOf(bytes: Uint8Array): BatchHeader {
  const text = decodeCp1252(bytes.subarray(0, Math.min(bytes.length, 4096)));
  const f = parseLine(text.slice(0, Math.max(0, text.indexOf(LINE_END)))) ?? [];
  const v = (n: number): string => f[n - 1]?.value ?? '';
  const iso = (s: string): string => `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
  return {
    createdAt: v(6),
    consultantNumber: Number(v(11)),
    clientNumber: Number(v(12)),
    fiscalYearStart: iso(v(13)),
    accountLength: Number(v(14)),
    dateFrom: iso(v(15)),
    dateTo: iso(v(16)),
    description: v(17),
    dictationInitials: v(18),
    currency: v(22),
    chart: v(27),
  };
}
