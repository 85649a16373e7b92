/**
 * Daemon test world: a simulator on port 0 with a manual clock, a real SQLite store in a temp
 * folder, a configuration loaded from a real file, one in-memory accounting system per company
 * (injected through `createRuntime`, so the test can inspect bookings), a fake timer port, and a
 * logger that keeps every record. Nothing really sleeps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createMemoryAdapter, type MemoryAdapter } from '../../src/testing/index.js';
import { createPleoClient } from '../../src/client/index.js';
import { loadConfig, type CompiledConfig } from '../../src/config/index.js';
import { createEngine, type EngineLogger, type EngineOptions } from '../../src/engine/index.js';
import {
  startServer,
  type CreateRuntime,
  type RunningServer,
  type ServerOptions,
  type SetTimeoutLike,
} from '../../src/server/index.js';
import { ManualClock, startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { createSqliteStore, type Store } from '../../src/store/index.js';
import { noSleep, simpleMap } from '../engine/harness.js';

export const WEBHOOK_SECRET = `whsec_${Buffer.from('a test secret of thirty-two bytes').toString('base64')}`;
export const TRIGGER_TOKEN = 'trigger-token-0123456789';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

/** Timers that fire only when the test says so. */
export class FakeTimers {
  readonly timers: { callback: () => void; ms: number; active: boolean }[] = [];
  readonly setTimeout: SetTimeoutLike = (callback, ms) => {
    const timer = { callback, ms, active: true };
    this.timers.push(timer);
    return () => {
      timer.active = false;
    };
  };
  active(): { ms: number }[] {
    return this.timers.filter((t) => t.active);
  }
  /** Fires every armed timer once; returns how many fired. */
  fireAll(): number {
    const due = this.timers.filter((t) => t.active);
    for (const t of due) {
      t.active = false;
      t.callback();
    }
    return due.length;
  }
}

export interface World {
  sim: RunningSimulator;
  store: Store;
  dir: string;
  config: CompiledConfig;
  companies: { id: string; apiKey: string }[];
  adapters: Map<string, MemoryAdapter>;
  timers: FakeTimers;
  logs: LogRecord[];
  logger: EngineLogger;
  now(): number;
  createRuntime: CreateRuntime;
  /** Starts a server over the world (port 0, fake timers, memory adapters) unless told otherwise. */
  start(options?: Partial<ServerOptions>): Promise<RunningServer>;
  close(): Promise<void>;
}

export interface WorldOptions {
  companies?: number;
  /** Extra `server` keys of the configuration file. */
  server?: Record<string, unknown>;
  /** Called before every accounting write (to pause or interrupt mid-job). */
  beforeRecord?: (call: number) => void | Promise<void>;
  /** @default the engine harness's simpleMap */
  mapItem?: EngineOptions['mapItem'];
  /** Step boundaries of every engine run (throw to simulate a crash there). */
  onStep?: EngineOptions['onStep'];
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const clock = new ManualClock(Date.parse('2026-06-01T09:00:00.000Z'));
  const sim = await startSimulator({
    seed: 7,
    companies: options.companies ?? 1,
    jobsPerCompany: 0,
    clock,
    webhookRetryDelaysMs: [],
  });
  const now = (): number => sim.admin.now();
  const dir = mkdtempSync(join(tmpdir(), 'pleo-server-'));
  const store = createSqliteStore({ path: join(dir, 'state.db'), now });
  await store.migrate();
  const file = join(dir, 'pleo-export.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: dir,
      pleo: { url: sim.url },
      companies: sim.companies.map((c, i) => ({
        id: c.id,
        name: `company-${i}`,
        apiKey: c.apiKey,
        adapter: { type: 'hledger', journal: join(dir, `company-${i}.journal`) },
      })),
      server: { port: 0, pollIntervalMs: 60_000, ...options.server },
    }),
  );
  const config = loadConfig({ path: file, env: {} });
  let calls = 0;
  const adapters = new Map(
    sim.companies.map((c) => [
      c.id,
      createMemoryAdapter({ now, beforeRecord: () => options.beforeRecord?.(++calls) }),
    ]),
  );
  const logs: LogRecord[] = [];
  const at =
    (level: LogRecord['level']) =>
    (obj: object, msg?: string): void => {
      logs.push({ level, obj, msg });
    };
  const logger: EngineLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const timers = new FakeTimers();
  const servers: RunningServer[] = [];

  const createRuntime: CreateRuntime = (company, hooks) => {
    const adapter = adapters.get(company.id)!;
    const apiKey = company.auth.kind === 'apiKey' ? company.auth.apiKey : '';
    const client = createPleoClient({
      baseUrl: sim.url,
      companyId: company.id,
      auth: { kind: 'apiKey', apiKey },
      rateLimit: false,
      sleep: noSleep,
      clock: now,
      retry: { maxAttempts: 8 },
      onRequest: (e) => hooks.onRequest?.(company.id, e),
    });
    const engine = createEngine({
      store,
      client,
      adapter,
      mapItem: options.mapItem ?? simpleMap,
      attachmentsDir: join(dir, 'receipts'),
      receiptPolicy: {
        attachments: {
          maxBytes: 30 * 1024 * 1024,
          required: true,
          allowedTypes: ['application/pdf', 'image/png', 'image/jpeg'],
        },
      },
      sleep: noSleep,
      now,
      random: () => 0.5,
      ...(hooks.logger ? { logger: hooks.logger } : {}),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      onEvent: (e) => hooks.onEvent?.(company.id, e),
    });
    // The memory adapter stays open: a later server in the same test sees the same bookings.
    return Promise.resolve({ company, client, adapter, engine, close: () => Promise.resolve() });
  };

  return {
    sim,
    store,
    dir,
    config,
    companies: sim.companies,
    adapters,
    timers,
    logs,
    logger,
    now,
    createRuntime,
    async start(overrides = {}) {
      const server = await startServer({
        config,
        store,
        logger,
        createRuntime,
        hooks: { now, setTimeout: timers.setTimeout, random: () => 0.5 },
        ...overrides,
      });
      servers.push(server);
      return server;
    },
    async close() {
      for (const server of servers) await server.close();
      await store.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The configuration with some `server` keys replaced (the compiled object is frozen). */
export function withServer(
  config: CompiledConfig,
  server: Partial<CompiledConfig['server']>,
): CompiledConfig {
  return { ...config, server: { ...config.server, ...server } };
}

export interface Posted {
  status: number;
  body: Record<string, unknown>;
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Posted> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** The sum of the samples of `name` whose labels include `labels` (0 when none). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (wanted.every(([k, v]) => got.get(k) === v)) sum += Number(match[3]);
  }
  return sum;
}
