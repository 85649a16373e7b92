/**
 * Engine test harness: the real HTTP path (simulator on port 0 + real client), a real SQLite store
 * in a temporary folder, and an in-memory accounting system. No real sleeps: the client's and the
 * engine's sleeps resolve at once; time is the simulator's manual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { AccountingEntry, MappingResult } from '../../src/accounting/index.js';
import { createMemoryAdapter, type MemoryAdapter } from '../../src/testing/index.js';
import {
  createPleoClient,
  type ExportItem,
  type PleoClient,
  type RequestEvent,
} from '../../src/client/index.js';
import { createEngine, type Engine, type EngineEvent, type EngineOptions } from '../../src/engine/index.js';
import {
  ManualClock,
  startSimulator,
  type RunningSimulator,
  type SimulatorOptions,
} from '../../src/simulator/index.js';
import { createSqliteStore, type Store } from '../../src/store/index.js';

export const noSleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
  signal?.aborted === true ? Promise.reject(new Error('aborted')) : Promise.resolve();

/** A tiny, independent mapping: one debit of the item total to its first line's account, one credit. */
export function simpleMap(item: ExportItem, ctx: { jobId: string }): MappingResult {
  const account = item.accountingEntryLines[0]?.account?.code;
  if (!account) {
    return {
      ok: false,
      failureReasonType: 'missing_configuration',
      failureReason: 'Account X missing: provide account X in the configurations',
    };
  }
  const value = item.amount.inWalletCurrency.value;
  const currency = item.amount.inWalletCurrency.currency;
  const entry: AccountingEntry = {
    accountingEntryId: item.accountingEntryId,
    jobId: ctx.jobId,
    date: item.date.slice(0, 10),
    kind: 'journal',
    itemType: item.type,
    description: item.note ?? item.type,
    reconciliationId: item.additionalInformation.reconciliationId,
    currency,
    postings: [
      { account, amount: { currency, value }, role: 'expense' },
      { account: '2000', amount: { currency, value: -value }, role: 'contra' },
    ],
    posting: 'draft',
    metadata: {},
  } as unknown as AccountingEntry;
  return { ok: true, entry };
}

export interface Harness {
  sim: RunningSimulator;
  clock: ManualClock;
  store: Store;
  adapter: MemoryAdapter;
  client: PleoClient;
  companyId: string;
  apiKey: string;
  dir: string;
  requests: RequestEvent[];
  events: EngineEvent[];
  engine(options?: Partial<EngineOptions>): Engine;
  newClient(): PleoClient;
  close(): Promise<void>;
}

export async function startHarness(simOptions: SimulatorOptions = {}): Promise<Harness> {
  const clock = new ManualClock(Date.parse('2026-06-01T09:00:00.000Z'));
  const sim = await startSimulator({ seed: 7, companies: 1, jobsPerCompany: 0, clock, ...simOptions });
  const dir = mkdtempSync(join(tmpdir(), 'pleo-engine-'));
  // The simulator's notion of now (admin.advanceClock moves it); every party shares it.
  const now = (): number => sim.admin.now();
  const store = createSqliteStore({ path: join(dir, 'state.db'), now });
  await store.migrate();
  const adapter = createMemoryAdapter({ now });
  const company = sim.companies[0]!;
  const requests: RequestEvent[] = [];
  const events: EngineEvent[] = [];
  const newClient = (): PleoClient =>
    createPleoClient({
      baseUrl: sim.url,
      companyId: company.id,
      auth: { kind: 'apiKey', apiKey: company.apiKey },
      rateLimit: false,
      sleep: noSleep,
      clock: now,
      retry: { maxAttempts: 8 },
      onRequest: (e) => requests.push(e),
    });
  const client = newClient();
  return {
    sim,
    clock,
    store,
    adapter,
    client,
    companyId: company.id,
    apiKey: company.apiKey,
    dir,
    requests,
    events,
    newClient,
    engine: (options = {}) =>
      createEngine({
        store,
        client,
        adapter,
        mapItem: simpleMap,
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
        onEvent: (e) => events.push(e),
        ...options,
      }),
    async close() {
      await store.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
