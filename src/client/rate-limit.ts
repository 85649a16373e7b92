/**
 * Client-side rate limiting: a token bucket on the injected clock.
 *
 * Pleo documents no numeric limit for the Export API (workflow doc §1.9), so the client keeps its
 * own pace and still honours 429/Retry-After when the server disagrees. Each request takes one
 * token; the bucket refills at `requestsPerSecond` up to `burst` tokens. A caller that finds the
 * bucket empty *reserves* its token (the balance goes negative) and sleeps for the time it takes
 * to earn it back, so concurrent callers are served in arrival order without polling.
 */
import type { Clock, Sleep } from './options.js';

export interface RateLimitOptions {
  /** Sustained request rate: a whole number from 1 to 10,000 (`clientSettings.requestsPerSecond`). */
  requestsPerSecond: number;
  /**
   * Requests that may be sent back to back after a quiet period.
   * @default max(1, ceil(requestsPerSecond))
   */
  burst?: number;
}

export class TokenBucket {
  private readonly requestsPerSecond: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private tokens: number;
  private last: number;

  constructor(requestsPerSecond: number, burst: number, clock: Clock, sleep: Sleep) {
    this.requestsPerSecond = requestsPerSecond;
    this.burst = burst;
    this.clock = clock;
    this.sleep = sleep;
    this.tokens = burst;
    this.last = clock();
  }

  /** Resolves when the caller may send one request. Rejects (and returns the token) on abort. */
  async acquire(signal?: AbortSignal): Promise<void> {
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const waitMs = Math.ceil((-this.tokens / this.requestsPerSecond) * 1000);
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
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.requestsPerSecond) / 1000);
  }
}
