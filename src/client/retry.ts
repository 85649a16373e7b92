/**
 * Retry policy as data (house style rule 6): a policy validated once, capped exponential backoff
 * with jitter, `Retry-After` parsing, and the table of rules that says *which* failures may be
 * retried for *which* kind of request.
 *
 * Terminology:
 * - **attempt**: one HTTP request. Attempt 1 is the first try; `maxAttempts` counts all of them.
 * - **safety**: what a request risks when it is sent twice (see {@link RetrySafety}).
 * - **failure**: what went wrong with one attempt (see {@link AttemptFailure}).
 */
import { ConfigError } from '../errors/index.js';

export interface RetryPolicy {
  /**
   * Total attempts per call, the first one included. `1` disables retries.
   * @default 4
   * @minimum 1
   */
  maxAttempts?: number;
  /**
   * Backoff before the first retry, in milliseconds.
   * @default 250
   */
  initialDelayMs?: number;
  /**
   * Upper bound of any backoff delay, in milliseconds (before jitter is taken off).
   * @default 20000
   */
  maxDelayMs?: number;
  /**
   * Growth factor between consecutive backoff delays.
   * @default 2
   * @minimum 1
   */
  multiplier?: number;
  /**
   * Fraction of each backoff delay that is randomised away: the delay is drawn uniformly from
   * `[delay * (1 - jitter), delay]`. `0` = no jitter, `1` = "full jitter". Jitter never makes a
   * delay longer than `maxDelayMs`.
   * @default 0.5
   */
  jitter?: number;
  /**
   * Longest `Retry-After` the client waits in-process, in milliseconds. When the server asks for
   * longer, the client stops retrying and throws the error with `retryAfterMs` set, so the caller
   * (the engine) can schedule the work instead of holding a request open.
   * @default 60000
   */
  maxRetryAfterMs?: number;
}

export type CompiledRetryPolicy = Readonly<Required<RetryPolicy>>;

export const DEFAULT_RETRY_POLICY: CompiledRetryPolicy = Object.freeze({
  maxAttempts: 4,
  initialDelayMs: 250,
  maxDelayMs: 20_000,
  multiplier: 2,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
});

const POLICY_KEYS = new Set(Object.keys(DEFAULT_RETRY_POLICY));

/**
 * Validates a retry policy once and fills in defaults. Throws {@link ConfigError} naming the field.
 *
 * @example
 * const policy = compileRetryPolicy({ maxAttempts: 6, maxDelayMs: 10_000 });
 */
export function compileRetryPolicy(policy: RetryPolicy = {}, label = 'retry'): CompiledRetryPolicy {
  if (typeof policy !== 'object' || policy === null) {
    throw new ConfigError(`${label} must be an object`);
  }
  for (const key of Object.keys(policy)) {
    if (!POLICY_KEYS.has(key)) throw new ConfigError(`${label}.${key} is not a retry policy option`);
  }
  const merged = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(policy) };
  const check = (key: keyof RetryPolicy, ok: (value: number) => boolean, rule: string): void => {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
      throw new ConfigError(`${label}.${key} must be ${rule}, got ${String(value)}`);
    }
  };
  check('maxAttempts', (v) => Number.isInteger(v) && v >= 1 && v <= 100, 'an integer from 1 to 100');
  check('initialDelayMs', (v) => v >= 0, 'a number of milliseconds >= 0');
  check('maxDelayMs', (v) => v >= 0, 'a number of milliseconds >= 0');
  check('multiplier', (v) => v >= 1, 'a number >= 1');
  check('jitter', (v) => v >= 0 && v <= 1, 'a number from 0 to 1');
  check('maxRetryAfterMs', (v) => v >= 0, 'a number of milliseconds >= 0');
  if (merged.maxDelayMs < merged.initialDelayMs) {
    throw new ConfigError(
      `${label}.maxDelayMs (${merged.maxDelayMs}) must be >= ${label}.initialDelayMs (${merged.initialDelayMs})`,
    );
  }
  return Object.freeze(merged);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Capped exponential backoff with jitter before retry number `retry` (1 = first retry):
 * `min(maxDelayMs, initialDelayMs * multiplier^(retry-1))`, minus up to `jitter` of it.
 */
export function backoffDelay(policy: CompiledRetryPolicy, retry: number, random: () => number): number {
  const exponential = policy.initialDelayMs * Math.pow(policy.multiplier, Math.max(0, retry - 1));
  const capped = Math.min(policy.maxDelayMs, exponential);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(capped * (1 - policy.jitter * r));
}

/**
 * Parses a `Retry-After` header: delta-seconds (`"120"`) or an HTTP-date
 * (`"Wed, 21 Oct 2015 07:28:00 GMT"`). Returns milliseconds from `nowMs` (never negative), or
 * `undefined` when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only accept things that look like an HTTP-date; Date.parse alone accepts far too much.
  if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * What sending a request twice risks.
 * - `idempotent`: sending it again cannot do harm (reads; writes whose replay is harmless or is
 *   rejected by Pleo without effect; each operation states why in `client.ts`).
 * - `not-idempotent`: a replay after an ambiguous failure may apply it twice (create job). It is
 *   retried only when the failure proves the first attempt was not applied.
 */
export type RetrySafety = 'idempotent' | 'not-idempotent';

/** What went wrong with one attempt, as far as retrying is concerned. */
export type AttemptFailure =
  | { kind: 'status'; status: number; retryAfterMs: number | undefined }
  /** `unapplied`: the connection was never established (refused, DNS), so nothing reached the server. */
  | { kind: 'network'; unapplied: boolean }
  | { kind: 'timeout' };

export interface RetryRule {
  readonly name: string;
  readonly matches: (failure: AttemptFailure) => boolean;
  /** Which request kinds this rule retries. */
  readonly retries: readonly RetrySafety[];
  /** Why: a retry rule without a reason is a bug waiting to happen. */
  readonly reason: string;
}

const BOTH: readonly RetrySafety[] = ['idempotent', 'not-idempotent'];
const IDEMPOTENT_ONLY: readonly RetrySafety[] = ['idempotent'];

/**
 * The retry rules, first match wins. Anything no rule matches (4xx other than 408/429, a 501…)
 * is permanent and thrown at once.
 */
export const RETRY_RULES: readonly RetryRule[] = Object.freeze([
  {
    name: 'connection-not-established',
    matches: (f) => f.kind === 'network' && f.unapplied,
    retries: BOTH,
    reason:
      'Connection refused / DNS failure / connect timeout: no byte reached the server, so even a ' +
      'create cannot have been applied.',
  },
  {
    name: 'rate-limited',
    matches: (f) => f.kind === 'status' && f.status === 429,
    retries: BOTH,
    reason:
      '429 is answered by the rate limiter before the request is handled; waiting (Retry-After when ' +
      'given) and retrying is what the server asks for.',
  },
  {
    name: 'unavailable-with-retry-after',
    matches: (f) => f.kind === 'status' && f.status === 503 && f.retryAfterMs !== undefined,
    retries: BOTH,
    reason:
      '503 with Retry-After is an explicit "not processed, come back later" (maintenance, load ' +
      'shedding), so even a create may be retried.',
  },
  {
    name: 'server-error',
    matches: (f) => f.kind === 'status' && f.status >= 500 && f.status !== 501 && f.status !== 505,
    retries: IDEMPOTENT_ONLY,
    reason:
      '5xx (except 501/505, which will never change) is transient, but the server may have ' +
      'applied the request before failing: only idempotent requests are replayed.',
  },
  {
    name: 'request-timeout',
    matches: (f) => f.kind === 'status' && f.status === 408,
    retries: IDEMPOTENT_ONLY,
    reason:
      '408: the server (or a proxy in front of it) gave up waiting; a proxy may already have ' +
      'forwarded the request, so only idempotent requests are replayed.',
  },
  {
    name: 'network-ambiguous',
    matches: (f) => f.kind === 'network' && !f.unapplied,
    retries: IDEMPOTENT_ONLY,
    reason:
      'Connection reset / socket closed after the request was sent: it may have been applied; ' +
      'only idempotent requests are replayed.',
  },
  {
    name: 'timeout',
    matches: (f) => f.kind === 'timeout',
    retries: IDEMPOTENT_ONLY,
    reason: 'Our per-request timeout fired: the server may still apply the request.',
  },
] satisfies RetryRule[]);

export type RetryDecision =
  | { retry: true; delayMs: number; rule: string }
  | { retry: false; why: 'permanent' | 'unsafe' | 'attempts-exhausted' | 'retry-after-too-long' };

/**
 * Decides whether attempt number `attempt` (1-based), which failed with `failure`, is followed by
 * another one, and after how long. `Retry-After` (when given) replaces the computed backoff.
 */
export function decideRetry(
  failure: AttemptFailure,
  safety: RetrySafety,
  attempt: number,
  policy: CompiledRetryPolicy,
  random: () => number,
): RetryDecision {
  const rule = RETRY_RULES.find((r) => r.matches(failure));
  if (rule === undefined) return { retry: false, why: 'permanent' };
  if (!rule.retries.includes(safety)) return { retry: false, why: 'unsafe' };
  if (attempt >= policy.maxAttempts) return { retry: false, why: 'attempts-exhausted' };
  if (failure.kind === 'status' && failure.retryAfterMs !== undefined) {
    if (failure.retryAfterMs > policy.maxRetryAfterMs) return { retry: false, why: 'retry-after-too-long' };
    return { retry: true, delayMs: failure.retryAfterMs, rule: rule.name };
  }
  return { retry: true, delayMs: backoffDelay(policy, attempt, random), rule: rule.name };
}
