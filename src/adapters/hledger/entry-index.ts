/**
 * The journal's index, entry id → (code, line, recordedAt), kept small because it holds every
 * entry of the journal (a million entries is one export of a large company), and kept off the
 * JavaScript heap so that a large index does not let the heap grow with garbage (BENCHMARKS.md,
 * workload 4). The bytes per entry are measured by the benchmark's microbenchmarks (`npm run bench`):
 *
 * - a UUID key (Pleo's `accountingEntryId`) is numbered by a `UuidRows` (its 16 bytes in typed
 *   arrays), any other key is kept as itself, with its entry, in a map of its own;
 * - the values live in typed arrays by row: the transaction number (codes are `P` + number,
 *   zero-padded to 6), the line, and the time in epoch milliseconds. A code or a time that does not
 *   round-trip through that form (a journal edited by hand) is kept as written, beside the row.
 */
import { UuidRows } from '../../client/index.js';

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
  private readonly uuids = new UuidRows();
  /** Keys that are not lower-case UUIDs (hand-written journals), with their entries as written. */
  private readonly others = new Map<string, IndexedEntry>();
  private numbers = new Uint32Array(1024);
  private lines = new Uint32Array(1024);
  private times = new Float64Array(1024);
  /** Codes and times kept as written, by row, when they do not round-trip. */
  private readonly irregular = new Map<number, { code?: string; recordedAt?: string }>();

  get size(): number {
    return this.uuids.size + this.others.size;
  }

  get(key: string): IndexedEntry | undefined {
    const row = this.uuids.find(key);
    if (row === null) return this.others.get(key);
    if (row < 0) return undefined;
    const kept = this.irregular.get(row);
    return {
      code: kept?.code ?? codeOf(this.numbers[row]!),
      line: this.lines[row]!,
      recordedAt: kept?.recordedAt ?? new Date(this.times[row]!).toISOString(),
    };
  }

  set(key: string, entry: IndexedEntry): void {
    if (!Number.isInteger(entry.line) || entry.line < 0 || entry.line >= 2 ** 32)
      throw new RangeError(`journal line ${entry.line} out of range`);
    const row = this.uuids.insert(key);
    if (row === null) {
      this.others.set(key, { ...entry });
      return;
    }
    if (row === this.numbers.length) this.grow();
    this.irregular.delete(row);
    const kept: { code?: string; recordedAt?: string } = {};
    const number = /^P\d{6,}$/.test(entry.code) ? Number(entry.code.slice(1)) : NaN;
    if (number < 2 ** 32 && codeOf(number) === entry.code) this.numbers[row] = number;
    else kept.code = entry.code;
    const time = Date.parse(entry.recordedAt);
    if (Number.isFinite(time) && new Date(time).toISOString() === entry.recordedAt) this.times[row] = time;
    else kept.recordedAt = entry.recordedAt;
    this.lines[row] = entry.line;
    if (kept.code !== undefined || kept.recordedAt !== undefined) this.irregular.set(row, kept);
  }

  clear(): void {
    this.uuids.clear();
    this.others.clear();
    this.irregular.clear();
    this.numbers = new Uint32Array(1024);
    this.lines = new Uint32Array(1024);
    this.times = new Float64Array(1024);
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
