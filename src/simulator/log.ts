/** The request log the admin API exposes: a bounded ring of recent requests plus counters. */

export interface RequestLogEntry {
  seq: number;
  /** Simulator-clock time the request arrived. */
  at: string;
  method: string;
  /** Path and query as received. */
  url: string;
  operation: string;
  /** `null` when no answer was sent (drop / ambiguous faults). */
  status: number | null;
  companyId?: string;
  /** Injected fault, e.g. `status:503`, `drop`, `ambiguous`, `slow`. */
  fault?: string;
  /** Error `type` (or OAuth `error`) of a 4xx/5xx answer. */
  errorType?: string;
  durationMs: number;
}

export interface RequestCounters {
  total: number;
  byOperation: Record<string, number>;
  /** Answers with status >= 400 produced by the simulator's rules (not by injected faults), by error type. */
  rejectedByReason: Record<string, number>;
  /** Injected faults by kind. */
  faults: Record<string, number>;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export class RequestLog {
  readonly #ring: RequestLogEntry[] = [];
  #start = 0;
  #seq = 0;
  readonly counters: RequestCounters = { total: 0, byOperation: {}, rejectedByReason: {}, faults: {} };
  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  record(entry: RequestLogEntry): void {
    const c = this.counters;
    c.total++;
    bump(c.byOperation, entry.operation);
    if (entry.fault) bump(c.faults, entry.fault);
    else if (entry.errorType && entry.status !== null && entry.status >= 400)
      bump(c.rejectedByReason, entry.errorType);
    if (this.capacity <= 0) return;
    if (this.#ring.length < this.capacity) this.#ring.push(entry);
    else {
      this.#ring[this.#start] = entry;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  entries(): RequestLogEntry[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }
}
