/**
 * `console`: the web console alone, over the local state (`--data-dir`) or the shared PostgreSQL
 * store, without running the daemon. It reads the store; preview and retry call Pleo with the
 * configured credentials. A retry runs the new export job in this process (as `pleo-export retry`
 * does) in the embedded mode, and leaves it to the workers in the scaled-out mode.
 *
 * `serve` mounts the same console under /console; use this command when no daemon runs (after
 * `run --once`, or on a copy of the state).
 */
import { once } from 'node:events';

import { Command } from 'commander';

import type { CompiledConfig } from '../../config/index.js';
import { isLoopbackHost, startConsoleServer, type ConsoleServer } from '../../console/index.js';
import { ConfigError, describeError } from '../../errors/index.js';
import { createCompanyRuntime } from '../../runtime/index.js';
import type { Store } from '../../store/index.js';
import { consoleActions } from '../console-actions.js';
import {
  configFromOptions,
  createLogger,
  intArg,
  openStore,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../output.js';
import { shutdownSignal } from '../signals.js';

export interface ConsoleHandle {
  readonly server: ConsoleServer;
  /** Stops the console and waits for retries it started (they checkpoint on the signal). */
  close(): Promise<void>;
}

/**
 * Serves the console of `config`'s store on `host:port`, with preview and retry; a retried job
 * runs in this process (embedded) or on the workers (scaled out).
 */
export async function serveConsole(
  config: CompiledConfig,
  store: Store,
  options: { host: string; port: number; logLevel?: string },
): Promise<ConsoleHandle> {
  const loopback = isLoopbackHost(options.host);
  const token = config.server.console.token;
  if (!loopback && token === undefined) {
    throw new ConfigError(
      `The console on ${options.host} would be reachable from other machines: set server.console.token (or tokenEnv / tokenFile), or listen on 127.0.0.1.`,
    );
  }
  const logger = createLogger(options.logLevel ?? 'warn');
  const scaledOut = config.postgres.url !== undefined;
  const stop = new AbortController();
  const runs = new Set<Promise<void>>();
  const actions = consoleActions({
    config,
    store,
    effect: scaledOut
      ? 'The workers export the new job at their next poll (pleo-export trigger to poll now).'
      : 'This console process exports the new job right away; follow it on its page.',
    start: (company, jobId) => {
      if (scaledOut) return;
      const run = (async () => {
        const runtime = await createCompanyRuntime(config, company, store, { logger });
        try {
          await runtime.engine.runJobById(jobId, stop.signal);
        } finally {
          await runtime.close();
        }
      })()
        .catch((error: unknown) => logger.error({ jobId, error: describeError(error) }, 'retry run failed'))
        .finally(() => runs.delete(run));
      runs.add(run);
    },
  });
  const server = await startConsoleServer({
    store,
    companies: config.companies.map((c) => ({ id: c.id, name: c.name })),
    token,
    loopback,
    refreshMs: config.server.console.refreshMs,
    ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
    actions,
    logger,
    host: options.host,
    port: options.port,
  });
  return {
    server,
    async close() {
      stop.abort();
      await server.close();
      await Promise.all([...runs]);
    },
  };
}

export function consoleCommand(io: Io): Command {
  return withConfigOptions(new Command('console'))
    .description('serve the web console over the local state (or --postgres), without running the daemon')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on, 0 = any free port', intArg('--port', 0, 65535), 8090)
    .action(async (options: CommonOptions & { host: string; port: number }) => {
      const config = configFromOptions(options);
      const store = await openStore(config);
      const shutdown = shutdownSignal(config.server.shutdownGraceMs);
      try {
        const handle = await serveConsole(config, store, {
          host: options.host,
          port: options.port,
          ...(options.logLevel ? { logLevel: options.logLevel } : {}),
        });
        io.out(`pleo-export console: ${handle.server.url}  (Ctrl-C to stop)`);
        if (!shutdown.signal.aborted) await once(shutdown.signal, 'abort');
        await handle.close();
        process.exitCode = EXIT.ok;
      } finally {
        shutdown.dispose();
        await store.close();
      }
    });
}
