/**
 * The opt-in rate limit (issue 20): a token bucket per company on the simulator's clock, 429 with
 * `Retry-After` past it, nothing taken by a rejected request, other companies unaffected.
 */
import { describe, expect, it } from 'vitest';
import { simulateCommand } from '../../src/simulator/index.js';
import { CompanyRateLimiter, parseRateLimit } from '../../src/simulator/rate-limit.js';
import { Api, basic, start, type ErrorBody } from './helpers.js';

describe('rate limit', () => {
  it('answers 429 with Retry-After past the burst, per company, and refills on the simulated clock', async () => {
    const { sim, clock, api } = await start({
      companies: 2,
      rateLimit: { requestsPerSecond: 4, burst: 3 },
    });
    const other = new Api(sim.url, basic(sim.companies[1]!.apiKey));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.call('GET', '/v3/export-jobs')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await api.call<ErrorBody>('GET', '/v3/export-jobs');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ type: 'rate_limited' });
    expect(limited.body.message).toContain('4 requests per second per company');

    // The other company has its own bucket.
    expect((await other.call('GET', '/v3/export-jobs')).status).toBe(200);

    // 250 ms of simulated time earns one token (4/s); the rejected requests took none.
    clock.advance(250);
    expect((await api.call('GET', '/v3/export-jobs')).status).toBe(200);
    expect((await api.call('GET', '/v3/export-jobs')).status).toBe(429);
    clock.advance(1000);
    for (let i = 0; i < 3; i++) expect((await api.call('GET', '/v3/export-jobs')).status).toBe(200);

    const counters = sim.admin.state({ items: false }).requests;
    expect(counters.rejectedByReason['rate_limited']).toBe(3);
  });

  it('does not limit unauthenticated answers, the admin API or an unlimited simulator', async () => {
    const limited = await start({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
    for (let i = 0; i < 3; i++) {
      expect((await limited.api.call('GET', '/v3/export-jobs', { auth: null })).status).toBe(401);
    }
    expect((await limited.api.call('GET', '/v3/export-jobs')).status).toBe(200);
    expect((await fetch(`${limited.sim.url}/_admin/clock`)).status).toBe(200);

    const free = await start();
    for (let i = 0; i < 50; i++) expect((await free.api.call('GET', '/v3/export-jobs')).status).toBe(200);
  });

  it('Retry-After counts whole seconds until a token is there', () => {
    let now = 0;
    const limiter = new CompanyRateLimiter({ requestsPerSecond: 0.25, burst: 1 }, { now: () => now });
    expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 4 });
    now += 1500;
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 3 });
    now += 2500;
    expect(limiter.take('a')).toEqual({ ok: true });
  });

  it('parses N/s, N/min and a burst, and rejects anything else', () => {
    expect(parseRateLimit('20/s')).toEqual({ requestsPerSecond: 20, burst: 20 });
    expect(parseRateLimit('2.5/s')).toEqual({ requestsPerSecond: 2.5, burst: 3 });
    expect(parseRateLimit('600/min,burst=5')).toEqual({ requestsPerSecond: 10, burst: 5 });
    for (const bad of ['20', '0/s', '20/h', '-1/s', '20/s,burst=0', 'fast']) {
      expect(() => parseRateLimit(bad)).toThrow(RangeError);
    }
  });

  it('--rate-limit is a flag of `simulate`; a bad value exits 2 with one line', async () => {
    const err: string[] = [];
    const result = await simulateCommand({
      stdout: { write: () => true },
      stderr: { write: (s: string) => err.push(s) },
      exit: (code: number): never => {
        throw Object.assign(new Error('exit'), { code });
      },
    })
      .parseAsync(['--rate-limit', '20/h'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(result).toMatchObject({ code: 2 });
    expect(err.join('')).toContain("expected N/s or N/min (optionally ,burst=B), got '20/h'");
  });
});
