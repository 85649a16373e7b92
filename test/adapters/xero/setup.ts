/**
 * Test wiring for the Xero adapter: an in-memory key-value store (the engine's store stands in
 * for it in production), a fake clock whose `sleep` only moves time, and a factory.
 */
import type { AdapterDeps, AdapterKeyValue } from '../../../src/adapters/descriptor.js';
import {
  compileXeroConfig,
  createXeroAdapter,
  type XeroAdapter,
  type XeroConfig,
} from '../../../src/adapters/xero/index.js';
import type { XeroFake } from './fake.js';

export interface MemoryKv extends AdapterKeyValue {
  map: Map<string, string>;
  /** Every write, in order (`key=value` or `key=null`). */
  writes: string[];
}

export function memoryKv(): MemoryKv {
  const map = new Map<string, string>();
  const writes: string[] = [];
  return {
    map,
    writes,
    getValue: (key) => Promise.resolve(map.get(key) ?? null),
    setValue: (key, value) => {
      writes.push(`${key}=${value ?? 'null'}`);
      if (value === null) map.delete(key);
      else map.set(key, value);
      return Promise.resolve();
    },
  };
}

export interface FakeClock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Every sleep asked for, in ms. */
  sleeps: number[];
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 2, 11, 9, 0, 0)): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleeps,
    sleep(ms, signal) {
      signal?.throwIfAborted();
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    advance(ms) {
      t += ms;
    },
  };
}

const logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface XeroSubjectOptions {
  fake: XeroFake;
  /** The API base URL (Prism's, or the fake's for tests that need no spec check). */
  baseUrl: string;
  kv?: MemoryKv;
  clock?: FakeClock;
  fetch?: typeof fetch;
  config?: Partial<XeroConfig>;
  seed?: string;
}

export function xeroConfig(
  fake: XeroFake,
  baseUrl: string,
  extra: Partial<XeroConfig> = {},
  seed?: string,
): XeroConfig {
  return {
    type: 'xero',
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    refreshToken: seed ?? fake.issueSeed(),
    tenantId: fake.tenantId,
    bankAccounts: { EUR: '090', JPY: '091', KWD: '092' },
    tracking: { dept: 'Department' },
    taxTypes: { default: 'INPUT2' },
    baseUrl,
    tokenUrl: `${fake.url}/connect/token`,
    connectionsUrl: `${fake.url}/connections`,
    ...extra,
  };
}

export function xeroDeps(kv: MemoryKv, clock: FakeClock, fetchFn: typeof fetch = fetch): AdapterDeps {
  return {
    companyId: '11111111-1111-4111-8111-111111111111',
    dataDir: '/nonexistent',
    kv,
    logger,
    fetch: fetchFn,
    now: clock.now,
  };
}

export function xeroAdapter(options: XeroSubjectOptions): {
  adapter: XeroAdapter;
  kv: MemoryKv;
  clock: FakeClock;
} {
  const kv = options.kv ?? memoryKv();
  const clock = options.clock ?? fakeClock();
  const config = compileXeroConfig(
    xeroConfig(options.fake, options.baseUrl, options.config, options.seed),
    {},
  );
  const adapter = createXeroAdapter(config, xeroDeps(kv, clock, options.fetch), {
    sleep: clock.sleep,
    random: () => 0.5,
  });
  return { adapter, kv, clock };
}
