/**
 * Xero's per-tenant limits, kept on our side so that 429s stay rare: at most `concurrency` calls in
 * flight and `perMinute` calls started in any sliding minute. The minute is a sliding window of
 * start times (exactly Xero's rule, unlike a refilling bucket that can burst past it at the edge).
 *
 * Time is injected (`now`, `sleep`), so tests run without real waits. One limiter per tenant per
 * process: several processes on one tenant share Xero's budget without knowing of each other, and
 * then the 429 + Retry-After path (see `http.ts`) takes over.
 */
export interface LimiterClock {
  now: () => number;
  /** Resolves after `ms` (or rejects when `signal` aborts). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface TenantLimiter {
  /** Runs `task` once a slot in both limits is free. */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** No call starts before `until` (ms since the epoch): a 429's Retry-After for the whole tenant. */
  pauseUntil(until: number): void;
}

const MINUTE = 60_000;

export function createTenantLimiter(
  options: { concurrency: number; perMinute: number },
  clock: LimiterClock,
): TenantLimiter {
  const starts: number[] = [];
  let inFlight = 0;
  let pausedUntil = 0;
  const waiters: (() => void)[] = [];
  // Slot grants are serialised so that two callers never read the same free slot.
  let gate: Promise<void> = Promise.resolve();

  const release = (): void => {
    inFlight--;
    waiters.shift()?.();
  };

  async function acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (inFlight >= options.concurrency) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      const now = clock.now();
      while (starts.length > 0 && (starts[0] ?? 0) <= now - MINUTE) starts.shift();
      const waitPause = pausedUntil - now;
      const waitWindow = starts.length >= options.perMinute ? (starts[0] ?? now) + MINUTE - now : 0;
      const wait = Math.max(waitPause, waitWindow);
      if (wait > 0) {
        await clock.sleep(wait, signal);
        continue;
      }
      starts.push(now);
      inFlight++;
      return;
    }
  }

  return {
    async run(task, signal) {
      const turn = gate.then(() => acquire(signal));
      gate = turn.catch(() => undefined);
      await turn;
      try {
        return await task();
      } finally {
        release();
      }
    },
    pauseUntil(until) {
      pausedUntil = Math.max(pausedUntil, until);
    },
  };
}

/** A real sleep that an AbortSignal cuts short. */
export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
