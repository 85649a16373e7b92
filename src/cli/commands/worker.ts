/**
 * `worker --postgres URL`: the scaled-out mode's worker. It takes "run this company once" messages
 * from the PostgreSQL work queue and runs them with the same engine as the embedded mode, against
 * the shared PostgreSQL store (`runWorker` in `src/runtime/scaled-out.ts`). It detects nothing and
 * serves nothing: `serve --postgres URL` feeds the queue. Run as many as needed, on as many
 * machines as needed, all with the same configuration file.
 *
 * Shutdown: the first SIGINT/SIGTERM stops taking messages; running companies finish or
 * checkpoint their in-flight items and their messages go back to the queue (another worker
 * resumes them from the store). After `server.shutdownGraceMs`, or on a second signal, the process
 * exits at once with 130: safe, because pg-boss hands a silent worker's messages to another one.
 */
import { Command } from 'commander';

import { runWorker } from '../../runtime/index.js';
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
      const logger = createLogger(options.logLevel ?? config.log.level);
      const graceMs = config.server.shutdownGraceMs;
      const shutdown = shutdownSignal(graceMs, (signal) =>
        logger.info({ signal, graceMs }, 'shutting down: finishing in-flight items'),
      );
      try {
        await runWorker(config, {
          concurrency: options.workers ?? config.server.maxConcurrentCompanies,
          ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
          logger,
          signal: shutdown.signal,
          // Leave a margin before the shutdown's own deadline (exit 130) for closing connections.
          graceMs: Math.max(1000, graceMs - 2000),
        });
        process.exitCode = EXIT.ok;
      } finally {
        shutdown.dispose();
      }
    });
}
