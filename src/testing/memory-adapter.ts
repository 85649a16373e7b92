/**
 * An in-memory accounting system, for tests and examples. It honours the adapter contract
 * (idempotent `record` by key, `findExisting`; a write once started completes whatever its
 * signal, so a graceful drain finishes the in-flight entry), counts every call, and can be told
 * to fail: before applying (`failNext`), after applying with the answer lost
 * (`loseNextAnswers`), or item by item (`refuse`).
 */
import type { AccountingEntry, ItemFailure } from '../accounting/index.js';
import type {
  AccountingAdapter,
  AdapterContext,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from '../adapters/index.js';
import { AccountingSystemError } from '../errors/index.js';

export interface MemoryAdapterOptions {
  /** What `validate` answers. @default { ok: true } */
  validation?: ValidationResult;
  /** Called before every record; may throw to simulate a failing accounting system. */
  beforeRecord?: (entry: AccountingEntry, call: number) => void | Promise<void>;
  /** Item-level refusals: return the failure for entries this "system" does not accept. */
  refuse?: (entry: AccountingEntry) => ItemFailure | null;
  now?: () => number;
}

export interface MemoryBooking {
  key: string;
  entry: AccountingEntry;
  attachments: readonly StoredAttachment[];
  recorded: RecordedEntry;
}

export interface MemoryAdapter extends AccountingAdapter {
  /** Bookings in the order they were created. */
  bookings(): readonly MemoryBooking[];
  /** How many `record` calls each key received (a retry of a booked key is not a second booking). */
  recordCalls(key: string): number;
  /** Makes the next `count` record calls throw `error` (default: a retryable unreachable error). */
  failNext(count: number, error?: AccountingSystemError): void;
  /** The next `count` record calls book (or find) the entry, then throw as if the answer was lost. */
  loseNextAnswers(count: number): void;
  setValidation(result: ValidationResult): void;
}

export function createMemoryAdapter(options: MemoryAdapterOptions = {}): MemoryAdapter {
  const byKey = new Map<string, MemoryBooking>();
  const order: MemoryBooking[] = [];
  const calls = new Map<string, number>();
  let validation = options.validation ?? { ok: true };
  let failures: { count: number; error: AccountingSystemError } = {
    count: 0,
    error: new AccountingSystemError('memory: unreachable', {
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
    }),
  };
  let lostAnswers = 0;
  let totalCalls = 0;
  const now = options.now ?? Date.now;

  return {
    name: 'memory',
    supportsScaleOut: false,
    validate(): Promise<ValidationResult> {
      return Promise.resolve(validation);
    },
    findExisting(key: string, _ctx: AdapterContext): Promise<RecordedEntry | null> {
      return Promise.resolve(byKey.get(key)?.recorded ?? null);
    },
    async record(entry, ctx): Promise<RecordOutcome> {
      totalCalls++;
      calls.set(ctx.idempotencyKey, (calls.get(ctx.idempotencyKey) ?? 0) + 1);
      await options.beforeRecord?.(entry, totalCalls);
      if (failures.count > 0) {
        failures.count--;
        throw failures.error;
      }
      const outcome = book(entry, ctx.idempotencyKey, ctx.attachments);
      if (lostAnswers > 0 && outcome.status === 'booked') {
        lostAnswers--;
        throw new AccountingSystemError('memory: the entry was booked but the answer was lost', {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
        });
      }
      return outcome;
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
    bookings: () => order,
    recordCalls: (key) => calls.get(key) ?? 0,
    failNext(count, error) {
      failures = { count, error: error ?? failures.error };
    },
    loseNextAnswers(count) {
      lostAnswers = count;
    },
    setValidation(result) {
      validation = result;
    },
  };

  function book(
    entry: AccountingEntry,
    key: string,
    attachments: readonly StoredAttachment[],
  ): RecordOutcome {
    const existing = byKey.get(key);
    if (existing) return { status: 'booked', ...existing.recorded };
    const refused = options.refuse?.(entry);
    if (refused) return { status: 'failed', ...refused };
    const booking: MemoryBooking = {
      key,
      entry,
      attachments,
      recorded: {
        externalId: `MEM-${String(order.length + 1).padStart(6, '0')}`,
        externalUrl: `memory://entries/${key}`,
        recordedAt: new Date(now()).toISOString(),
      },
    };
    byKey.set(key, booking);
    order.push(booking);
    return { status: 'booked', ...booking.recorded };
  }
}
