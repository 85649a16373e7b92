/**
 * Pleo's ids are lower-case UUIDs: 36 characters, 16 bytes of information. Sets and maps that hold
 * every id of a large job (the pagination guard, the hledger journal's index) key them by their 16
 * bytes, as one flat 16-character one-byte string: about half the heap of the id itself.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 16 bytes of a lower-case UUID as a 16-character string, or null for anything else. */
export function packUuid(id: string): string | null {
  if (id.length !== 36 || !UUID.test(id)) return null;
  const hex = id.replaceAll('-', '');
  const bytes = new Array<number>(16);
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  // One call makes one flat string; appending char by char would keep a chain of 16 cons strings.
  return String.fromCharCode(...bytes);
}

/**
 * A set of ids that keeps UUIDs packed (`packUuid`) and anything else as given, apart, so the two
 * forms never collide.
 */
export class IdSet {
  private readonly packed = new Set<string>();
  private readonly others = new Set<string>();

  has(id: string): boolean {
    const p = packUuid(id);
    return p === null ? this.others.has(id) : this.packed.has(p);
  }

  /** Adds `id`; false when it was already there (one packing for the check and the insert). */
  add(id: string): boolean {
    const p = packUuid(id);
    const set = p === null ? this.others : this.packed;
    const key = p ?? id;
    if (set.has(key)) return false;
    set.add(key);
    return true;
  }

  clear(): void {
    this.packed.clear();
    this.others.clear();
  }

  get size(): number {
    return this.packed.size + this.others.size;
  }
}
