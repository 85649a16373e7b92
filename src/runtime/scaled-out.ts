/**
 * The scaled-out way of running: N worker processes on any number of machines share one PostgreSQL
 * database — the store and the pg-boss work queue of "run this company once" messages
 * (`src/queue/`).
 *
 * - Detection (`serve --postgres`): the daemon's company pool polls through
 *   {@link createEnqueueingPoller}, which enqueues a run of the company instead of running it; it
 *   builds no client, adapter or engine.
 * - Workers ({@link startWorkerPool}, what `worker` runs through {@link runWorker}, and
 *   `serve --postgres --workers N` in-process): take messages and run the company with the same
 *   engine as the in-process mode, against the shared store. Resuming is the engine's business:
 *   every step is committed in the store, so whichever worker gets a company continues where the
 *   last run stopped.
 *
 * Shutdown: stopping a pool stops taking messages; running companies finish or checkpoint their
 * in-flight items and their messages go back to the queue (another worker resumes them).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';

import type { Registry } from 'prom-client';

import { adapterDescriptors, describeAdapterTypes } from '../adapters/index.js';
import type { CompiledConfig } from '../config/index.js';
import type { EngineLogger } from '../engine/index.js';
import { ConfigError, describeError } from '../errors/index.js';
import {
  createQueueWorkers,
  createWorkQueue,
  registerQueueMetrics,
  type QueueWorkers,
  type RunCompany,
  type WorkerStats,
  type WorkQueue,
  type WorkQueueOptions,
} from '../queue/index.js';
import type { Store } from '../store/index.js';
import type { CompanyPoller } from './company-pool.js';
import { adapterDescriptor, createCompanyRuntime, openConfiguredStore } from './wiring.js';
import { serveWorkerMetrics } from './worker-metrics.js';

/** The scaled-out mode needs the shared database; a clear message when it is missing. */
export function requirePostgres(config: CompiledConfig): string {
  if (config.postgres.url === undefined) {
    throw new ConfigError(
      'The scaled-out mode needs a PostgreSQL database: pass --postgres URL (or set postgres.url in the configuration, or $PLEO_EXPORT_POSTGRES_URL).',
    );
  }
  return config.postgres.url;
}

/**
 * Refuses adapters that cannot take writes from several machines at once (a journal file on one
 * host): in the scaled-out mode any worker may run any company.
 */
export function requireScaleOutAdapters(config: CompiledConfig): void {
  const refused = config.companies
    .filter((company) => !adapterDescriptor(company).supportsScaleOut)
    .map((company) => `${company.name} (${company.adapter.type})`);
  if (refused.length > 0) {
    const shared = adapterDescriptors()
      .filter((d) => d.supportsScaleOut)
      .map((d) => d.type);
    throw new ConfigError(
      `Workers on several machines cannot share these companies' accounting adapters: ${refused.join(', ')}. ` +
        `The scaled-out mode needs an accounting system that takes writes from several machines (adapter type ${describeAdapterTypes(shared)}); run the embedded mode (no --postgres) for a journal file.`,
    );
  }
}

/** The work queue's options from the configuration. */
export function workQueueOptions(config: CompiledConfig): WorkQueueOptions {
  const p = config.postgres;
  return {
    connectionString: requirePostgres(config),
    schema: p.queueSchema,
    heartbeatSeconds: p.heartbeatSeconds,
    superviseIntervalSeconds: p.superviseIntervalSeconds,
    pollIntervalMs: p.pollIntervalMs,
    retryDelayMaxSeconds: p.retryDelayMaxSeconds,
  };
}

/** The work queue of the configuration's database (started: schema installed, queue created). */
export async function openWorkQueue(config: CompiledConfig, logger: EngineLogger): Promise<WorkQueue> {
  const queue = createWorkQueue({
    ...workQueueOptions(config),
    onError: (error) =>
      logger.warn({ err: error.message }, 'queue: background error (pg-boss retries on its own)'),
  });
  await queue.start();
  return queue;
}

/**
 * The daemon's poller in the scaled-out mode: a poll enqueues "run this company once" (unless one
 * is already waiting); the workers run it. Never throws: a failed enqueue is logged and says
 * `error`, and the company's next timer or trigger enqueues again.
 */
export function createEnqueueingPoller(queue: WorkQueue, logger: EngineLogger): CompanyPoller {
  return {
    async poll(companyId, trigger, signal) {
      logger.debug({ companyId, trigger }, 'poll');
      try {
        await queue.enqueue(companyId, 'poll');
        return signal.aborted ? 'interrupted' : 'ok';
      } catch (error) {
        if (signal.aborted) return 'interrupted';
        logger.error({ companyId, trigger, error: describeError(error) }, 'poll failed');
        return 'error';
      }
    },
    runningJobs: () => 0,
    close: () => Promise.resolve(),
  };
}

export interface WorkerPool {
  readonly workers: QueueWorkers;
  /** The lease owner name of this process's engines (`host:pid`). */
  readonly owner: string;
  /** Stops taking messages and lets running companies checkpoint (up to `graceMs`). */
  stop(graceMs: number): Promise<void>;
}

/** Starts `concurrency` queue workers in this process, running companies with the shared engine. */
export async function startWorkerPool(
  config: CompiledConfig,
  store: Store,
  queue: WorkQueue,
  options: { concurrency: number; logger: EngineLogger },
): Promise<WorkerPool> {
  const { logger } = options;
  const owner = `${hostname()}:${process.pid}`;
  const companies = new Map(config.companies.map((company) => [company.id, company]));
  // A runtime per run, not per process: the company's next run may be on another machine, so state
  // that lives in a runtime must come from the shared store each time. An OAuth refresh token in
  // particular is rotated by whichever worker refreshes; a runtime kept here would later refresh
  // with a token another worker already spent. (One run per company at a time, fleet-wide, is the
  // queue's guarantee, so a run's runtime never races another's.)
  const runCompany: RunCompany = async (companyId, signal) => {
    const company = companies.get(companyId);
    if (company === undefined) throw new ConfigError(`company ${companyId} is not configured`);
    const runtime = await createCompanyRuntime(config, company, store, {
      logger,
      owner,
      // Lease takeovers are counted from the engine's own report of each acquisition.
      onEvent: (id, event) => {
        if (event.kind === 'lease_acquired')
          workers.leaseAcquired({ companyId: id, jobId: event.jobId }, event.previousOwner, event.owner);
      },
    });
    try {
      const results = await runtime.engine.runOnce(signal);
      for (const result of results) {
        logger.info(
          { companyId, jobId: result.jobId, disposition: result.disposition, event: result.event },
          'job run ended',
        );
      }
      return { interrupted: results.some((result) => result.disposition === 'interrupted') };
    } finally {
      await runtime.close();
    }
  };
  const workers = createQueueWorkers({
    queue,
    concurrency: options.concurrency,
    companyIds: [...companies.keys()],
    runCompany,
    logger,
  });
  await workers.start();
  return {
    workers,
    owner,
    stop: (graceMs) => workers.stop(graceMs),
  };
}

/** The scaled-out mode inside the daemon: its poller, and the workers it runs itself (if any). */
export interface ScaledOutDaemon {
  /** Enqueues instead of running: give it to the daemon's company pool. */
  readonly poller: CompanyPoller;
  /** Adds the queue's metrics (and this process's workers', if any) to the daemon's registry. */
  registerMetrics(registry: Registry): void;
  /** Stops the workers (running companies checkpoint, up to `graceMs`) and the queue. */
  stop(graceMs: number): Promise<void>;
}

/**
 * `serve --postgres`: opens the work queue and, with `workers` > 0, runs that many companies at once
 * in this process (the adapters must be able to scale out).
 */
export async function startScaledOutDaemon(
  config: CompiledConfig,
  store: Store,
  options: { workers: number; logger: EngineLogger },
): Promise<ScaledOutDaemon> {
  const queue = await openWorkQueue(config, options.logger);
  let pool: WorkerPool | undefined;
  try {
    if (options.workers > 0)
      pool = await startWorkerPool(config, store, queue, {
        concurrency: options.workers,
        logger: options.logger,
      });
  } catch (error) {
    await queue.stop(1000).catch(() => undefined);
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    poller: createEnqueueingPoller(queue, options.logger),
    registerMetrics: (registry) => registerQueueMetrics(registry, queue, pool?.workers ?? null),
    // Running companies checkpoint and go back to the queue (another worker resumes them).
    stop: (graceMs) => (stopped ??= pool ? pool.stop(graceMs) : queue.stop(1000)),
  };
}

export interface RunWorkerOptions {
  /** Companies this process runs at once. */
  concurrency: number;
  /** Serve `/metrics` and `/healthz` on `server.host:<port>` (0: any free port). @default none */
  metricsPort?: number;
  logger: EngineLogger;
  /** Aborting it stops the worker: no new messages, running companies checkpoint. */
  signal: AbortSignal;
  /** How long running companies may take to checkpoint after the signal. */
  graceMs: number;
}

/**
 * `worker`: runs companies taken from the work queue until `signal` aborts, then stops within
 * `graceMs` and returns this process's counters. It detects nothing and serves no webhooks:
 * `serve --postgres` (or another process calling `WorkQueue.enqueue`) feeds the queue.
 */
export async function runWorker(config: CompiledConfig, options: RunWorkerOptions): Promise<WorkerStats> {
  const { logger, concurrency } = options;
  requirePostgres(config);
  requireScaleOutAdapters(config);
  // Each running company needs about two connections (its engine and its reporter).
  const store = openConfiguredStore(config, {
    logger,
    poolMax: Math.min(50, 2 * concurrency + 2),
    onPoolError: (error) => logger.warn({ err: error.message }, 'store: connection lost (retried)'),
  });
  let queue: WorkQueue | undefined;
  let pool: WorkerPool | undefined;
  let metrics: Awaited<ReturnType<typeof serveWorkerMetrics>> | undefined;
  try {
    await store.migrate();
    queue = await openWorkQueue(config, logger);
    pool = await startWorkerPool(config, store, queue, { concurrency, logger });
    if (options.metricsPort !== undefined) {
      metrics = await serveWorkerMetrics(config.server.host, options.metricsPort, queue, pool.workers);
      const address = metrics.address() as AddressInfo;
      logger.info({ url: `http://${config.server.host}:${address.port}/metrics` }, 'metrics listening');
    }
    logger.info(
      {
        owner: pool.owner,
        concurrency,
        companies: config.companies.length,
        heartbeatSeconds: config.postgres.heartbeatSeconds,
      },
      'pleo-export worker started',
    );
    if (!options.signal.aborted) await once(options.signal, 'abort');
    await pool.stop(options.graceMs);
    const stats = pool.workers.stats();
    logger.info(stats, 'stopped');
    return stats;
  } finally {
    metrics?.close();
    if (pool === undefined) await queue?.stop(1000);
    await store.close();
  }
}
