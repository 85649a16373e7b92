/**
 * `retry <jobId>`: re-export the entries that failed in a job, after the mapping was fixed.
 *
 * Pleo does not let an integration reopen a finished job: failed expenses go back to the export
 * queue and are exported in a **new export job** (docs/decisions.md#w28). This command maps each
 * failed entry again with the current configuration and shows what changed, then (unless
 * `--dry-run`) creates the new job with `POST /v3/export-jobs` and runs it (unless `--no-run`, to
 * leave it to the daemon). Entries already booked are never booked twice.
 */
import { Command } from 'commander';

import { ExportError } from '../../errors/index.js';
import { createCompanyRuntime } from '../../runtime/index.js';
import {
  configFromOptions,
  createLogger,
  openStore,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { planRetry } from '../console-actions.js';
import { json, shorten, table, type Io } from '../output.js';
import { summaryTable } from '../progress.js';

interface RetryOptions extends CommonOptions {
  dryRun?: boolean;
  run: boolean;
  json?: boolean;
}

export function retryCommand(io: Io): Command {
  return withConfigOptions(new Command('retry'))
    .description(
      're-export the failed entries of a job in a new export job (as Pleo requires), after fixing the mapping',
    )
    .argument('<jobId>', 'the job whose failed entries to export again')
    .option('--dry-run', 'only show how each failed entry maps now')
    .option('--no-run', 'create the new export job but leave it to the daemon')
    .option('--json', 'machine-readable output')
    .action(async (jobId: string, options: RetryOptions) => {
      const config = configFromOptions(options);
      const store = await openStore(config);
      try {
        const job = await store.findJob(jobId.toLowerCase());
        if (!job)
          throw new ExportError(`Job ${jobId} is not in the local state.`, {
            code: 'NOT_FOUND',
            retryable: false,
          });
        if (job.phase !== 'done') {
          throw new ExportError(
            `Job ${jobId} is still being exported (${job.phase}); retry it once it is finished.`,
            {
              code: 'INVALID_ARGUMENT',
              retryable: false,
            },
          );
        }
        const company = config.companies.find((c) => c.id === job.companyId);
        if (!company)
          throw new ExportError(`Company ${job.companyId} of job ${jobId} is not configured.`, {
            code: 'INVALID_CONFIG',
            retryable: false,
          });
        const failed = await store.listItems(job, { states: ['failed'], limit: 10_000_000 });
        if (failed.length === 0) {
          io.out(`Job ${jobId} has no failed entries: nothing to retry.`);
          return;
        }
        const changes = await planRetry(store, company, job);
        const fixed = changes.filter((c) => c.fixed).length;
        if (options.json !== true) {
          io.out(
            table(
              ['accountingEntryId', 'failed with', 'now'],
              changes.map((c) => [c.accountingEntryId, shorten(c.before, 60), shorten(c.now, 60)]),
            ),
          );
          io.out(`${fixed} of ${changes.length} failed entries would now be booked.`);
        }
        if (options.dryRun === true) {
          if (options.json === true) io.out(json({ changes }));
          return;
        }
        const runtime = await createCompanyRuntime(config, company, store, {
          logger: createLogger(options.logLevel ?? 'warn'),
        });
        try {
          const created = await runtime.client.createJob({
            companyId: company.id,
            accountingEntryIds: changes.map((c) => c.accountingEntryId),
          });
          if (options.json !== true)
            io.out(`Created export job ${created.id} with ${changes.length} entries.`);
          if (!options.run || config.postgres.url !== undefined) {
            // Scaled out, the workers run it (one worker per company at a time): the next poll
            // finds the new job, or `pleo-export trigger` asks for one now.
            if (options.json !== true && options.run) {
              io.out(
                'Scaled-out mode: the workers will export it at their next poll (pleo-export trigger to poll now).',
              );
            }
            if (options.json === true) io.out(json({ changes, jobId: created.id }));
            return;
          }
          const result = await runtime.engine.runJobById(created.id);
          if (options.json === true) io.out(json({ changes, jobId: created.id, result }));
          else io.out(summaryTable([result]));
        } finally {
          await runtime.close();
        }
      } finally {
        await store.close();
      }
    });
}
