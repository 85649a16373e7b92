/**
 * Per-job item state, kept compact so a job of 1,000,000 items costs a few megabytes:
 *
 * - status: one byte per item (`Uint8Array`), update counts: `Uint32Array`;
 * - the optional fields an update may set (externalId, externalUrl, failureReason,
 *   failureReasonType, exportedAt) live in sparse Maps keyed by item index;
 * - the status history is an append-only columnar log ({@link StatusHistory}) capped at
 *   `historyLimit` entries per job (later changes are counted in `dropped`, not stored);
 * - accountingEntryId → index: generated jobs use an {@link EntryIndex} (open addressing over
 *   a hash of the id, built on the first PUT: 4 bytes × the next power of two ≥ 2n, i.e. 8 MB
 *   for 1M items, instead of ~120 MB for a `Map<string, number>`); jobs created through the API
 *   with explicit ids use a plain Map, as their ids are held in memory anyway.
 */
import type { components } from '../generated/export-v3.js';
import { iso } from './clock.js';

type ExportJobItemV3 = components['schemas']['ExportJobItemV3'];
export type ItemStatus = components['schemas']['ExportJobItemStatus'];
export type ItemFailureReasonType = components['schemas']['ExportJobItemFailureReasonType'];

export const ITEM_STATUSES: readonly ItemStatus[] = [
  'pending',
  'in_progress',
  'failed',
  'successful',
  'abandoned',
];
const CODE: Readonly<Record<ItemStatus, number>> = {
  pending: 0,
  in_progress: 1,
  failed: 2,
  successful: 3,
  abandoned: 4,
};
export function statusCode(s: ItemStatus): number {
  return CODE[s];
}

/** What changed an item's status. */
export type ChangeSource = 'update' | 'job_final' | 'expiry';
const SOURCES: readonly ChangeSource[] = ['update', 'job_final', 'expiry'];

export interface StatusChange {
  status: ItemStatus;
  at: string;
  source: ChangeSource;
}

/** Columnar, capped, append-only log of item status changes. */
export class StatusHistory {
  #index = new Uint32Array(0);
  #status = new Uint8Array(0);
  #source = new Uint8Array(0);
  #at = new Float64Array(0);
  length = 0;
  dropped = 0;
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  append(index: number, status: number, at: number, source: ChangeSource): void {
    if (this.length >= this.limit) {
      this.dropped++;
      return;
    }
    if (this.length === this.#index.length) this.#grow();
    const n = this.length++;
    this.#index[n] = index;
    this.#status[n] = status;
    this.#source[n] = SOURCES.indexOf(source);
    this.#at[n] = at;
  }

  #grow(): void {
    const cap = Math.min(this.limit, Math.max(64, this.#index.length * 2));
    const grow = <T extends Uint32Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old);
      return next;
    };
    this.#index = grow(this.#index, (n) => new Uint32Array(n));
    this.#status = grow(this.#status, (n) => new Uint8Array(n));
    this.#source = grow(this.#source, (n) => new Uint8Array(n));
    this.#at = grow(this.#at, (n) => new Float64Array(n));
  }

  /** Every recorded change grouped by item index, oldest first (one pass over the log). */
  byItem(): Map<number, StatusChange[]> {
    const out = new Map<number, StatusChange[]>();
    for (let n = 0; n < this.length; n++) {
      const index = this.#index[n]!;
      let list = out.get(index);
      if (!list) out.set(index, (list = []));
      list.push({
        status: ITEM_STATUSES[this.#status[n]!]!,
        at: iso(this.#at[n]!),
        source: SOURCES[this.#source[n]!]!,
      });
    }
    return out;
  }

  /** The changes of one item, oldest first (a scan of the log). */
  forItem(index: number): StatusChange[] {
    const out: StatusChange[] = [];
    for (let n = 0; n < this.length; n++) {
      if (this.#index[n] === index) {
        out.push({
          status: ITEM_STATUSES[this.#status[n]!]!,
          at: iso(this.#at[n]!),
          source: SOURCES[this.#source[n]!]!,
        });
      }
    }
    return out;
  }
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** accountingEntryId → index without holding the ids: slots store index + 1, verified on lookup. */
export class EntryIndex {
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #idAt: (index: number) => string;
  constructor(count: number, idAt: (index: number) => string) {
    this.#idAt = idAt;
    let size = 16;
    while (size < count * 2) size *= 2;
    this.#slots = new Int32Array(size);
    this.#mask = size - 1;
    for (let i = 0; i < count; i++) {
      let s = fnv1a(idAt(i).toLowerCase()) & this.#mask;
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
      this.#slots[s] = i + 1;
    }
  }
  lookup(id: string): number {
    const key = id.toLowerCase();
    let s = fnv1a(key) & this.#mask;
    for (;;) {
      const v = this.#slots[s]!;
      if (v === 0) return -1;
      if (this.#idAt(v - 1).toLowerCase() === key) return v - 1;
      s = (s + 1) & this.#mask;
    }
  }
}

/** One accepted item update (the optional fields replace the previous ones). */
export interface ItemUpdate {
  status: ItemStatus;
  exportedAt?: number;
  externalId?: string;
  externalUrl?: string;
  failureReason?: string;
  failureReasonType?: ItemFailureReasonType;
}

export class ItemTable {
  readonly status: Uint8Array;
  readonly updates: Uint32Array;
  /** Items per status code. */
  readonly statusCounts = [0, 0, 0, 0, 0];
  readonly history: StatusHistory;
  readonly #externalId = new Map<number, string>();
  readonly #externalUrl = new Map<number, string>();
  readonly #failureReason = new Map<number, string>();
  readonly #failureReasonType = new Map<number, ItemFailureReasonType>();
  readonly #exportedAt = new Map<number, number>();
  #index: EntryIndex | Map<string, number> | undefined;
  readonly count: number;
  readonly #idAt: (index: number) => string;

  constructor(
    count: number,
    idAt: (index: number) => string,
    historyLimit: number,
    explicitIds?: readonly string[],
  ) {
    this.count = count;
    this.#idAt = idAt;
    this.status = new Uint8Array(count);
    this.updates = new Uint32Array(count);
    this.statusCounts[0] = count;
    this.history = new StatusHistory(historyLimit);
    if (explicitIds) this.#index = new Map(explicitIds.map((id, i) => [id.toLowerCase(), i]));
  }

  entryId(index: number): string {
    return this.#idAt(index);
  }

  /** Index of an accounting entry in this job, or -1. Builds the lookup on first use. */
  indexOf(accountingEntryId: string): number {
    this.#index ??= new EntryIndex(this.count, this.#idAt);
    return this.#index instanceof Map
      ? (this.#index.get(accountingEntryId.toLowerCase()) ?? -1)
      : this.#index.lookup(accountingEntryId);
  }

  statusOf(index: number): ItemStatus {
    return ITEM_STATUSES[this.status[index]!]!;
  }

  countOf(status: ItemStatus): number {
    return this.statusCounts[CODE[status]]!;
  }

  #setStatus(index: number, code: number, at: number, source: ChangeSource): void {
    const old = this.status[index]!;
    if (old !== code) {
      this.statusCounts[old]!--;
      this.statusCounts[code]!++;
      this.status[index] = code;
    }
    this.history.append(index, code, at, source);
  }

  apply(index: number, u: ItemUpdate, now: number): void {
    this.updates[index]!++;
    const setOrDelete = <V>(map: Map<number, V>, value: V | undefined): void => {
      if (value === undefined) map.delete(index);
      else map.set(index, value);
    };
    setOrDelete(this.#externalId, u.externalId);
    setOrDelete(this.#externalUrl, u.externalUrl);
    setOrDelete(this.#failureReason, u.failureReason);
    setOrDelete(this.#failureReasonType, u.failureReasonType);
    setOrDelete(this.#exportedAt, u.exportedAt ?? (u.status === 'successful' ? now : undefined));
    this.#setStatus(index, CODE[u.status], now, 'update');
  }

  /** Marks every `pending` / `in_progress` item `abandoned`; returns how many changed. */
  abandonUnfinished(now: number, source: ChangeSource): number {
    if (this.statusCounts[0] === 0 && this.statusCounts[1] === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const s = this.status[i]!;
      if (s === 0 || s === 1) {
        this.#setStatus(i, CODE.abandoned, now, source);
        n++;
      }
    }
    return n;
  }

  toJson(index: number, exportJobId: string): ExportJobItemV3 {
    const exportedAt = this.#exportedAt.get(index);
    const item: ExportJobItemV3 = {
      accountingEntryId: this.#idAt(index),
      exportJobId,
      status: this.statusOf(index),
      exportedAt: exportedAt === undefined ? null : iso(exportedAt),
      externalId: this.#externalId.get(index) ?? null,
      externalUrl: this.#externalUrl.get(index) ?? null,
      failureReason: this.#failureReason.get(index) ?? null,
    };
    // Not nullable in the spec (docs/decisions.md#s4): omitted when absent.
    const type = this.#failureReasonType.get(index);
    if (type !== undefined) item.failureReasonType = type;
    return item;
  }
}
