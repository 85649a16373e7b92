/**
 * A contender process: runs the engine or the baseline once against the simulator, then prints
 * its own figures (wall time of the work, CPU, peak RSS, accounting-adapter calls) as one
 * `BENCH_RESULT` line. Each contender runs in its own process so that RSS and CPU are its own.
 */
import { join } from 'node:path';

import { compileAccountingConfig, mapExportItem, type MappingResult } from '../src/accounting/index.js';
import { createHledgerAdapter, createHttpAdapter, type AccountingAdapter } from '../src/adapters/index.js';
import { simulatorAccountingConfig } from '../src/cli/demo/catalog-config.js';
import { createPleoClient, type ExportItem } from '../src/client/index.js';
import { createEngine } from '../src/engine/index.js';
import { createSqliteStore } from '../src/store/index.js';
import { runBaseline } from './baseline/index.js';
import {
  RESULT_PREFIX,
  SAMPLE_PREFIX,
  type AdapterCalls,
  type ContenderConfig,
  type ContenderResult,
  type ContenderSample,
  type EnginePhases,
  type JobOutcome,
} from './protocol.js';

process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning') return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const config = JSON.parse(process.env['BENCH_CONFIG'] ?? '{}') as ContenderConfig;
const accounting = compileAccountingConfig(simulatorAccountingConfig(config.seed), 'accounting');
const map = (item: ExportItem, ctx: { jobId: string; companyId: string }): MappingResult =>
  mapExportItem(item, accounting, ctx);

/**
 * Counts the calls each contender makes to the accounting system. Every method the adapter offers
 * is passed through: the engine stages receipts only where `stageAttachments` exists and writes in
 * batches only where `recordBatch` exists, so a wrapper
 * that dropped it would measure another engine than the one shipped.
 */
function counted(adapter: AccountingAdapter, calls: AdapterCalls): AccountingAdapter {
  const stage = adapter.stageAttachments?.bind(adapter);
  const batch = adapter.recordBatch?.bind(adapter);
  return {
    name: adapter.name,
    supportsScaleOut: adapter.supportsScaleOut,
    validate: (ctx) => {
      calls.validate++;
      return adapter.validate(ctx);
    },
    findExisting: (key, ctx) => {
      calls.findExisting++;
      return adapter.findExisting(key, ctx);
    },
    ...(stage === undefined
      ? {}
      : {
          stageAttachments: (attachments, ctx) => {
            calls.stageAttachments = (calls.stageAttachments ?? 0) + 1;
            return stage(attachments, ctx);
          },
        }),
    record: (entry, ctx) => {
      calls.record++;
      return adapter.record(entry, ctx);
    },
    ...(batch === undefined
      ? {}
      : {
          recordBatch: (entries, ctx) => {
            calls.recordBatch = (calls.recordBatch ?? 0) + 1;
            calls.batchedEntries = (calls.batchedEntries ?? 0) + entries.length;
            return batch(entries, ctx);
          },
        }),
    close: () => adapter.close(),
  };
}

function createAdapter(): AccountingAdapter {
  const spec = config.adapter;
  return spec.kind === 'hledger'
    ? createHledgerAdapter({ journalPath: spec.journalPath })
    : createHttpAdapter({ baseUrl: spec.url, timeoutMs: 60_000 });
}

const calls: AdapterCalls = { validate: 0, stageAttachments: 0, record: 0, findExisting: 0 };
/** Engine: outcomes recorded so far. */
let outcomes = 0;
interface Marks {
  claimed: number;
  listed: number;
  planned: number;
  done: number;
}
const marks = new Map<string, Marks>();

/** Phases so far (summed over jobs; a phase still running counts up to now). */
function phases(): EnginePhases | null {
  if (config.contender !== 'engine') return null;
  const now = performance.now();
  const out: EnginePhases = { listing: 0, fetching: 0, booking: 0 };
  for (const m of marks.values()) {
    if (m.claimed === 0) continue;
    const listed = m.listed || now;
    out.listing += listed - m.claimed;
    if (m.listed === 0) continue;
    const planned = m.planned || now;
    out.fetching += planned - listed;
    if (m.planned === 0) continue;
    out.booking += (m.done || now) - planned;
  }
  return out;
}
const adapter = counted(createAdapter(), calls);

async function runEngine(): Promise<JobOutcome[]> {
  const store = createSqliteStore({ path: join(config.dataDir, 'state.db') });
  await store.migrate();
  const client = createPleoClient({
    baseUrl: config.simUrl,
    companyId: config.companyId,
    auth: { kind: 'apiKey', apiKey: config.apiKey },
    // Client-side pacing protects the real Pleo; against the simulator it would only measure itself.
    rateLimit: false,
    pageSize: config.pageSize,
  });
  const killAt = config.killAfterOutcomes;
  const mark = (jobId: string): Marks => {
    let m = marks.get(jobId);
    if (!m) marks.set(jobId, (m = { claimed: 0, listed: 0, planned: 0, done: 0 }));
    return m;
  };
  const engine = createEngine({
    store,
    client,
    adapter,
    mapItem: map,
    attachmentsDir: config.receipts ? join(config.dataDir, 'receipts') : null,
    receiptPolicy: accounting,
    concurrency: config.concurrency,
    downloadConcurrency: config.downloadConcurrency,
    pageSize: config.pageSize,
    onEvent: (event) => {
      const now = performance.now();
      if (event.kind === 'job_claimed') mark(event.jobId).claimed = now;
      else if (event.kind === 'items_listed' && event.listed >= event.total) mark(event.jobId).listed = now;
      else if (event.kind === 'job_planned') {
        const m = mark(event.jobId);
        m.listed ||= now;
        m.planned = now;
      } else if (event.kind === 'job_completed') mark(event.jobId).done = now;
    },
    onStep: (step) => {
      if (step !== 'outcome_recorded') return;
      outcomes++;
      if (outcomes === killAt) process.kill(process.pid, 'SIGKILL');
    },
  });
  try {
    const results = await engine.runOnce();
    return results.map((r) => ({
      jobId: r.jobId,
      event: r.event,
      successful: r.counts?.successful ?? 0,
      failed: r.counts?.failed ?? 0,
    }));
  } finally {
    await adapter.close();
    await store.close();
  }
}

async function runPeer(): Promise<JobOutcome[]> {
  try {
    const results = await runBaseline({
      baseUrl: config.simUrl,
      apiKey: config.apiKey,
      companyId: config.companyId,
      pageSize: config.pageSize,
      adapter,
      mapItem: map,
    });
    return results.map((r) => ({ ...r }));
  } finally {
    await adapter.close();
  }
}

const started = performance.now();
const cpuBefore = process.cpuUsage();
const sampler = setInterval(() => {
  const memory = process.memoryUsage();
  const sample: ContenderSample = {
    t: Math.round(performance.now() - started),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    records: calls.record + (calls.batchedEntries ?? 0),
    outcomes,
    phases: phases(),
  };
  process.stdout.write(`${SAMPLE_PREFIX}${JSON.stringify(sample)}\n`);
}, config.sampleMs);
sampler.unref();

const jobs = config.contender === 'engine' ? await runEngine() : await runPeer();
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
clearInterval(sampler);
const result: ContenderResult = {
  wallMs,
  cpuUserMs: cpu.user / 1000,
  cpuSystemMs: cpu.system / 1000,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  adapterCalls: calls,
  jobs,
  phases: phases(),
};
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
