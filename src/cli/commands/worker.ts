/**
 * `worker --postgres URL`: the scaled-out mode's worker. It takes "run this company once" messages
 * from the PostgreSQL work queue (pg-boss, see `src/queue/`) and runs them with the same engine as
 * the embedded mode, against the shared PostgreSQL store. It detects nothing and serves nothing:
 * `serve --postgres URL` (or another process calling `WorkQueue.enqueue`) feeds the queue. Run as
 * many as needed, on as many machines as needed, all with the same configuration file.
 *
 * Shutdown: the first SIGINT/SIGTERM stops taking messages; running companies finish or
 * checkpoint their in-flight items and their messages go back to the queue (another worker
 * resumes them from the store). After `server.shutdownGraceMs`, or on a second signal, the process
 * exits at once with 130: safe, because pg-boss hands a silent worker's messages to another one.
 *
 * `startWorkerPool` is also what `serve --postgres --workers N` runs in-process.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';

import { Command } from 'commander';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

import type { CompiledConfig } from '../../config/index.js';
import type { Engine } from '../../engine/index.js';
import { ConfigError } from '../../errors/index.js';
import {
  createQueueWorkers,
  createWorkQueue,
  registerQueueMetrics,
  type QueueWorkers,
  type RunCompany,
  type WorkQueue,
  type WorkQueueOptions,
} from '../../queue/index.js';
import { adapterDescriptors, describeAdapterTypes } from '../../adapters/index.js';
import {
  adapterDescriptor,
  createCompanyRuntime,
  openConfiguredStore,
  type CompanyRuntime,
} from '../../runtime/index.js';
import type { CreateRuntime } from '../../server/index.js';
import type { Store } from '../../store/index.js';
import {
  configFromOptions,
  createLogger,
  intArg,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../output.js';
import { shutdownSignal } from '../signals.js';

interface WorkerOptions extends CommonOptions {
  workers?: number;
  metricsPort?: number;
}

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
export async function openWorkQueue(config: CompiledConfig, logger: Logger): Promise<WorkQueue> {
  const queue = createWorkQueue({
    ...workQueueOptions(config),
    onError: (error) =>
      logger.warn({ err: error.message }, 'queue: background error (pg-boss retries on its own)'),
  });
  await queue.start();
  return queue;
}

/**
 * `serve --postgres`: the daemon keeps detecting (poll timers, webhooks, triggers), but a
 * company's "engine" in that process enqueues a run of the company instead of running it; the
 * workers (in this process with `--workers N`, or `worker` processes anywhere) run it.
 */
export function enqueueingRuntime(config: CompiledConfig, store: Store, queue: WorkQueue): CreateRuntime {
  return async (company, hooks) => {
    const runtime = await createCompanyRuntime(config, company, store, hooks);
    const engine: Engine = {
      companyId: runtime.engine.companyId,
      detect: (signal) => runtime.engine.detect(signal),
      async runOnce() {
        await queue.enqueue(company.id, 'poll');
        return [];
      },
      runJobById: () =>
        Promise.reject(new ConfigError('in the scaled-out mode jobs run on the workers, not in serve')),
    };
    return { ...runtime, engine };
  };
}

export interface WorkerPool {
  readonly workers: QueueWorkers;
  readonly owner: string;
  /** Stops taking messages and lets running companies checkpoint (up to `graceMs`). */
  stop(graceMs: number): Promise<void>;
}

/** Starts `concurrency` queue workers in this process, running companies with the shared engine. */
export async function startWorkerPool(
  config: CompiledConfig,
  store: Store,
  queue: WorkQueue,
  options: { concurrency: number; logger: Logger },
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
    const runtime: CompanyRuntime = await createCompanyRuntime(config, company, workers.store, {
      logger,
      owner,
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
    store,
    logger,
  });
  await workers.start();
  return {
    workers,
    owner,
    stop: (graceMs) => workers.stop(graceMs),
  };
}

export function workerCommand(_io: Io): Command {
  return withConfigOptions(new Command('worker'))
    .description(
      'scaled-out mode: run companies taken from the PostgreSQL work queue (needs --postgres; serve --postgres feeds the queue)',
    )
    .option(
      '--workers <n>',
      'companies this process runs at once (default server.maxConcurrentCompanies)',
      intArg('--workers', 1, 256),
    )
    .option(
      '--metrics-port <port>',
      'serve GET /metrics (Prometheus) and /healthz on server.host:<port>; 0 = any free port',
      intArg('--metrics-port', 0, 65535),
    )
    .action(async (options: WorkerOptions) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      requirePostgres(config);
      requireScaleOutAdapters(config);
      const logger = createLogger(options.logLevel ?? config.log.level);
      const concurrency = options.workers ?? config.server.maxConcurrentCompanies;
      const graceMs = config.server.shutdownGraceMs;
      const shutdown = shutdownSignal(graceMs, (signal) =>
        logger.info({ signal, graceMs }, 'shutting down: finishing in-flight items'),
      );
      // Each running company needs about two connections (its engine and its reporter).
      const store = openStore(config, concurrency, logger);
      let queue: WorkQueue | undefined;
      let pool: WorkerPool | undefined;
      let metrics: Server | undefined;
      try {
        await store.migrate();
        queue = await openWorkQueue(config, logger);
        pool = await startWorkerPool(config, store, queue, { concurrency, logger });
        if (options.metricsPort !== undefined) {
          metrics = await serveMetrics(config.server.host, options.metricsPort, queue, pool.workers);
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
        if (!shutdown.signal.aborted) await once(shutdown.signal, 'abort');
        // Leave a margin before the shutdown's own deadline (exit 130) for closing connections.
        await pool.stop(Math.max(1000, graceMs - 2000));
        logger.info(pool.workers.stats(), 'stopped');
        process.exitCode = EXIT.ok;
      } finally {
        shutdown.dispose();
        metrics?.close();
        if (pool === undefined) await queue?.stop(1000);
        await store.close();
      }
    });
}

/** A worker has no daemon: this is its `/metrics` (queue and worker metrics, process metrics). */
async function serveMetrics(
  host: string,
  port: number,
  queue: WorkQueue,
  workers: QueueWorkers,
): Promise<Server> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerQueueMetrics(registry, queue, workers);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    res.writeHead(path === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(path === '/healthz' ? 'ok\n' : 'not found\n');
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

function openStore(config: CompiledConfig, concurrency: number, logger: Logger): Store {
  return openConfiguredStore(config, {
    logger,
    poolMax: Math.min(50, 2 * concurrency + 2),
    onPoolError: (error) => logger.warn({ err: error.message }, 'store: connection lost (retried)'),
  });
}
