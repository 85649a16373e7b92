/**
 * The Xero adapter's OAuth rotation, rate limiting and fault policy, against the stateful fake
 * directly (Prism is not needed to check our own behaviour; xero.prism.test.ts checks the
 * requests against the spec). Time is a fake clock: no real sleeps.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { classifyAccountingError } from '../../src/adapters/index.js';
import {
  checkXero,
  compileXeroConfig,
  xeroConfigSchema,
  xeroDescriptor,
} from '../../src/adapters/xero/index.js';
import { createTenantLimiter } from '../../src/adapters/xero/limiter.js';
import { AccountingSystemError, ConfigError } from '../../src/errors/index.js';
import { contractEntry } from './contract.js';
import { XeroFake } from './xero/fake.js';
import { patchSpec, XERO_SPEC } from './xero/prism.js';
import { fakeClock, memoryKv, xeroAdapter, xeroConfig, xeroDeps } from './xero/setup.js';

const COMPANY = '11111111-1111-4111-8111-111111111111';
const fake = new XeroFake();

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => fake.reset());

const record = (adapter: ReturnType<typeof xeroAdapter>['adapter'], entry = contractEntry()) =>
  adapter.record(entry, { companyId: COMPANY, idempotencyKey: entry.accountingEntryId, attachments: [] });

describe('OAuth token rotation', () => {
  it('persists the rotated pair before the new access token is used, and reuses it until it expires', async () => {
    const kv = memoryKv();
    const events: string[] = [];
    const seed = fake.issueSeed();
    const logged: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      if (!url.endsWith('/connect/token')) {
        const stored = JSON.parse(kv.map.get(`oauth:${fake.clientId}:${fake.tenantId}`) ?? '{}') as {
          accessToken?: string;
        };
        events.push(
          stored.accessToken === auth.replace('Bearer ', '')
            ? 'api call with the stored token'
            : 'api call with an unstored token',
        );
      } else events.push('refresh');
      return fetch(input, init);
    };
    const { adapter, clock } = xeroAdapter({ fake, baseUrl: fake.url, kv, fetch: logged, seed });
    expect((await record(adapter)).status).toBe('booked');
    expect((await record(adapter)).status).toBe('booked');
    expect(events).toEqual([
      'refresh',
      'api call with the stored token',
      'api call with the stored token',
      'api call with the stored token',
    ]);
    const stored = JSON.parse(kv.map.get(`oauth:${fake.clientId}:${fake.tenantId}`)!) as {
      refreshToken: string;
      seed: string;
    };
    expect(fake.refreshTokens.has(stored.refreshToken)).toBe(true);
    expect(stored.seed).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify([...kv.map.values()])).not.toContain(seed);
    // 29 minutes later the access token is within a minute of expiry: one refresh, rotated again.
    clock.advance(29.5 * 60_000);
    expect((await record(adapter)).status).toBe('booked');
    expect(fake.refreshCount).toBe(2);
    expect(fake.refreshTokens.has(stored.refreshToken)).toBe(false);
  });

  it('a restart continues from the stored refresh token (the seed is spent and not used again)', async () => {
    const kv = memoryKv();
    const seed = fake.issueSeed();
    const first = xeroAdapter({ fake, baseUrl: fake.url, kv, seed });
    expect((await record(first.adapter)).status).toBe('booked');
    first.clock.advance(3_600_000);
    const second = xeroAdapter({ fake, baseUrl: fake.url, kv, seed, clock: first.clock });
    expect((await record(second.adapter)).status).toBe('booked');
    expect(fake.refreshCount).toBe(2);
  });

  it('concurrent callers share one refresh', async () => {
    const { adapter } = xeroAdapter({ fake, baseUrl: fake.url });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => record(adapter)));
    expect(outcomes.every((o) => o.status === 'booked')).toBe(true);
    expect(fake.refreshCount).toBe(1);
  });

  it('a 401 (token revoked early) refreshes once and repeats the call', async () => {
    const { adapter } = xeroAdapter({ fake, baseUrl: fake.url });
    expect((await record(adapter)).status).toBe('booked');
    fake.accessTokens.clear();
    expect((await record(adapter)).status).toBe('booked');
    expect(fake.refreshCount).toBe(2);
  });

  it('invalid_grant → job failure (not retryable) telling the operator to reconnect Xero', async () => {
    const { adapter } = xeroAdapter({ fake, baseUrl: fake.url, seed: 'spent-or-revoked' });
    const error = await record(adapter).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountingSystemError);
    expect(error).toMatchObject({ code: 'ACCOUNTING_AUTH', retryable: false });
    expect((error as Error).message).toMatch(/invalid_grant.*Reconnect Xero/s);
    expect(classifyAccountingError(error)).toMatchObject({
      kind: 'job',
      failureReasonType: 'accounting_system_authentication_failure',
    });
    const validation = await adapter.validate({ companyId: COMPANY, vendorBasedBookkeeping: false });
    expect(validation).toMatchObject({
      ok: false,
      failureReasonType: 'accounting_system_authentication_failure',
    });
  });

  it('a new seed (reconnect) replaces a stored chain that Xero no longer accepts', async () => {
    const kv = memoryKv();
    const first = xeroAdapter({ fake, baseUrl: fake.url, kv });
    expect((await record(first.adapter)).status).toBe('booked');
    fake.refreshTokens.clear(); // the connection was revoked in Xero
    fake.accessTokens.clear();
    const second = xeroAdapter({ fake, baseUrl: fake.url, kv, seed: fake.issueSeed() });
    expect((await record(second.adapter)).status).toBe('booked');
  });

  it('a tenant not connected to the app → 403 → authorization_failure', async () => {
    const { adapter } = xeroAdapter({
      fake,
      baseUrl: fake.url,
      config: { tenantId: '00000000-0000-4000-8000-000000000000' },
    });
    const error = await record(adapter).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ACCOUNTING_AUTH', retryable: false, status: 403 });
    expect(classifyAccountingError(error)).toMatchObject({
      kind: 'job',
      failureReasonType: 'authorization_failure',
    });
  });
});

describe('rate limits and transient faults', () => {
  it('429 with Retry-After: waits as told (whole tenant paused), then succeeds with one document', async () => {
    const { adapter, clock } = xeroAdapter({ fake, baseUrl: fake.url });
    fake.failNext(1, 429, { 'retry-after': '7', 'x-rate-limit-problem': 'minute' }, '/BankTransactions');
    const entry = contractEntry();
    expect((await record(adapter, entry)).status).toBe('booked');
    expect(clock.sleeps.some((ms) => ms >= 7000 && ms <= 7250)).toBe(true);
    expect(fake.documentsFor(entry.accountingEntryId)).toHaveLength(1);
  });

  it('the daily limit stops the run for later: a retryable rate-limit error, no item failure', async () => {
    const { adapter, clock } = xeroAdapter({ fake, baseUrl: fake.url });
    fake.failNext(
      1,
      429,
      { 'retry-after': '5400', 'x-rate-limit-problem': 'day', 'x-daylimit-remaining': '0' },
      '/BankTransactions',
    );
    const error = await record(adapter).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ACCOUNTING_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 5_400_000,
    });
    expect((error as Error).message).toContain('daily API limit');
    expect(clock.sleeps.filter((ms) => ms >= 5000)).toEqual([]);
  });

  it('503s are retried with backoff; after maxAttempts a retryable error', async () => {
    const { adapter } = xeroAdapter({ fake, baseUrl: fake.url });
    fake.failNext(2, 503, {}, '/BankTransactions');
    expect((await record(adapter)).status).toBe('booked');
    fake.failNext(5, 503, {}, '/BankTransactions');
    await expect(record(adapter)).rejects.toMatchObject({
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
      status: 503,
    });
  });

  it('limiter: never more than 5 calls in flight, never more than 60 started in a minute', async () => {
    const clock = fakeClock();
    const limiter = createTenantLimiter({ concurrency: 5, perMinute: 60 }, clock);
    let inFlight = 0;
    let peak = 0;
    const starts: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = Array.from({ length: 130 }, () =>
      limiter.run(async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        starts.push(clock.now());
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
      }),
    );
    // Release calls one turn at a time until all 130 have run.
    for (let done = 0; done < 130;) {
      await new Promise((resolve) => setImmediate(resolve));
      const batch = releases.splice(0);
      batch.forEach((release) => release());
      done += batch.length;
    }
    await Promise.all(tasks);
    expect(peak).toBe(5);
    for (let i = 60; i < starts.length; i++)
      expect(starts[i]! - starts[i - 60]!).toBeGreaterThanOrEqual(60_000);
  });
});

describe('spec patch and descriptor', () => {
  it("Xero's official spec still needs the octet-stream patch, and it applies (22 bodies)", () => {
    const text = readFileSync(XERO_SPEC, 'utf8');
    const { doc, patched } = patchSpec(text);
    expect(patched).toBe(22);
    // Patched once, nothing is left to patch.
    expect(patchSpec(JSON.stringify(doc)).patched).toBe(0);
  });

  it('descriptor: type, schema, create; a config error names the key', async () => {
    expect(xeroDescriptor.type).toBe('xero');
    expect(xeroDescriptor.supportsScaleOut).toBe(false);
    const config = xeroDescriptor.configSchema.parse(xeroConfig(fake, fake.url));
    const adapter = await xeroDescriptor.create(config, xeroDeps(memoryKv(), fakeClock()));
    expect(adapter.name).toBe('xero');
    const { clientSecret: _s, ...noSecret } = config;
    await expect(xeroDescriptor.create(noSecret, xeroDeps(memoryKv(), fakeClock()))).rejects.toThrow(
      /adapter.clientSecret: missing/,
    );
  });
});

describe('configuration and check', () => {
  it('rejects unknown keys and bad values with the key named; resolves Env/File secrets', () => {
    expect(xeroConfigSchema.safeParse({ ...xeroConfig(fake, fake.url), colour: 'red' }).success).toBe(false);
    expect(() => compileXeroConfig({ ...xeroConfig(fake, fake.url), tenantId: 'nope' })).toThrow(
      /adapter.tenantId: expected the Xero tenant id/,
    );
    const { clientSecret: _s, ...noSecret } = xeroConfig(fake, fake.url);
    expect(() => compileXeroConfig(noSecret)).toThrow(ConfigError);
    expect(() => compileXeroConfig({ ...noSecret, clientSecretEnv: 'XERO_SECRET_UNSET' }, {})).toThrow(
      /XERO_SECRET_UNSET is not set/,
    );
    expect(compileXeroConfig({ ...noSecret, clientSecretEnv: 'XS' }, { XS: 'from-env' }).clientSecret).toBe(
      'from-env',
    );
    expect(() =>
      compileXeroConfig({ ...xeroConfig(fake, fake.url), tracking: { a: 'A', b: 'B', c: 'C' } }),
    ).toThrow(/at most two tracking/);
  });

  it('check: all green on a good setup; actionable fixes for a wrong bank account, tracking category and tenant', async () => {
    const kv = memoryKv();
    const clock = fakeClock();
    const good = await checkXero(xeroConfigSchema.parse(xeroConfig(fake, fake.url)), xeroDeps(kv, clock));
    expect(good.filter((c) => !c.ok)).toEqual([]);
    expect(good.map((c) => c.what).join('\n')).toContain('Xero organisation Fake Ltd');

    const bad = await checkXero(
      xeroConfigSchema.parse(
        xeroConfig(fake, fake.url, {
          taxTypes: { default: 'INPUT9' },
          bankAccounts: { EUR: '091', SEK: '999' },
          tracking: { dept: 'Dept' },
        }),
      ),
      xeroDeps(memoryKv(), clock),
    );
    const fixes = bad
      .filter((c) => !c.ok)
      .map((c) => c.fix)
      .join('\n');
    expect(fixes).toContain('Xero bank account 091 is in JPY, not EUR');
    expect(fixes).toContain('Xero has no account with code 999');
    expect(fixes).toContain('Create the tracking category "Dept"');
    expect(fixes).toMatch(/no active tax rate with TaxType INPUT9.*INPUT2 \(Rate INPUT2\)/);

    const tenant = await checkXero(
      xeroConfigSchema.parse(
        xeroConfig(fake, fake.url, { tenantId: '00000000-0000-4000-8000-000000000000' }),
      ),
      xeroDeps(memoryKv(), clock),
    );
    expect(
      tenant
        .filter((c) => !c.ok)
        .map((c) => c.fix)
        .join('\n'),
    ).toContain(`Fake Ltd (${fake.tenantId})`);

    const revoked = await checkXero(
      xeroConfigSchema.parse(xeroConfig(fake, fake.url, {}, 'revoked')),
      xeroDeps(memoryKv(), clock),
    );
    expect(revoked.at(-1)).toMatchObject({
      ok: false,
      fix: expect.stringContaining('Reconnect Xero') as unknown,
    });
  });
});
