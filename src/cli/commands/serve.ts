/**
 * `serve`: the daemon. Polls every configured company on a timer, on webhooks and on triggers,
 * and serves /healthz, /readyz and /metrics (see `src/server/`).
 *
 * Shutdown: the first SIGINT/SIGTERM stops taking work (webhooks answered 503) and lets the
 * engines finish or checkpoint their in-flight items; after `server.shutdownGraceMs` or on a
 * second signal the process exits at once with 130 (safe: every step is committed in the store).
 * A graceful stop exits 0.
 */
import { once } from 'node:events';

import { Command } from 'commander';

import { startServer } from '../../server/index.js';
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

interface ServeOptions extends CommonOptions {
  host?: string;
  port?: number;
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
    .action(async (options: ServeOptions) => {
      const loaded = configFromOptions(options);
      requireCompanies(loaded);
      const config = {
        ...loaded,
        server: {
          ...loaded.server,
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.port === undefined ? {} : { port: options.port }),
        },
      };
      // A daemon always logs JSON (to stderr), whatever the terminal.
      const logger = createLogger(options.logLevel ?? config.log.level);
      const store = await openStore(config);
      const shutdown = shutdownSignal(config.server.shutdownGraceMs, (signal) =>
        logger.info(
          { signal, graceMs: config.server.shutdownGraceMs },
          'shutting down: finishing in-flight items',
        ),
      );
      try {
        const server = await startServer({ config, store, logger });
        logger.info(
          { url: server.url, webhookUrl: server.webhookUrl, companies: config.companies.length },
          `pleo-export serve listening on ${server.url}`,
        );
        if (!shutdown.signal.aborted) await once(shutdown.signal, 'abort');
        await server.close();
        logger.info({}, 'stopped');
        process.exitCode = EXIT.ok;
      } finally {
        shutdown.dispose();
        await store.close();
      }
    });
}
