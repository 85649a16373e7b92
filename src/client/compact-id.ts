/**
 * Pleo's ids are lower-case UUIDs: 36 characters, 16 bytes of information. The structures that
 * hold every id of a large job (the pagination guard, the hledger journal's index) keep those 16
 * bytes in typed arrays, outside the JavaScript heap: a million ids then cost 24 MB that the
 * garbage collector never walks, instead of a million strings it must trace and that let the heap
 * grow (BENCHMARKS.md, workload 4).
 */

const DASH = 0x2d;

/** Value of a lower-case hex digit's character code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Reads a lower-case UUID into four 32-bit words (`out[0..3]`); false, `out` unspecified, for
 * anything else. Allocates nothing.
 */
export function uuidWords(id: string, out: Int32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const code = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (code !== DASH) return false;
      continue;
    }
    const value = hexValue(code);
    if (value < 0) return false;
    word = (word << 4) | value;
    digits += 1;
    if ((digits & 7) === 0) {
      out[(digits >>> 3) - 1] = word;
      word = 0;
    }
  }
  return true;
}

/** The words of the UUID being looked up: one lookup at a time, nothing allocated per call. */
const scratch = new Int32Array(4);

const INITIAL_ROWS = 1024;

/**
 * Numbers the UUIDs it is given 0, 1, 2… in order of first sight, and finds a UUID's number again:
 * an open-addressing hash table (linear probing, at most half full) over typed arrays. 16 bytes
 * per UUID for the key and 8 for the table, none of it on the JavaScript heap. Anything that is not
 * a lower-case UUID is refused (null), so callers keep such ids apart.
 */
export class UuidRows {
  /** Row r's UUID in words 4r..4r+3. */
  private keys = new Int32Array(4 * INITIAL_ROWS);
  /** Row + 1 per slot; 0 is an empty slot. Twice as many slots as rows. */
  private slots = new Int32Array(2 * INITIAL_ROWS);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The row of `id`; -1 when it has none yet; null when `id` is not a lower-case UUID. */
  find(id: string): number | null {
    if (!uuidWords(id, scratch)) return null;
    const slot = this.probe();
    const held = this.slots[slot]!;
    return held === 0 ? -1 : held - 1;
  }

  /**
   * The row of `id`, numbering it (the next row, `size - 1` afterwards) when it has none; null
   * when `id` is not a lower-case UUID.
   */
  insert(id: string): number | null {
    if (!uuidWords(id, scratch)) return null;
    let slot = this.probe();
    const held = this.slots[slot]!;
    if (held !== 0) return held - 1;
    const row = this.count;
    if (4 * (row + 1) > this.keys.length) {
      this.grow();
      slot = this.probe();
    }
    this.keys.set(scratch, 4 * row);
    this.slots[slot] = row + 1;
    this.count = row + 1;
    return row;
  }

  clear(): void {
    this.keys = new Int32Array(4 * INITIAL_ROWS);
    this.slots = new Int32Array(2 * INITIAL_ROWS);
    this.count = 0;
  }

  /** The slot holding the UUID in `scratch`, or the empty slot where it would go. */
  private probe(): number {
    const a = scratch[0]!;
    const b = scratch[1]!;
    const c = scratch[2]!;
    const d = scratch[3]!;
    const mask = this.slots.length - 1;
    let slot = mix(a, b, c, d) & mask;
    for (;;) {
      const held = this.slots[slot]!;
      if (held === 0) return slot;
      const k = 4 * (held - 1);
      if (this.keys[k] === a && this.keys[k + 1] === b && this.keys[k + 2] === c && this.keys[k + 3] === d)
        return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const keys = new Int32Array(this.keys.length * 2);
    keys.set(this.keys);
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let row = 0; row < this.count; row++) {
      const k = 4 * row;
      let slot = mix(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = row + 1;
    }
    this.keys = keys;
    this.slots = slots;
  }
}

/** A 32-bit hash of four words (not all UUIDs are random: tests and hand-made ids count up). */
function mix(a: number, b: number, c: number, d: number): number {
  let h =
    Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d) ^ Math.imul(d, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

/**
 * A set of ids that keeps UUIDs in a `UuidRows` (off the heap) and anything else in a `Set`, apart,
 * so the two forms never collide.
 */
export class IdSet {
  private readonly uuids = new UuidRows();
  private readonly others = new Set<string>();

  has(id: string): boolean {
    const row = this.uuids.find(id);
    return row === null ? this.others.has(id) : row >= 0;
  }

  /** Adds `id`; false when it was already there. */
  add(id: string): boolean {
    const before = this.uuids.size;
    const row = this.uuids.insert(id);
    if (row !== null) return this.uuids.size > before;
    if (this.others.has(id)) return false;
    this.others.add(id);
    return true;
  }

  clear(): void {
    this.uuids.clear();
    this.others.clear();
  }

  get size(): number {
    return this.uuids.size + this.others.size;
  }
}
