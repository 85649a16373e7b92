import { describe, expect, it } from 'vitest';
import { compileClientOptions, createPleoClient, type PleoClientOptions } from '../../src/client/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { API_KEY, checkNoSecretsLeak, COMPANY_ID, recordError } from './helpers.js';

checkNoSecretsLeak();

const base: PleoClientOptions = { companyId: COMPANY_ID, auth: { kind: 'apiKey', apiKey: API_KEY } };

function message(options: unknown): string {
  try {
    compileClientOptions(options as PleoClientOptions);
  } catch (error) {
    recordError(error);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', retryable: false });
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('compileClientOptions', () => {
  it('resolves defaults into a frozen object', () => {
    const compiled = compileClientOptions(base);
    expect(compiled).toMatchObject({
      baseUrl: 'https://external.pleo.io',
      companyId: COMPANY_ID,
      timeoutMs: 30_000,
      pageSize: 100,
      userAgent: 'pleo-export',
      validateResponses: true,
      // Issue 20: no fixed pace by default (Pleo documents no limit), 8 requests in flight.
      rateLimit: { requestsPerSecond: undefined, burst: undefined, maxConcurrency: 8 },
      retry: {
        maxAttempts: 4,
        initialDelayMs: 250,
        maxDelayMs: 20_000,
        multiplier: 2,
        jitter: 0.5,
        maxRetryAfterMs: 60_000,
      },
    });
    expect(Object.isFrozen(compiled)).toBe(true);
  });

  it('normalises the base URL (trailing slash) and keeps a path prefix', () => {
    expect(compileClientOptions({ ...base, baseUrl: 'http://127.0.0.1:4010/' }).baseUrl).toBe(
      'http://127.0.0.1:4010',
    );
    expect(compileClientOptions({ ...base, baseUrl: 'https://proxy.example/pleo/' }).baseUrl).toBe(
      'https://proxy.example/pleo',
    );
  });

  it.each([
    [{ ...base, companyId: 'acme' }, 'Pleo client: companyId must be a uuid, got "acme"'],
    [{ ...base, timeout: 5 }, 'Pleo client: unknown option "timeout"'],
    [{ ...base, timeoutMs: 0 }, 'Pleo client: timeoutMs must be an integer from 1 to 600000, got 0'],
    [{ ...base, pageSize: 5000 }, 'Pleo client: pageSize must be an integer from 1 to 1000, got 5000'],
    [{ ...base, baseUrl: 'ftp://x' }, 'Pleo client: baseUrl must be an http(s) URL'],
    [{ ...base, baseUrl: 'https://u:p@x' }, 'Pleo client: baseUrl must not contain credentials'],
    [{ ...base, baseUrl: 'https://x/?a=1' }, 'Pleo client: baseUrl must not have a query string or fragment'],
    [{ ...base, auth: undefined }, 'Pleo client: auth is required: {kind: "apiKey"} or {kind: "oauth"}'],
    [
      { ...base, auth: { kind: 'apiKey', apiKey: '' } },
      'Pleo client: auth.apiKey must be a non-empty string',
    ],
    [
      { ...base, auth: { kind: 'oauth', tokens: {} } },
      'Pleo client: auth.tokens must be a TokenProvider (an object with getAccessToken())',
    ],
    [{ ...base, auth: { kind: 'jwt' } }, 'Pleo client: auth.kind must be "apiKey" or "oauth", got "jwt"'],
    [
      { ...base, rateLimit: { requestsPerSecond: 0 } },
      'Pleo client: rateLimit.requestsPerSecond must be an integer from 1 to 10000, got 0',
    ],
    // The configuration's limits (`pleo.*`), where the client used to accept more (issue 18).
    [
      { ...base, timeoutMs: 1500.5 },
      'Pleo client: timeoutMs must be an integer from 1 to 600000, got 1500.5',
    ],
    [
      { ...base, rateLimit: { requestsPerSecond: 0.5 } },
      'Pleo client: rateLimit.requestsPerSecond must be an integer from 1 to 10000, got 0.5',
    ],
    [
      { ...base, rateLimit: { requestsPerSecond: 10_001 } },
      'Pleo client: rateLimit.requestsPerSecond must be an integer from 1 to 10000, got 10001',
    ],
    [
      { ...base, rateLimit: { requestsPerSecond: 5, burst: 0 } },
      'Pleo client: rateLimit.burst must be an integer from 1 to 10000, got 0',
    ],
    [
      { ...base, rateLimit: { requestsPerSecond: 5, bursts: 2 } },
      'Pleo client: rateLimit.bursts is not a rate limit option',
    ],
    [
      { ...base, rateLimit: { burst: 5 } },
      'Pleo client: rateLimit.burst needs rateLimit.requestsPerSecond (it is the burst of that ceiling)',
    ],
    [
      { ...base, rateLimit: { maxConcurrency: 0 } },
      'Pleo client: rateLimit.maxConcurrency must be an integer from 1 to 1000, got 0',
    ],
    [
      { ...base, retry: { maxAttempts: 0 } },
      'Pleo client: retry.maxAttempts must be an integer from 1 to 100, got 0',
    ],
    [{ ...base, fetch: 'yes' }, 'Pleo client: fetch must be a function'],
  ])('rejects %j', (options, expected) => {
    expect(message(options)).toBe(expected);
  });

  it('resolves a ceiling with its default burst', () => {
    expect(compileClientOptions({ ...base, rateLimit: { requestsPerSecond: 3 } }).rateLimit).toEqual({
      requestsPerSecond: 3,
      burst: 3,
      maxConcurrency: 8,
    });
    expect(compileClientOptions({ ...base, rateLimit: false }).rateLimit).toBe(false);
  });

  it('never echoes an API key in its messages', () => {
    const text = message({ ...base, auth: { kind: 'apiKey', apiKey: `${API_KEY}:oops` } });
    expect(text).not.toContain(API_KEY);
  });

  it('createPleoClient compiles options once, up front', () => {
    expect(() => createPleoClient({ ...base, pageSize: -1 })).toThrow(ConfigError);
    expect(createPleoClient(base).companyId).toBe(COMPANY_ID);
  });
});
