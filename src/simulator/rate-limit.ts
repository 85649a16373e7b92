/**
 * An enforced rate limit, per company, so that a client's pacing can be watched settling under it
 * (issue 20). Pleo documents no numeric limit; this one is opt-in (`rateLimit` /
 * `--rate-limit N/s`).
 *
 * One token bucket per company on the simulator's clock (so a test that moves the clock moves the
 * refill): it holds at most `burst` tokens and earns `requestsPerSecond` per second. Every
 * authenticated API request takes one token; a request that finds none is answered 429
 * `rate_limited` with `Retry-After` (whole seconds, at least 1, until a token is there) and takes
 * nothing. Receipt file downloads, OAuth endpoints and `/_admin/` are not limited.
 */
import type { Clock } from './clock.js';

export interface RateLimitConfig {
  /** Sustained requests per second per company. @minimum > 0 */
  requestsPerSecond: number;
  /** Requests a company may send back to back after a quiet period. @default max(1, ceil(requestsPerSecond)) */
  burst?: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Validates a configuration (throws RangeError with a precise message); returns it with `burst` resolved. */
export function checkRateLimit(config: RateLimitConfig): Required<RateLimitConfig> {
  const { requestsPerSecond, burst } = config;
  if (
    typeof requestsPerSecond !== 'number' ||
    !Number.isFinite(requestsPerSecond) ||
    requestsPerSecond <= 0
  ) {
    throw new RangeError(
      `rateLimit.requestsPerSecond must be a number > 0, got ${String(requestsPerSecond)}`,
    );
  }
  const resolved = burst ?? Math.max(1, Math.ceil(requestsPerSecond));
  if (!Number.isInteger(resolved) || resolved < 1) {
    throw new RangeError(`rateLimit.burst must be an integer >= 1, got ${String(burst)}`);
  }
  return { requestsPerSecond, burst: resolved };
}

/**
 * Parses `--rate-limit`: `N/s` or `N/min`, optionally `,burst=B`.
 *
 * @example parseRateLimit('20/s')            // { requestsPerSecond: 20, burst: 20 }
 * @example parseRateLimit('600/min,burst=5') // { requestsPerSecond: 10, burst: 5 }
 */
export function parseRateLimit(text: string): Required<RateLimitConfig> {
  const match = /^(\d+(?:\.\d+)?)\/(s|min)(?:,burst=(\d+))?$/.exec(text.trim());
  if (match === null) throw new RangeError(`expected N/s or N/min (optionally ,burst=B), got '${text}'`);
  const [, n = '', unit, burst] = match;
  const requestsPerSecond = unit === 'min' ? Number(n) / 60 : Number(n);
  return checkRateLimit({ requestsPerSecond, ...(burst === undefined ? {} : { burst: Number(burst) }) });
}

export class CompanyRateLimiter {
  readonly #config: Required<RateLimitConfig>;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(config: RateLimitConfig, clock: Clock) {
    this.#config = checkRateLimit(config);
    this.#clock = clock;
  }

  get config(): Readonly<Required<RateLimitConfig>> {
    return this.#config;
  }

  /** Takes one token of `companyId`'s bucket, or says how long until there is one. */
  take(companyId: string): RateDecision {
    const { requestsPerSecond, burst } = this.#config;
    const now = this.#clock.now();
    const bucket = this.#buckets.get(companyId) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(
      burst,
      bucket.tokens + (Math.max(0, now - bucket.at) * requestsPerSecond) / 1000,
    );
    bucket.at = now;
    this.#buckets.set(companyId, bucket);
    // 1e-9: tokens earned in many small steps of float arithmetic must still add up to one.
    if (bucket.tokens >= 1 - 1e-9) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / requestsPerSecond)) };
  }
}
