/**
 * An in-memory accounting system, for tests and examples. It honours the adapter contract
 * (idempotent `record` by key, `findExisting`), counts every call, and can be told to fail.
 */
import type { AccountingEntry } from '../../accounting/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import type {
  AccountingAdapter,
  AdapterContext,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from '../types.js';

export interface MemoryAdapterOptions {
  /** What `validate` answers. @default { ok: true } */
  validation?: ValidationResult;
  /** Called before every record; may throw to simulate a failing accounting system. */
  beforeRecord?: (entry: AccountingEntry, call: number) => void | Promise<void>;
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
      const existing = byKey.get(ctx.idempotencyKey);
      if (existing) return { status: 'booked', ...existing.recorded };
      const booking: MemoryBooking = {
        key: ctx.idempotencyKey,
        entry,
        attachments: ctx.attachments,
        recorded: {
          externalId: `MEM-${String(order.length + 1).padStart(6, '0')}`,
          externalUrl: `memory://entries/${ctx.idempotencyKey}`,
          recordedAt: new Date(now()).toISOString(),
        },
      };
      byKey.set(ctx.idempotencyKey, booking);
      order.push(booking);
      return { status: 'booked', ...booking.recorded };
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
    bookings: () => order,
    recordCalls: (key) => calls.get(key) ?? 0,
    failNext(count, error) {
      failures = { count, error: error ?? failures.error };
    },
    setValidation(result) {
      validation = result;
    },
  };
}
