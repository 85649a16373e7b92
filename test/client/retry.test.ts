import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  compileRetryPolicy,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  RETRY_RULES,
} from '../../src/client/index.js';
import { decideRetry } from '../../src/client/retry.js';
import { ConfigError } from '../../src/errors/index.js';
import { checkNoSecretsLeak, recordError } from './helpers.js';

checkNoSecretsLeak();

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    recordError(error);
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('compileRetryPolicy', () => {
  it('fills in documented defaults and freezes the result', () => {
    const policy = compileRetryPolicy({ maxAttempts: 6 });
    expect(policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 6 });
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it.each([
    [{ maxAttempts: 0 }, 'retry.maxAttempts must be an integer from 1 to 100, got 0'],
    [{ maxAttempts: 2.5 }, 'retry.maxAttempts must be an integer from 1 to 100, got 2.5'],
    [{ jitter: 2 }, 'retry.jitter must be a number from 0 to 1, got 2'],
    [{ multiplier: 0.5 }, 'retry.multiplier must be a number >= 1, got 0.5'],
    [{ initialDelayMs: Number.NaN }, 'retry.initialDelayMs must be a number of milliseconds >= 0, got NaN'],
    [
      { initialDelayMs: 500, maxDelayMs: 100 },
      'retry.maxDelayMs (100) must be >= retry.initialDelayMs (500)',
    ],
    [{ maxAtempts: 3 }, 'retry.maxAtempts is not a retry policy option'],
  ])('%j → %s', (policy, message) => {
    expect(configError(() => compileRetryPolicy(policy as never)).message).toBe(message);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially and is capped', () => {
    const policy = compileRetryPolicy({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('always stays within [capped * (1 - jitter), capped]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (initial, extra, multiplier, jitter, retry, r) => {
          const policy = compileRetryPolicy({
            initialDelayMs: initial,
            maxDelayMs: initial + extra,
            multiplier,
            jitter,
          });
          const capped = Math.min(policy.maxDelayMs, initial * multiplier ** (retry - 1));
          const delay = backoffDelay(policy, retry, () => r);
          return (
            delay <= Math.round(capped) + 1 &&
            delay >= Math.floor(capped * (1 - jitter)) - 1 &&
            delay <= policy.maxDelayMs
          );
        },
      ),
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 1.5 ', 1500],
    [new Date(now + 30_000).toUTCString(), 30_000],
    [new Date(now - 30_000).toUTCString(), 0],
    ['Wed, 01 May 2024 12:00:10 GMT', 10_000],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [null, undefined],
    ['2024-05-01T12:00:10Z', undefined],
  ])('%j → %j', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe('retry rules', () => {
  const policy = compileRetryPolicy({ maxAttempts: 3, jitter: 0 });
  const status = (s: number, retryAfterMs?: number) => ({ kind: 'status' as const, status: s, retryAfterMs });
  const decide = (
    failure: Parameters<typeof decideRetry>[0],
    safety: 'idempotent' | 'not-idempotent',
    attempt = 1,
  ) => decideRetry(failure, safety, attempt, policy, () => 0);

  it('every rule states its reason', () => {
    for (const rule of RETRY_RULES) expect(rule.reason.length).toBeGreaterThan(30);
  });

  it.each([
    [status(408), true, false],
    [status(429), true, true],
    [status(500), true, false],
    [status(502), true, false],
    [status(503), true, false],
    [status(503, 1000), true, true],
    [status(504), true, false],
    [status(501), false, false],
    [status(400), false, false],
    [status(401), false, false],
    [status(404), false, false],
    [status(409), false, false],
    [status(413), false, false],
    [status(422), false, false],
    [{ kind: 'network' as const, unapplied: true }, true, true],
    [{ kind: 'network' as const, unapplied: false }, true, false],
    [{ kind: 'timeout' as const }, true, false],
  ])('%j: idempotent retried=%s, not-idempotent retried=%s', (failure, idempotent, notIdempotent) => {
    expect(decide(failure, 'idempotent').retry).toBe(idempotent);
    expect(decide(failure, 'not-idempotent').retry).toBe(notIdempotent);
  });

  it('stops at maxAttempts and prefers Retry-After over backoff', () => {
    expect(decide(status(503), 'idempotent', 3)).toEqual({ retry: false, why: 'attempts-exhausted' });
    expect(decide(status(429, 4200), 'idempotent')).toMatchObject({ retry: true, delayMs: 4200 });
    expect(decide(status(429, 61_000), 'idempotent')).toEqual({ retry: false, why: 'retry-after-too-long' });
    expect(decide(status(500), 'not-idempotent')).toEqual({ retry: false, why: 'unsafe' });
  });
});
