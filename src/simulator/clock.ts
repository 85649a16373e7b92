/**
 * Time for the simulator. Every timestamp the simulator reports or compares (job expiry,
 * token expiry, file-URL expiry, webhook timestamps) comes from a {@link Clock}, never from
 * `Date.now()` directly, so tests can move time without waiting.
 *
 * The simulator always wraps the clock it is given in an {@link OffsetClock}; the admin API's
 * `POST /_admin/clock/advance` moves that offset forward. Time never goes backwards.
 */

/** A source of "now" in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that stands still until told to move: the usual choice in tests.
 *
 * @example
 * const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(60_000);
 */
export class ManualClock implements Clock {
  #now: number;
  constructor(startMs: number = Date.now()) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`advance: ms must be a finite number >= 0, got ${ms}`);
    this.#now += ms;
    return this.#now;
  }
}

/** `base.now() + offset`, where the offset only grows (admin "advance the clock"). */
export class OffsetClock implements Clock {
  #offset = 0;
  readonly #base: Clock;
  constructor(base: Clock) {
    this.#base = base;
  }
  now(): number {
    return this.#base.now() + this.#offset;
  }
  get offsetMs(): number {
    return this.#offset;
  }
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`advance: ms must be a finite number >= 0, got ${ms}`);
    this.#offset += ms;
    return this.now();
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
