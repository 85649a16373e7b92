/**
 * One source for every setting (issue 18): the configuration file, the client, the engine, the work
 * queue and the store take each limit and default from the same definition, so where they used to
 * disagree they now agree on the configuration's documented limit.
 */
import { describe, expect, it } from 'vitest';

import type { AccountingAdapter } from '../../src/adapters/index.js';
import { clientSettings, compileClientOptions, createPleoClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createEngine, type EngineOptions } from '../../src/engine/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { createWorkQueue } from '../../src/queue/index.js';
import { createPostgresStore, SCHEMA_NAME_PATTERN, type Store } from '../../src/store/index.js';

const COMPANY = '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
const client = createPleoClient({ companyId: COMPANY, auth: { kind: 'apiKey', apiKey: 'k' } });

function configError(raw: unknown): string {
  try {
    loadConfig({ env: {}, raw });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

function engineWith(options: Partial<EngineOptions>): () => unknown {
  return () =>
    createEngine({
      store: {} as Store,
      client,
      adapter: {} as AccountingAdapter,
      mapItem: () => {
        throw new Error('not called');
      },
      attachmentsDir: null,
      receiptPolicy: { attachments: { maxBytes: 1, required: false } } as EngineOptions['receiptPolicy'],
      ...options,
    });
}

describe('page size: the engine took up to 10,000, the configuration and the client 1,000', () => {
  it('is 1,000 everywhere now', () => {
    expect(configError({ pleo: { pageSize: 1001 } })).toContain(
      'pleo.pageSize: got 1001: expected a number ≤ 1000',
    );
    expect(() =>
      compileClientOptions({ companyId: COMPANY, auth: { kind: 'apiKey', apiKey: 'k' }, pageSize: 1001 }),
    ).toThrow('Pleo client: pageSize must be an integer from 1 to 1000, got 1001');
    expect(engineWith({ pageSize: 1001 })).toThrow(
      new ConfigError('engine.pageSize must be an integer from 1 to 1000, got 1001'),
    );
    expect(engineWith({ pageSize: 1000 })).not.toThrow();
    expect(loadConfig({ env: {}, raw: { pleo: { pageSize: 1000 } } }).pleo.pageSize).toBe(1000);
  });
});

describe('the engine checks its options with the configuration’s fields', () => {
  it.each([
    [{ concurrency: 257 }, 'engine.concurrency must be an integer from 1 to 256, got 257'],
    [{ downloadConcurrency: 0 }, 'engine.downloadConcurrency must be an integer from 1 to 64, got 0'],
    [{ keepAliveMs: 1.5 }, 'engine.keepAliveMs must be an integer from 1 to 3000000, got 1.5'],
    [{ maxReportAttempts: 101 }, 'engine.maxReportAttempts must be an integer from 1 to 100, got 101'],
  ])('%j', (options, message) => {
    expect(engineWith(options)).toThrow(new ConfigError(message));
  });

  it('and the configuration rejects the same values', () => {
    const text = configError({ engine: { concurrency: 257, downloadConcurrency: 0, keepAliveMs: 1.5 } });
    expect(text).toContain('engine.concurrency: got 257: expected a number ≤ 256');
    expect(text).toContain('engine.downloadConcurrency: got 0: expected a number ≥ 1');
    expect(text).toContain('engine.keepAliveMs: got 1.5: expected a whole number');
  });
});

describe('the client and the configuration agree on the pleo block', () => {
  it('has the same defaults', () => {
    const config = loadConfig({ env: {}, raw: {} });
    const compiled = compileClientOptions({ companyId: COMPANY, auth: { kind: 'apiKey', apiKey: 'k' } });
    expect(compiled).toMatchObject({
      baseUrl: config.pleo.url,
      pageSize: config.pleo.pageSize,
      timeoutMs: config.pleo.timeoutMs,
      maxResponseBytes: config.pleo.maxResponseBytes,
      rateLimit: { requestsPerSecond: config.pleo.requestsPerSecond },
    });
  });

  it('takes the configuration’s limits where the client used to accept more', () => {
    // timeoutMs: the client took any number in (0, 600000]; the configuration whole numbers.
    expect(configError({ pleo: { timeoutMs: 1500.5 } })).toContain(
      'pleo.timeoutMs: got 1500.5: expected a whole number',
    );
    // requestsPerSecond: the client took any positive number; the configuration 1 to 10,000.
    expect(configError({ pleo: { requestsPerSecond: 0.5 } })).toContain('expected a whole number');
    // maxResponseBytes: the client took 1 byte; the configuration at least 64 KiB.
    expect(configError({ pleo: { maxResponseBytes: 65_535 } })).toContain(
      'pleo.maxResponseBytes: got 65535: expected a number ≥ 65536',
    );
    for (const [key, value] of [
      ['timeoutMs', 1500.5],
      ['requestsPerSecond', 0.5],
      ['maxResponseBytes', 65_535],
    ] as const) {
      expect(clientSettings[key].safeParse(value).success).toBe(false);
    }
  });
});

describe('the work queue', () => {
  const connectionString = 'postgres://nobody@127.0.0.1:1/none';

  it('checks its settings with the fields the configuration’s postgres block uses', () => {
    expect(() => createWorkQueue({ connectionString, heartbeatSeconds: 5 })).toThrow(
      new ConfigError('queue heartbeatSeconds must be an integer from 10 to 3600, got 5'),
    );
    expect(configError({ postgres: { heartbeatSeconds: 5 } })).toContain(
      'postgres.heartbeatSeconds: got 5: expected a number ≥ 10',
    );
    expect(() => createWorkQueue({ connectionString, pollIntervalMs: 499 })).toThrow(
      'queue pollIntervalMs must be an integer from 500 to 600000, got 499',
    );
    expect(configError({ postgres: { pollIntervalMs: 499 } })).toContain('expected a number ≥ 500');
  });

  it('defaults as the configuration does', () => {
    const postgres = loadConfig({ env: {}, raw: {} }).postgres;
    expect(postgres).toMatchObject({
      queueSchema: 'pleo_export_queue',
      heartbeatSeconds: 30,
      superviseIntervalSeconds: 15,
      pollIntervalMs: 2000,
      retryDelayMaxSeconds: 300,
    });
  });
});

describe('schema names: one pattern for the configuration, the store and the queue', () => {
  const connectionString = 'postgres://nobody@127.0.0.1:1/none';

  it.each(['pleo_export', '_x', 'a'.repeat(50)])('accepts %s', (name) => {
    expect(SCHEMA_NAME_PATTERN.test(name)).toBe(true);
    expect(
      loadConfig({ env: {}, raw: { postgres: { schema: name, queueSchema: name } } }).postgres,
    ).toMatchObject({
      schema: name,
      queueSchema: name,
    });
    expect(() => createWorkQueue({ connectionString, schema: name })).not.toThrow();
  });

  it.each(['Pleo', '1abc', 'a-b', 'a'.repeat(64), 'x"; DROP TABLE y; --', ''])('refuses %j', (name) => {
    expect(SCHEMA_NAME_PATTERN.test(name)).toBe(false);
    expect(configError({ postgres: { schema: name } })).toContain('postgres.schema');
    expect(configError({ postgres: { queueSchema: name } })).toContain('postgres.queueSchema');
    expect(() => createWorkQueue({ connectionString, schema: name })).toThrow(/lower-case identifier/);
    expect(() => createPostgresStore({ connectionString, schema: name })).toThrow(/lower-case identifier/);
  });

  it('takes store schema names up to 63 characters (PostgreSQL), queue schema names up to 50 (pg-boss)', () => {
    const name = 'a'.repeat(63);
    expect(loadConfig({ env: {}, raw: { postgres: { schema: name } } }).postgres.schema).toBe(name);
    expect(() => createPostgresStore({ connectionString, schema: name })).not.toThrow();
    // pg-boss asserts "Name cannot exceed 50 bytes": refused up front with a clear message instead.
    expect(configError({ postgres: { queueSchema: 'a'.repeat(51) } })).toContain(
      'postgres.queueSchema: got "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": expected at most 50 characters',
    );
    expect(() => createWorkQueue({ connectionString, schema: 'a'.repeat(51) })).toThrow(
      new ConfigError(
        `queue schema "${'a'.repeat(51)}" must be a lower-case identifier ([a-z_][a-z0-9_]*) of at most 50 characters`,
      ),
    );
  });
});
