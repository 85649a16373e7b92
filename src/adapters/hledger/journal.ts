/**
 * The journal file: open (lock, scan, repair a torn tail, index), append blocks durably, close.
 *
 * Durability and crash safety:
 * - Every block is appended with one positioned `write` at the known end of the file, then
 *   `fdatasync`; only then are the index and the caller updated ("booked").
 * - Several `append` calls arriving in the same tick are written together: one write and one sync
 *   for the batch (group commit).
 * - On open, a final block without a valid `# pleo-end:<id> <hash>` line (crash mid-write, or a
 *   write that never reached the disk) is cut off; its bytes are kept in `<journal>.torn-<time>`
 *   for inspection. A damaged block in the middle of the file stops the adapter with an error.
 * - The index (entry id → code, line) is rebuilt from the file on every open, so it is correct
 *   across restarts, re-exports and hand edits outside the blocks.
 */
import { constants } from 'node:fs';
import { mkdir, open, type FileHandle, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { AccountingSystemError } from '../../errors/index.js';
import { EntryIndex, type IndexedEntry } from './entry-index.js';
import { BEGIN, blockHash, END, JOURNAL_HEADER } from './format.js';
import { acquireLock, type JournalLock } from './lock.js';

export type { IndexedEntry } from './entry-index.js';

export interface FaultHooks {
  /** Called when the receipts a batch names are synced, before the batch is written. */
  receiptsSynced?: () => void;
  /** Called after the first half of a batch is written (simulates a torn write when it kills). */
  midWrite?: () => void;
  /** Called after the write, before fsync. */
  afterWrite?: () => void;
  /** Called after fsync, before the index and the caller learn about it. */
  afterSync?: () => void;
}

/** Mode of a journal pleo-export creates: owner read/write, group read, others nothing. */
export const JOURNAL_MODE = 0o640;

// Tags are read from the header's comment only (after its first ';'), never from the description:
// a description saying "pleo-entry:<another id>" must not mark that other entry as booked (issue 17).
const ENTRY_TAG = /(?:^|[\s,;])pleo-entry:([^,\s]+)/;
const CODE = /^\d{4}-\d{2}-\d{2}(?:=\S+)?\s+[*!]?\s*\(P(\d+)\)/;
const RECORDED = /(?:^|[\s,;])pleo-recorded:([^,\s]+)/;

/** The comment of a journal line (from its first ';'), or '' when it has none. */
function commentOf(line: string): string {
  const semicolon = line.indexOf(';');
  return semicolon === -1 ? '' : line.slice(semicolon);
}

export class JournalFile {
  readonly path: string;
  readonly declaredAccounts = new Set<string>();
  readonly declaredCommodities = new Set<string>();
  readonly index = new EntryIndex();
  /** Highest transaction number seen (codes are `P` + number). */
  lastNumber = 0;
  private size = 0;
  private lines = 0;
  private handle: FileHandle | undefined;
  private lock: JournalLock | undefined;
  private readonly hooks: FaultHooks;

  private constructor(path: string, hooks: FaultHooks) {
    this.path = path;
    this.hooks = hooks;
  }

  static async open(path: string, hooks: FaultHooks = {}): Promise<JournalFile> {
    const journal = new JournalFile(path, hooks);
    await mkdir(dirname(path), { recursive: true });
    journal.lock = await acquireLock(path);
    try {
      journal.handle = await open(path, constants.O_RDWR | constants.O_CREAT, JOURNAL_MODE);
      await journal.scan();
    } catch (error) {
      await journal.close();
      throw error;
    }
    return journal;
  }

  /**
   * Re-reads the file when its size is not what this writer left (someone appended by hand while
   * the adapter was open), so a positioned write never overwrites their text and the index and
   * declarations stay right. Called before every batch; costs one fstat.
   */
  async refreshIfChanged(): Promise<void> {
    const { size } = await this.requireHandle().stat();
    if (size === this.size) return;
    this.declaredAccounts.clear();
    this.declaredCommodities.clear();
    this.index.clear();
    this.lastNumber = 0;
    await this.scan();
  }

  /** Total lines in the file (it always ends with a newline after our writes). */
  get lineCount(): number {
    return this.lines;
  }

  private async scan(): Promise<void> {
    const handle = this.requireHandle();
    const buffer = await handle.readFile();
    if (buffer.length === 0) {
      // A journal we start is readable by its group (the books' readers), not by others, whatever
      // the umask (issue 17). A journal that exists keeps the mode its owner gave it.
      await handle.chmod(JOURNAL_MODE);
      const header = Buffer.from(JOURNAL_HEADER);
      await handle.write(header, 0, header.length, 0);
      await handle.sync();
      this.size = header.length;
      this.lines = countNewlines(header);
      return;
    }
    let open:
      | {
          id: string;
          start: number;
          accounts: string[];
          commodities: string[];
          entries: [string, IndexedEntry][];
          number: number;
        }
      | undefined;
    let lineNo = 0;
    let start = 0;
    let goodLines = 0;
    while (start < buffer.length) {
      const newline = buffer.indexOf(0x0a, start);
      const complete = newline !== -1;
      const end = complete ? newline : buffer.length;
      lineNo += 1;
      const text = buffer.toString('utf8', start, end).replace(/\r$/, '');
      if (text.startsWith(BEGIN)) {
        if (open) throw this.corrupt(lineNo, `block ${open.id} has no end marker before the next block`);
        open = {
          id: text.slice(BEGIN.length).trim(),
          start,
          accounts: [],
          commodities: [],
          entries: [],
          number: 0,
        };
      } else if (text.startsWith(END)) {
        const [id, hash] = text.slice(END.length).trim().split(/\s+/);
        const valid =
          open !== undefined &&
          complete &&
          id === open.id &&
          hash === blockHash(buffer.subarray(open.start, start));
        if (!valid || !open) {
          if (this.isTail(buffer, end)) break; // torn final block: repaired below
          throw this.corrupt(lineNo, `block ${open?.id ?? id ?? '?'} does not match its end marker`);
        }
        for (const a of open.accounts) this.declaredAccounts.add(a);
        for (const c of open.commodities) this.declaredCommodities.add(c);
        for (const [k, v] of open.entries) this.index.set(k, v);
        this.lastNumber = Math.max(this.lastNumber, open.number);
        open = undefined;
      } else {
        const target = open;
        const account = /^account\s+(.+?)(?:\s{2,}|\t|;|$)/.exec(text);
        const commodity =
          /^commodity\s+(?:[\d.,\s]+\s*)?([A-Za-z]{3})\b/.exec(text) ??
          /^commodity\s+([A-Za-z]{3})\b/.exec(text);
        if (account?.[1]) {
          const name = account[1].trim();
          if (target) target.accounts.push(name);
          else this.declaredAccounts.add(name);
        }
        if (commodity?.[1]) {
          if (target) target.commodities.push(commodity[1]);
          else this.declaredCommodities.add(commodity[1]);
        }
        const entry = ENTRY_TAG.exec(commentOf(text));
        const code = CODE.exec(text);
        if (code?.[1]) {
          const number = Number.parseInt(code[1], 10);
          if (target) target.number = Math.max(target.number, number);
          else this.lastNumber = Math.max(this.lastNumber, number);
        }
        if (entry?.[1] && /^\d{4}-\d{2}-\d{2}/.test(text)) {
          const indexed: IndexedEntry = {
            code: code?.[1] ? `P${code[1]}` : entry[1],
            line: lineNo,
            recordedAt: RECORDED.exec(commentOf(text))?.[1] ?? '',
          };
          if (target) target.entries.push([entry[1], indexed]);
          else this.index.set(entry[1], indexed);
        }
      }
      start = complete ? newline + 1 : buffer.length;
      if (!open) goodLines = lineNo;
    }
    if (open !== undefined) {
      const tornFrom = open.start;
      await this.repairTail(buffer, tornFrom);
      this.size = tornFrom;
      this.lines = countNewlines(buffer.subarray(0, tornFrom));
    } else {
      this.size = buffer.length;
      this.lines = goodLines;
      if (buffer[buffer.length - 1] !== 0x0a) {
        // A hand edit without a final newline: add one so our next block starts on its own line.
        await this.writeAt(Buffer.from('\n'), this.size);
        this.size += 1;
      }
    }
  }

  /** True when nothing but whitespace follows `end` (the damaged block is the last one). */
  private isTail(buffer: Buffer, end: number): boolean {
    return buffer.subarray(end).toString('utf8').trim() === '';
  }

  private async repairTail(buffer: Buffer, from: number): Promise<void> {
    const tail = buffer.subarray(from);
    if (tail.toString('utf8').trim() !== '') {
      await writeFile(`${this.path}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`, tail, {
        mode: JOURNAL_MODE,
      });
    }
    const handle = this.requireHandle();
    await handle.truncate(from);
    await handle.sync();
  }

  private corrupt(line: number, what: string): AccountingSystemError {
    return new AccountingSystemError(
      `The journal ${this.path} is damaged at line ${line}: ${what}. Fix the file by hand.`,
      {
        code: 'ACCOUNTING_UNUSABLE',
        retryable: false,
      },
    );
  }

  private requireHandle(): FileHandle {
    if (!this.handle)
      throw new AccountingSystemError(`The journal ${this.path} is closed`, {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
      });
    return this.handle;
  }

  private async writeAt(buffer: Buffer, position: number): Promise<void> {
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.requireHandle().write(
        buffer,
        offset,
        buffer.length - offset,
        position + offset,
      );
      offset += bytesWritten;
    }
  }

  /**
   * Appends `blocks` (already rendered, each a complete block) in one write and one sync. On
   * failure the file is cut back to its previous end and the error rethrown (retryable).
   * Returns the 1-based line number at which each block starts.
   */
  async appendBlocks(blocks: readonly string[]): Promise<number[]> {
    const buffers = blocks.map((b) => Buffer.from(b));
    const all = Buffer.concat(buffers);
    const startLines: number[] = [];
    let line = this.lines + 1;
    for (const b of buffers) {
      startLines.push(line);
      line += countNewlines(b);
    }
    const position = this.size;
    try {
      if (this.hooks.midWrite) {
        const half = Math.floor(all.length / 2);
        await this.writeAt(all.subarray(0, half), position);
        this.hooks.midWrite();
        await this.writeAt(all.subarray(half), position + half);
      } else {
        await this.writeAt(all, position);
      }
      this.hooks.afterWrite?.();
      await this.requireHandle().datasync();
      this.hooks.afterSync?.();
    } catch (error) {
      await this.requireHandle()
        .truncate(position)
        .catch(() => undefined);
      throw new AccountingSystemError(
        `Writing to the journal ${this.path} failed: ${(error as Error).message}`,
        {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
          cause: error,
        },
      );
    }
    this.size = position + all.length;
    this.lines = line - 1;
    return startLines;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    await this.lock?.release();
    this.lock = undefined;
  }
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  let index = buffer.indexOf(0x0a);
  while (index !== -1) {
    count += 1;
    index = buffer.indexOf(0x0a, index + 1);
  }
  return count;
}
