/** `run --once` (and `run --dry-run`): detect, claim and process every eligible job, then exit. */
import { setTimeout as delay } from 'node:timers/promises';

import { Command } from 'commander';

import type { CompiledConfig } from '../../config/index.js';
import { ConfigError } from '../../errors/index.js';
import type { JobResult } from '../../engine/index.js';
import { previewPendingJobs, runCompaniesOnce } from '../../runtime/index.js';
import type { Store } from '../../store/index.js';
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
import { json, type Io } from '../output.js';
import { Progress, summaryTable } from '../progress.js';
import { shutdownSignal } from '../signals.js';
import { printPreview } from './preview.js';

interface RunOptions extends CommonOptions {
  once?: boolean;
  dryRun?: boolean;
  json?: boolean;
  progress: boolean;
}

/** Runs every configured company once (`runCompaniesOnce`), with a progress bar per job. */
export async function runAllOnce(
  config: CompiledConfig,
  store: Store,
  io: Io,
  options: { signal?: AbortSignal; progress?: boolean; logLevel?: string },
): Promise<JobResult[]> {
  const logger = createLogger(options.logLevel ?? (io.isTTY ? 'warn' : config.log.level));
  const progress = new Progress(io, options.progress ?? true);
  try {
    return await runCompaniesOnce(config, store, {
      logger,
      onEvent: (_id, event) => progress.handle(event),
      ...(io.sleep ? { sleep: io.sleep } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    progress.stop();
  }
}

export function runCommand(io: Io): Command {
  return withConfigOptions(new Command('run'))
    .description('detect, claim and process every eligible export job of the configured companies')
    .option('--once', 'process what is eligible now, then exit (without it: keep polling)')
    .option('--dry-run', 'preview eligible pending jobs: map every item, write nothing anywhere')
    .option(
      '--concurrency <n>',
      'accounting-system writes in flight per job (1 = strict order)',
      intArg('--concurrency', 1, 256),
    )
    .option('--no-progress', 'no progress output')
    .option('--json', 'print the results as JSON')
    .action(async (options: RunOptions) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      if (config.postgres.url !== undefined && options.dryRun !== true) {
        // In the scaled-out mode a company runs on one worker at a time, through the queue; a run in
        // this process would race the workers (fences keep the store safe, but Pleo could receive
        // the same item updates twice).
        throw new ConfigError(
          'run processes companies in this process; in the scaled-out mode (--postgres / postgres.url) use `pleo-export serve --postgres` and `pleo-export worker`, and `pleo-export trigger` to poll now.',
        );
      }
      const store = await openStore(config);
      const shutdown = shutdownSignal(config.server.shutdownGraceMs, (name) =>
        io.err(`${name}: finishing in-flight items…`),
      );
      try {
        if (options.dryRun === true) {
          await dryRun(config, store, io, options.json === true);
          return;
        }
        for (;;) {
          const results = await runAllOnce(config, store, io, {
            signal: shutdown.signal,
            progress: options.progress && options.json !== true,
            ...(options.logLevel ? { logLevel: options.logLevel } : {}),
          });
          if (options.json === true) io.out(json(results));
          else if (results.length > 0) io.out(summaryTable(results));
          else io.out('No eligible export jobs.');
          if (shutdown.signal.aborted) {
            process.exitCode = EXIT.interrupted;
            return;
          }
          if (options.once === true) {
            if (results.some((r) => r.event === 'failed')) process.exitCode = EXIT.failed;
            // A run deferred by a transient accounting-system fault: nothing failed, try again later.
            else if (results.some((r) => r.disposition === 'deferred')) process.exitCode = EXIT.accounting;
            return;
          }
          await delay(config.server.pollIntervalMs, undefined, { signal: shutdown.signal }).catch(
            () => undefined,
          );
          if (shutdown.signal.aborted) return;
        }
      } finally {
        shutdown.dispose();
        await store.close();
      }
    });
}

async function dryRun(config: CompiledConfig, store: Store, io: Io, asJson: boolean): Promise<void> {
  for await (const { company, preview } of previewPendingJobs(config, store)) {
    if (preview !== null) printPreview(io, preview, { json: asJson, limit: 20 });
    else if (!asJson) io.out(`Company ${company.name}: no pending jobs.`);
  }
}
