/**
 * `serve`: the daemon. Polls every configured company on a timer, on webhooks and on triggers,
 * and serves /healthz, /readyz and /metrics (see `src/server/`).
 *
 * Shutdown: the first SIGINT/SIGTERM stops taking work (webhooks answered 503) and lets the
 * engines finish or checkpoint their in-flight items; after `server.shutdownGraceMs` or on a
 * second signal the process exits at once with 130 (safe: every step is committed in the store).
 * A graceful stop exits 0.
 *
 * Scaled out (`--postgres URL`): polls, webhooks and triggers enqueue company runs on the shared
 * work queue instead of running them; `--workers N` also runs N of them in this process (0: detect
 * only, and let `worker` processes run them). See `src/runtime/scaled-out.ts`.
 */
import { once } from 'node:events';

import { Command } from 'commander';

import { ConfigError } from '../../errors/index.js';
import { requireScaleOutAdapters, startScaledOutDaemon, type ScaledOutDaemon } from '../../runtime/index.js';
import { requireTriggerToken, startServer } from '../../server/index.js';
import {
  configFromOptions,
  createLogger,
  intArg,
  openStore,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../output.js';
import { shutdownSignal } from '../signals.js';
import { consoleActions } from '../console-actions.js';

interface ServeOptions extends CommonOptions {
  host?: string;
  port?: number;
  workers?: number;
}

export function serveCommand(_io: Io): Command {
  return withConfigOptions(new Command('serve'))
    .description('run as a daemon: webhooks, scheduled polling, POST /trigger, /healthz, /readyz, /metrics')
    .option('--host <host>', 'address to listen on (server.host, default 127.0.0.1)')
    .option(
      '--port <port>',
      'port to listen on, 0 = any free port (server.port, default 8080)',
      intArg('--port', 0, 65535),
    )
    .option(
      '--workers <n>',
      'with --postgres: companies run at once in this process (default server.maxConcurrentCompanies; 0 = only detect and enqueue)',
      intArg('--workers', 0, 256),
    )
    .action(async (options: ServeOptions) => {
      const loaded = configFromOptions(options);
      requireCompanies(loaded);
      const scaledOut = loaded.postgres.url !== undefined;
      if (options.workers !== undefined && !scaledOut)
        throw new ConfigError('--workers needs --postgres (the scaled-out mode)');
      const workers = options.workers ?? loaded.server.maxConcurrentCompanies;
      if (scaledOut && workers > 0) requireScaleOutAdapters(loaded);
      const config = {
        ...loaded,
        server: {
          ...loaded.server,
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.port === undefined ? {} : { port: options.port }),
        },
      };
      // Before anything is opened: an exposed /trigger without a token is a configuration error.
      requireTriggerToken(config.server);
      // A daemon always logs JSON (to stderr), whatever the terminal.
      const logger = createLogger(options.logLevel ?? config.log.level);
      const store = await openStore(config, logger);
      const shutdown = shutdownSignal(config.server.shutdownGraceMs, (signal) =>
        logger.info(
          { signal, graceMs: config.server.shutdownGraceMs },
          'shutting down: finishing in-flight items',
        ),
      );
      let scaled: ScaledOutDaemon | undefined;
      try {
        if (scaledOut) scaled = await startScaledOutDaemon(config, store, { workers, logger });
        const server = await startServer({
          config,
          store,
          logger,
          ...(scaled ? { poller: scaled.poller } : {}),
          // A retried job is created at Pleo, then the company is polled at once: the company pool
          // runs it in order (embedded) or enqueues it for the workers (scaled out).
          consoleActions: (trigger) =>
            consoleActions({
              config,
              store,
              effect: scaledOut
                ? 'The company is polled now and the new job goes to the work queue; a worker exports it.'
                : 'The company is polled now and this daemon exports the new job, after any job already running.',
              start: (company) => trigger(company.id),
            }),
        });
        scaled?.registerMetrics(server.metrics);
        logger.info(
          {
            url: server.url,
            webhookUrl: server.webhookUrl,
            consoleUrl: server.consoleUrl,
            companies: config.companies.length,
          },
          `pleo-export serve listening on ${server.url}`,
        );
        if (!shutdown.signal.aborted) await once(shutdown.signal, 'abort');
        await server.close();
        // Running companies checkpoint and go back to the queue (another worker resumes them).
        await scaled?.stop(Math.max(1000, config.server.shutdownGraceMs - 2000));
        logger.info({}, 'stopped');
        process.exitCode = EXIT.ok;
      } finally {
        shutdown.dispose();
        await scaled?.stop(1000).catch(() => undefined);
        await store.close();
      }
    });
}
