/**
 * The journal's index, entry id → (code, line, recordedAt), kept small because it holds every
 * entry of the journal (a million entries is one export of a large company). The heap per entry
 * is measured by the benchmark's microbenchmarks (`npm run bench`, BENCHMARKS.md):
 *
 * - a UUID key (Pleo's `accountingEntryId`) is kept as a 16-character one-byte string (its 128
 *   bits), any other key as itself, in a map of its own;
 * - the values live in typed arrays by row: the transaction number (codes are `P` + number,
 *   zero-padded to 6), the line, and the time in epoch milliseconds. A code or a time that does not
 *   round-trip through that form (a journal edited by hand) is kept as written, beside the row.
 */
import { packUuid } from '../../client/index.js';

export interface IndexedEntry {
  code: string;
  /** 1-based line of the transaction header. */
  line: number;
  recordedAt: string;
}

function codeOf(number: number): string {
  return `P${String(number).padStart(6, '0')}`;
}

export class EntryIndex {
  /** Packed UUID keys → row. */
  private readonly rows = new Map<string, number>();
  /** Any other key → row. */
  private readonly others = new Map<string, number>();
  private numbers = new Uint32Array(1024);
  private lines = new Uint32Array(1024);
  private times = new Float64Array(1024);
  /** Codes and times kept as written, by row, when they do not round-trip. */
  private readonly irregular = new Map<number, { code?: string; recordedAt?: string }>();
  private count = 0;

  get size(): number {
    return this.rows.size + this.others.size;
  }

  get(key: string): IndexedEntry | undefined {
    const packed = packUuid(key);
    const row = packed === null ? this.others.get(key) : this.rows.get(packed);
    if (row === undefined) return undefined;
    const kept = this.irregular.get(row);
    return {
      code: kept?.code ?? codeOf(this.numbers[row]!),
      line: this.lines[row]!,
      recordedAt: kept?.recordedAt ?? new Date(this.times[row]!).toISOString(),
    };
  }

  set(key: string, entry: IndexedEntry): void {
    const packed = packUuid(key);
    const map = packed === null ? this.others : this.rows;
    const mapKey = packed ?? key;
    let row = map.get(mapKey);
    if (row === undefined) {
      row = this.count++;
      if (row === this.numbers.length) this.grow();
      map.set(mapKey, row);
    }
    this.irregular.delete(row);
    const kept: { code?: string; recordedAt?: string } = {};
    const number = /^P\d{6,}$/.test(entry.code) ? Number(entry.code.slice(1)) : NaN;
    if (number < 2 ** 32 && codeOf(number) === entry.code) this.numbers[row] = number;
    else kept.code = entry.code;
    const time = Date.parse(entry.recordedAt);
    if (Number.isFinite(time) && new Date(time).toISOString() === entry.recordedAt) this.times[row] = time;
    else kept.recordedAt = entry.recordedAt;
    if (!Number.isInteger(entry.line) || entry.line < 0 || entry.line >= 2 ** 32)
      throw new RangeError(`journal line ${entry.line} out of range`);
    this.lines[row] = entry.line;
    if (kept.code !== undefined || kept.recordedAt !== undefined) this.irregular.set(row, kept);
  }

  clear(): void {
    this.rows.clear();
    this.others.clear();
    this.irregular.clear();
    this.count = 0;
  }

  private grow(): void {
    const size = this.numbers.length * 2;
    const numbers = new Uint32Array(size);
    numbers.set(this.numbers);
    const lines = new Uint32Array(size);
    lines.set(this.lines);
    const times = new Float64Array(size);
    times.set(this.times);
    this.numbers = numbers;
    this.lines = lines;
    this.times = times;
  }
}
