/**
 * Client-side pacing, per client (one client = one company): adaptive, not a fixed rate.
 *
 * Pleo documents no numeric limit for the Export API (docs/decisions.md#w5), and a fixed 10 requests/s
 * cost 1.4 s per job against a fast Pleo (issue 20). So the client starts **unpaced**, bounded only
 * by a concurrency cap (requests in flight), and slows down only when the server says so:
 *
 * - **429 or 5xx** (a *congestion signal*): multiplicative decrease. The allowed rate becomes 0.7 ×
 *   the rate actually sent over the last second, or since the last `Retry-After` pause ended (the
 *   first signal turns pacing on), and the allowed
 *   concurrency 0.7 × the requests actually in flight (at least 1). Signals from requests that were
 *   already sent when the pace was last cut count once: a burst of 429s for eight requests in
 *   flight is one event, not eight halvings (TCP's "once per round trip").
 * - **`Retry-After`** on such an answer also pauses every request of this client until then (capped
 *   at the retry policy's `maxRetryAfterMs`): the server said when to come back. The call that got
 *   it waits the same time through its own retry (retry.ts).
 * - **Success** (2xx): additive increase. The rate grows by a fixed step per second of successful
 *   traffic (5 % of the rate set at the last decrease, at least 1 request/s), the concurrency by one
 *   per window of successes, up to the cap.
 * - Anything else (4xx, network errors, timeouts) leaves the pace unchanged; the retry policy
 *   backs off on its own.
 *
 * An optional ceiling (`requestsPerSecond`, a fixed token bucket) applies on top, for those who must
 * stay under a known quota. It is the same scheme as the AWS SDKs' "adaptive" retry mode (token
 * bucket off until the first throttle, then 0.7 × the measured rate), with a linear increase.
 */
import type { Clock, Sleep } from './options.js';

export interface RateLimitOptions {
  /**
   * A ceiling on the sustained request rate, on top of the adaptive pacing.
   * @default undefined (no ceiling: the client goes as fast as Pleo lets it)
   */
  requestsPerSecond?: number;
  /**
   * Requests that may be sent back to back under the ceiling after a quiet period.
   * @default max(1, ceil(requestsPerSecond))
   */
  burst?: number;
  /** Requests in flight at once (per client, so per company). @default 8 */
  maxConcurrency?: number;
}

export interface CompiledRateLimit {
  readonly requestsPerSecond: number | undefined;
  readonly burst: number | undefined;
  readonly maxConcurrency: number;
}

export const DEFAULT_MAX_CONCURRENCY = 8;

/** Multiplicative decrease factor of rate and concurrency on a congestion signal. */
export const AIMD_DECREASE = 0.7;
/** The allowed rate never drops below this (requests/s). */
export const AIMD_MIN_RATE = 0.5;
/** Additive increase per second of successful traffic, as a share of the rate set at the last decrease. */
export const AIMD_INCREASE_SHARE = 0.05;
/** Span over which the sent rate is measured. */
const RATE_WINDOW_MS = 1000;
/** Shortest span the sent rate is measured over (the first requests of a run). */
const MIN_RATE_WINDOW_MS = 100;

export interface AimdSettings {
  /** Upper bound of the concurrency window (`Infinity`: none). */
  maxConcurrency: number;
  /** Upper bound of the rate (`Infinity`: none). @default Infinity */
  maxRate?: number;
}

/**
 * The AIMD state machine, without any waiting: which rate and how many requests in flight are
 * allowed now. {@link Pacer} enforces what it decides.
 *
 * @example
 * const aimd = new AimdController({ maxConcurrency: 8 });
 * const seq = aimd.sent(now);          // a request leaves
 * aimd.congestion(seq, now, inFlight); // it got a 429: rate and window cut
 * aimd.success(seq);                   // or a 2xx: both grow a little
 */
export class AimdController {
  /** Allowed requests per second; `Infinity` until the first congestion signal. */
  rate = Infinity;
  /** Allowed requests in flight (fractional; {@link concurrency} is what applies). */
  window: number;
  private readonly maxConcurrency: number;
  private readonly maxRate: number;
  /** Rate added per second of successful traffic since the last decrease. */
  private step = 1;
  private seq = 0;
  private lastDecreaseSeq = 0;
  private firstSentAt: number | undefined;
  /** Sends before this time are not measured (the end of a `Retry-After` pause: nothing was sent during it). */
  private measureFrom = -Infinity;
  /** Send times within the last RATE_WINDOW_MS, oldest first, from `head` on. */
  private sends: number[] = [];
  private head = 0;
  /** Congestion signals that cut the pace (each is one decrease). */
  decreases = 0;

  constructor(settings: AimdSettings) {
    this.maxConcurrency = settings.maxConcurrency;
    this.maxRate = settings.maxRate ?? Infinity;
    this.window = settings.maxConcurrency;
  }

  /** Requests allowed in flight now (at least 1). */
  get concurrency(): number {
    return Math.max(1, Math.floor(this.window));
  }

  /** Records a request leaving at `now`; returns its sequence number for the outcome. */
  sent(now: number): number {
    this.firstSentAt ??= now;
    this.prune(now);
    this.sends.push(now);
    return ++this.seq;
  }

  /**
   * Measures the sent rate only from `at` on: a pause imposed by `Retry-After` would otherwise
   * count as a slow second and cut the rate far below what the server accepts.
   */
  restartMeasurement(at: number): void {
    this.measureFrom = Math.max(this.measureFrom, at);
  }

  /**
   * The request rate actually sent, over the last second (or since the first request or the end
   * of the last pause, if sooner; over at least 100 ms).
   */
  measuredRate(now: number): number {
    this.prune(now);
    const since = Math.max(this.firstSentAt ?? now, this.measureFrom);
    const span = Math.min(RATE_WINDOW_MS, Math.max(MIN_RATE_WINDOW_MS, now - since));
    let count = 0;
    for (let i = this.sends.length - 1; i >= this.head; i--) {
      if ((this.sends[i] ?? 0) <= now - span) break;
      count++;
    }
    return (Math.max(1, count) * 1000) / span;
  }

  /** A 2xx for request `seq`: additive increase of rate and window. */
  success(_seq: number): void {
    if (Number.isFinite(this.rate)) this.rate = Math.min(this.maxRate, this.rate + this.step / this.rate);
    if (this.window < this.maxConcurrency) {
      this.window = Math.min(this.maxConcurrency, this.window + 1 / this.concurrency);
    }
  }

  /**
   * A 429 or 5xx for request `seq`, with `inFlight` requests (itself included) in flight: cuts the
   * rate to 0.7 × min(allowed, measured) and the window to 0.7 × min(window, inFlight), unless the
   * request was sent before the last cut. Returns whether it cut.
   */
  congestion(seq: number, now: number, inFlight: number): boolean {
    if (seq <= this.lastDecreaseSeq) return false;
    this.lastDecreaseSeq = this.seq;
    this.decreases++;
    const base = Math.min(this.rate, this.measuredRate(now));
    this.rate = Math.min(this.maxRate, Math.max(AIMD_MIN_RATE, base * AIMD_DECREASE));
    this.step = Math.max(1, this.rate * AIMD_INCREASE_SHARE);
    this.window = Math.max(1, Math.floor(Math.min(this.window, Math.max(1, inFlight)) * AIMD_DECREASE));
    return true;
  }

  private prune(now: number): void {
    const oldest = now - RATE_WINDOW_MS;
    while (this.head < this.sends.length && (this.sends[this.head] ?? 0) <= oldest) this.head++;
    if (this.head > 1024 && this.head * 2 > this.sends.length) {
      this.sends = this.sends.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * A token bucket on the injected clock. Each request takes one token; the bucket refills at
 * `rate` per second up to `burst` tokens. A caller that finds the bucket empty *reserves* its token
 * (the balance goes negative) and sleeps for the time it takes to earn it back, so concurrent
 * callers are served in arrival order without polling.
 */
export class TokenBucket {
  private rate: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private tokens: number;
  private last: number;

  constructor(rate: number, burst: number, clock: Clock, sleep: Sleep, initialTokens = burst) {
    this.rate = rate;
    this.burst = burst;
    this.clock = clock;
    this.sleep = sleep;
    this.tokens = initialTokens;
    this.last = clock();
  }

  /** Changes the refill rate from now on (tokens earned so far are kept). */
  setRate(rate: number): void {
    this.refill();
    this.rate = rate;
  }

  /** Resolves when the caller may send one request. Rejects (and returns the token) on abort. */
  async acquire(signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const waitMs = Math.ceil((-this.tokens / this.rate) * 1000);
    try {
      await this.sleep(waitMs, signal);
    } catch (error) {
      this.tokens += 1;
      throw error;
    }
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}

/** How an attempt ended, as far as pacing is concerned. */
export type PaceOutcome =
  | { kind: 'success' }
  /** 429 or 5xx; `retryAfterMs` from the answer's `Retry-After`, when given. */
  | { kind: 'congestion'; retryAfterMs: number | undefined }
  /** Neither: 4xx, network error, timeout, abort. */
  | { kind: 'neutral' };

/** A slot to send one request; release it exactly once with the attempt's outcome. */
export interface Permit {
  release(outcome: PaceOutcome): void;
}

export interface PacerOptions extends AimdSettings {
  /** Fixed ceiling (requests/s) on top of the adaptive rate. */
  ceiling?: { requestsPerSecond: number; burst: number };
  /** Longest pause a `Retry-After` imposes on the other requests. */
  maxPauseMs: number;
  clock: Clock;
  sleep: Sleep;
}

/** Statistics for tests and metrics. */
export interface PacerState {
  rate: number;
  concurrency: number;
  inFlight: number;
  decreases: number;
  pausedUntil: number;
}

/**
 * Enforces an {@link AimdController}'s decisions: a concurrency gate (FIFO), a `Retry-After` pause,
 * the adaptive token bucket (capacity 1: smooth spacing, no bursts once throttled) and the optional
 * fixed ceiling.
 */
export class Pacer {
  readonly aimd: AimdController;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly maxPauseMs: number;
  private readonly ceiling: TokenBucket | undefined;
  private adaptive: TokenBucket | undefined;
  private inFlight = 0;
  private pausedUntil = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(options: PacerOptions) {
    const maxRate = options.ceiling?.requestsPerSecond ?? options.maxRate ?? Infinity;
    this.aimd = new AimdController({ maxConcurrency: options.maxConcurrency, maxRate });
    this.clock = options.clock;
    this.sleep = options.sleep;
    this.maxPauseMs = options.maxPauseMs;
    this.ceiling =
      options.ceiling === undefined
        ? undefined
        : new TokenBucket(
            options.ceiling.requestsPerSecond,
            options.ceiling.burst,
            options.clock,
            options.sleep,
          );
  }

  state(): PacerState {
    return {
      rate: this.aimd.rate,
      concurrency: this.aimd.concurrency,
      inFlight: this.inFlight,
      decreases: this.aimd.decreases,
      pausedUntil: this.pausedUntil,
    };
  }

  /** Waits until one more request may be sent (slot, pause, rate), then takes a slot. */
  async acquire(signal?: AbortSignal): Promise<Permit> {
    await this.takeSlot(signal);
    try {
      for (let now = this.clock(); this.pausedUntil > now; now = this.clock()) {
        await this.sleep(this.pausedUntil - now, signal);
      }
      await this.adaptive?.acquire(signal);
      await this.ceiling?.acquire(signal);
    } catch (error) {
      this.freeSlot();
      throw error;
    }
    const seq = this.aimd.sent(this.clock());
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.settle(seq, outcome);
        this.freeSlot();
      },
    };
  }

  private settle(seq: number, outcome: PaceOutcome): void {
    switch (outcome.kind) {
      case 'success':
        this.aimd.success(seq);
        break;
      case 'congestion': {
        const now = this.clock();
        if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) {
          this.pausedUntil = Math.max(
            this.pausedUntil,
            now + Math.min(outcome.retryAfterMs, this.maxPauseMs),
          );
          this.aimd.restartMeasurement(this.pausedUntil);
        }
        if (this.aimd.congestion(seq, now, this.inFlight) && this.adaptive === undefined) {
          // The first cut turns rate pacing on, with an empty bucket: the next request waits its turn.
          this.adaptive = new TokenBucket(this.aimd.rate, 1, this.clock, this.sleep, 0);
          return;
        }
        break;
      }
      case 'neutral':
        return;
      default: {
        const never: never = outcome;
        throw new Error(`unknown pace outcome ${JSON.stringify(never)}`);
      }
    }
    this.adaptive?.setRate(this.aimd.rate);
  }

  private async takeSlot(signal: AbortSignal | undefined): Promise<void> {
    if (this.waiters.length === 0 && this.inFlight < this.aimd.concurrency) {
      this.inFlight++;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'));
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.inFlight++;
        resolve();
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private freeSlot(): void {
    this.inFlight--;
    while (this.waiters.length > 0 && this.inFlight < this.aimd.concurrency) this.waiters.shift()?.();
  }
}
