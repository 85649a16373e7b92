/**
 * The fault matrix (issue 16): for every call to Pleo and to the accounting system, each kind of
 * transient fault and the ambiguous outcome (applied, answer lost) is injected into a fifth of its
 * requests (and always into the first), on the hledger and HTTP adapters, with the embedded
 * (SQLite) and the PostgreSQL store. Every job must end `completed` (the simulator's items here are
 * all bookable), no entry may be booked twice, every booked entry must be `successful` at Pleo,
 * and no job may be failed. A job may take several runs (a run deferred by a fault that outlasted
 * its retries is resumed by the next one, as the scheduler would); it may never take forever.
 *
 * The matrix (operation × fault → outcome per adapter/store) is printed at the end.
 *
 * `npm test` runs every cell (operation × fault) once, each on one of the four adapter/store
 * combinations, drawn by a seed printed with the matrix, so that successive runs cover all 180
 * pairs: `FAULT_SEED=n` replays a sample, `FAULT_MATRIX=full` runs every cell on every combination,
 * `FAULT_CELL=side:operation:fault` one cell on every combination.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import {
  createHledgerAdapter,
  createHttpAdapter,
  type AccountingAdapter,
  type ReceiverOperation,
} from '../../src/adapters/index.js';
import { createPleoClient } from '../../src/client/index.js';
import { createEngine } from '../../src/engine/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import { ManualClock, startSimulator, type Fault, type RunningSimulator } from '../../src/simulator/index.js';
import { createPostgresStore, createSqliteStore, type Store } from '../../src/store/index.js';
import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';
import { Rng } from '../../src/simulator/data/prng.js';
import { noSleep } from '../engine/harness.js';

const SEED = 11;
/** The demo's mapping of the simulator's data: every item of a `failureRatio: 0` job books. */
const accounting = compileAccountingConfig(simulatorAccountingConfig(SEED));
const DATABASE_URL = process.env['PLEO_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const ITEMS = 10;
const RATE = 0.2;
/** Runs a job may take before the matrix calls it a loop. */
const MAX_RUNS = 8;

type FaultName = '503' | '429' | 'reset' | 'timeout' | 'ambiguous';
const FAULTS: readonly FaultName[] = ['503', '429', 'reset', 'timeout', 'ambiguous'];
type PleoOperation = 'list' | 'fetch' | 'download' | 'PUT' | 'event';
const PLEO_OPERATIONS: Record<PleoOperation, string> = {
  list: 'listJobItems',
  fetch: 'listExportItems',
  download: 'files',
  PUT: 'updateJobItems',
  event: 'createEvent',
};
const ACCOUNTING_OPERATIONS: readonly ReceiverOperation[] = ['validate', 'attachment', 'record', 'lookup'];
type AdapterKind = 'hledger' | 'http';
type StoreKind = 'sqlite' | 'postgres';
const COMBOS: readonly [AdapterKind, StoreKind][] = [
  ['hledger', 'sqlite'],
  ['hledger', 'postgres'],
  ['http', 'sqlite'],
  ['http', 'postgres'],
];

function simulatorFault(name: FaultName): Fault {
  switch (name) {
    case '503':
      return { kind: 'status', status: 503 };
    case '429':
      return { kind: 'status', status: 429, retryAfterSeconds: 1 };
    case 'reset':
      return { kind: 'drop' };
    case 'timeout':
      return { kind: 'hang' };
    case 'ambiguous':
      return { kind: 'ambiguous' };
  }
}

/**
 * Faults for an adapter that has no wire (hledger): the error each fault would surface as, thrown
 * before the call (nothing done) or, for `ambiguous`, after it (done, answer lost).
 */
function faultyHledger(
  inner: AccountingAdapter,
  cell: { operation: ReceiverOperation; fault: FaultName } | null,
  counter: { injected: number },
): AccountingAdapter {
  const draw = new Rng(7); // seeded, so a failing cell can be replayed
  let seen = 0;
  const hit = (operation: ReceiverOperation): boolean =>
    cell !== null && cell.operation === operation && (seen++ === 0 || draw.chance(RATE));
  const transient = (): AccountingSystemError => {
    const fault = cell!.fault;
    return new AccountingSystemError(`injected ${fault}`, {
      code:
        fault === '429'
          ? 'ACCOUNTING_RATE_LIMITED'
          : fault === 'timeout'
            ? 'ACCOUNTING_TIMEOUT'
            : 'ACCOUNTING_UNREACHABLE',
      retryable: true,
      ...(fault === '429' ? { retryAfterMs: 1000 } : {}),
    });
  };
  const wrap =
    <A extends unknown[], R>(operation: ReceiverOperation, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (!hit(operation)) return fn(...args);
      counter.injected++;
      if (cell!.fault !== 'ambiguous') throw transient();
      await fn(...args);
      throw transient();
    };
  const stage = inner.stageAttachments?.bind(inner);
  return {
    name: inner.name,
    supportsScaleOut: inner.supportsScaleOut,
    validate: wrap('validate', inner.validate.bind(inner)),
    findExisting: wrap('lookup', inner.findExisting.bind(inner)),
    record: wrap('record', inner.record.bind(inner)),
    ...(stage ? { stageAttachments: wrap('attachment', stage) } : {}),
    close: () => inner.close(),
  };
}

interface Cell {
  side: 'pleo' | 'accounting';
  operation: string;
  fault: FaultName;
}

interface CellResult {
  runs: number;
  injected: number;
  status: string;
  booked: number;
  duplicates: number;
}

let sim: RunningSimulator;
let pool: pg.Pool;
const dir = mkdtempSync(join(tmpdir(), 'pleo-faults-'));
const schemas: string[] = [];
const matrix = new Map<string, Map<string, string>>();

beforeAll(async () => {
  sim = await startSimulator({
    seed: SEED,
    companies: 1,
    jobsPerCompany: 0,
    clock: new ManualClock(Date.parse('2026-06-01T09:00:00.000Z')),
  });
  pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
});

afterAll(async () => {
  await sim.close();
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
  const columns = COMBOS.map(([a, s]) => `${a}/${s}`);
  const lines = [
    `fault matrix: ${ITEMS} items per job, ${RATE * 100} % of each operation's requests faulted (and its first); ${SAMPLE}`,
    ['operation × fault'.padEnd(27), ...columns.map((c) => c.padEnd(28))].join(''),
  ];
  for (const [row, cells] of matrix) {
    lines.push([row.padEnd(27), ...columns.map((c) => (cells.get(c) ?? '—').padEnd(28))].join(''));
  }
  console.log(lines.join('\n'));
});

let sequence = 0;

async function openStore(kind: StoreKind): Promise<Store> {
  const now = (): number => sim.admin.now();
  if (kind === 'sqlite') {
    const store = createSqliteStore({ path: join(dir, `state-${sequence++}.db`), now });
    await store.migrate();
    return store;
  }
  const schema = `pleo_faults_${process.pid}_${sequence++}`;
  schemas.push(schema);
  const store = createPostgresStore({ connectionString: DATABASE_URL, schema, pool: { max: 4 }, now });
  await store.migrate();
  return store;
}

async function runCell(adapterKind: AdapterKind, storeKind: StoreKind, cell: Cell): Promise<CellResult> {
  const company = sim.companies[0]!;
  const store = await openStore(storeKind);
  const counter = { injected: 0 };
  let receiver: ReferenceReceiver | undefined;
  const journalPath = join(dir, `books-${sequence++}.journal`);
  const hledger = adapterKind === 'hledger' ? createHledgerAdapter({ journalPath }) : undefined;
  let adapter: AccountingAdapter;
  if (adapterKind === 'http') {
    receiver = await startReferenceReceiver();
    if (cell.side === 'accounting') {
      receiver.setFaults({
        random: {
          operation: cell.operation as ReceiverOperation,
          kind:
            cell.fault === 'timeout'
              ? 'hang'
              : cell.fault === 'reset'
                ? 'reset'
                : cell.fault === 'ambiguous'
                  ? 'ambiguous'
                  : 'status',
          status: cell.fault === '429' ? 429 : 503,
          ...(cell.fault === '429' ? { retryAfterSeconds: 1 } : {}),
          probability: RATE,
          first: 1,
          seed: 7,
        },
      });
    }
    adapter = createHttpAdapter({ baseUrl: receiver.url, timeoutMs: 250 });
  } else {
    adapter = faultyHledger(
      hledger!,
      cell.side === 'accounting'
        ? { operation: cell.operation as ReceiverOperation, fault: cell.fault }
        : null,
      counter,
    );
  }
  const client = createPleoClient({
    baseUrl: sim.url,
    companyId: company.id,
    auth: { kind: 'apiKey', apiKey: company.apiKey },
    rateLimit: false,
    sleep: noSleep,
    clock: () => sim.admin.now(),
    retry: { maxAttempts: 8 },
    timeoutMs: 250,
  });
  const receipts = join(dir, `receipts-${sequence++}`);
  const engineWith = (through: AccountingAdapter) =>
    createEngine({
      store,
      client,
      adapter: through,
      mapItem: (item, ctx) => mapExportItem(item, accounting, ctx),
      attachmentsDir: receipts,
      receiptPolicy: {
        attachments: {
          maxBytes: 30 * 1024 * 1024,
          required: true,
          allowedTypes: ['application/pdf', 'image/png', 'image/jpeg'],
        },
      },
      pageSize: 2,
      sleep: noSleep,
      now: () => sim.admin.now(),
      random: () => 0.5,
    });
  const job = sim.admin.createJob(company.id, { itemCount: ITEMS, profile: { failureRatio: 0 } });
  if (cell.side === 'pleo') {
    sim.admin.setFaults({
      rules: [
        {
          endpoint: PLEO_OPERATIONS[cell.operation as PleoOperation] as never,
          fault: simulatorFault(cell.fault),
          times: 1,
        },
        {
          endpoint: PLEO_OPERATIONS[cell.operation as PleoOperation] as never,
          fault: simulatorFault(cell.fault),
          probability: RATE,
        },
      ],
    });
  }
  const before = sim.admin.requestLog().length;
  let runs = 0;
  try {
    if (cell.operation === 'lookup') {
      // Lookups happen on resume: a first run stops with an entry written but not recorded.
      const stop = new AbortController();
      let written = 0;
      await engineWith({
        ...adapter,
        record: async (entry, ctx) => {
          const outcome = await adapter.record(entry, ctx);
          if (++written < 3) return outcome;
          // Written, then the process stops before the answer is recorded: left in `booking`.
          stop.abort();
          throw new AccountingSystemError('stopped', { code: 'ABORTED', retryable: true });
        },
      })
        .runOnce(stop.signal)
        .catch(() => undefined);
      runs++;
    }
    const engine = engineWith(adapter);
    while (runs < MAX_RUNS) {
      runs++;
      await engine.runOnce().catch(() => undefined); // a run stopped by a fault: the next one resumes
      if (
        sim.admin.job(job.id)!.job.status !== 'in_progress' &&
        sim.admin.job(job.id)!.job.status !== 'pending'
      )
        break;
    }
  } finally {
    sim.admin.clearFaults();
  }
  const snapshot = sim.admin.job(job.id)!;
  const pleoFaults = sim.admin
    .requestLog()
    .slice(before)
    .filter((r) => r.fault !== undefined).length;
  const injected =
    counter.injected +
    pleoFaults +
    Object.values(receiver?.stats().injected ?? {}).reduce((a, b) => a + b, 0);
  let bookedKeys: string[];
  if (receiver) {
    const stats = receiver.stats();
    bookedKeys = Object.entries(stats.bookingsByEntryId).flatMap(([id, n]) => Array<string>(n).fill(id));
  } else {
    const journal = readFileSync(journalPath, 'utf8');
    bookedKeys = [...journal.matchAll(/pleo-entry:([0-9a-f-]{36})/g)].map((m) => m[1]!);
  }
  const unsuccessful = bookedKeys.filter((key) => sim.admin.item(job.id, key)?.status !== 'successful');
  expect(unsuccessful, 'every booked entry is successful at Pleo').toEqual([]);
  await adapter.close();
  await receiver?.close();
  await store.close();
  return {
    runs,
    injected,
    status: snapshot.job.status,
    booked: new Set(bookedKeys).size,
    duplicates: bookedKeys.length - new Set(bookedKeys).size,
  };
}

const CELLS: Cell[] = [
  ...(Object.keys(PLEO_OPERATIONS) as PleoOperation[]).flatMap((operation) =>
    FAULTS.map((fault): Cell => ({ side: 'pleo', operation, fault })),
  ),
  ...ACCOUNTING_OPERATIONS.flatMap((operation) =>
    FAULTS.map((fault): Cell => ({ side: 'accounting', operation, fault })),
  ),
];

const cellName = (cell: Cell): string => `${cell.side}:${cell.operation}:${cell.fault}`;
const ONLY = process.env['FAULT_CELL'];
const FULL = process.env['FAULT_MATRIX'] === 'full' || ONLY !== undefined;
const SAMPLE_SEED = Number(process.env['FAULT_SEED'] ?? Math.floor(Math.random() * 1_000_000));
if (!Number.isSafeInteger(SAMPLE_SEED)) throw new Error(`FAULT_SEED must be a whole number`);

/**
 * The cells each combination runs: all of them (`FAULT_MATRIX=full`, `FAULT_CELL`), or the cells
 * shuffled by the seed and dealt to the combinations in turn (every cell once, 11-12 per combination).
 */
function cellsOf(combo: number): Cell[] {
  if (FULL) return CELLS.filter((cell) => ONLY === undefined || ONLY === cellName(cell));
  const rng = new Rng(SAMPLE_SEED);
  const shuffled = [...CELLS];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.filter((_, i) => i % COMBOS.length === combo);
}

const SAMPLE = FULL
  ? `every cell on every combination${ONLY === undefined ? '' : ` (FAULT_CELL=${ONLY})`}`
  : `sample seed ${SAMPLE_SEED}: every cell once, on one combination each (FAULT_SEED=${SAMPLE_SEED} replays it, FAULT_MATRIX=full runs all ${CELLS.length * COMBOS.length})`;
console.log(`fault matrix: ${SAMPLE}`);

describe('fault matrix: every job completes, nothing is booked twice or booked without success at Pleo', () => {
  COMBOS.forEach(([adapterKind, storeKind], combo) => {
    const cells = cellsOf(combo);
    it(`${adapterKind} adapter, ${storeKind} store: ${cells.length} cells`, async () => {
      for (const cell of cells) {
        const row = `${cell.side === 'pleo' ? 'Pleo' : 'AS'} ${cell.operation} × ${cell.fault}`;
        const result = await runCell(adapterKind, storeKind, cell);
        const where = `${adapterKind}/${storeKind} ${row} (FAULT_CELL=${cellName(cell)}${FULL ? '' : `, FAULT_SEED=${SAMPLE_SEED}`})`;
        expect(result.injected, `${where}: a fault was injected`).toBeGreaterThan(0);
        expect(result.status, `${where}: the job completed`).toBe('completed');
        expect(result.duplicates, `${where}: nothing booked twice`).toBe(0);
        expect(result.booked, `${where}: every entry booked`).toBe(ITEMS);
        if (!matrix.has(row)) matrix.set(row, new Map());
        matrix
          .get(row)!
          .set(
            `${adapterKind}/${storeKind}`,
            `${result.status} (${result.injected} faults, ${result.runs} run${result.runs > 1 ? 's' : ''})`,
          );
      }
    }, 600_000);
  });
});
