/** `preview <jobId>`: what a job would book and what would fail, without claiming it. */
import { Command } from 'commander';

import { formatMinor, mapExportItem } from '../../accounting/index.js';
import { previewJob, type PreviewResult } from '../../engine/index.js';
import { createClient } from '../../runtime/index.js';
import {
  configFromOptions,
  intArg,
  openStore,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { json, shorten, table, type Io } from '../output.js';

export function printPreview(
  io: Io,
  preview: PreviewResult,
  options: { json: boolean; limit: number },
): void {
  if (options.json) {
    io.out(json(preview));
    return;
  }
  const c = preview.counts;
  io.out(
    `Job ${preview.jobId} (${preview.status}): ${c.book} would be booked, ${c.fail} would fail, ` +
      `${c.already_booked} already booked earlier, ${c.already_final} already final at Pleo.`,
  );
  const failures = preview.items.filter((i) => i.outcome === 'fail');
  if (failures.length > 0) {
    io.out('\nWould fail (fix the mapping, then export):');
    io.out(
      table(
        ['accountingEntryId', 'date', 'type', 'reason'],
        failures.map((i) => [
          i.accountingEntryId,
          i.date.slice(0, 10),
          i.failure?.failureReasonType,
          shorten(i.failure?.failureReason, 90),
        ]),
      ),
    );
  }
  const booked = preview.items.filter((i) => i.outcome === 'book').slice(0, options.limit);
  if (booked.length > 0) {
    io.out(`\nWould be booked (first ${booked.length}):`);
    io.out(
      table(
        ['date', 'description', 'account', 'amount'],
        booked.flatMap((i) =>
          (i.entry?.postings ?? []).map((p, n) => [
            n === 0 ? (i.entry?.date ?? '') : '',
            n === 0 ? shorten(i.entry?.description, 40) : '',
            p.account,
            `${formatMinor(p.amount.value, p.amount.currency)} ${p.amount.currency}`,
          ]),
        ),
      ),
    );
  }
}

export function previewCommand(io: Io): Command {
  return withConfigOptions(new Command('preview'))
    .description(
      'read a pending job without claiming it; show the entries it would book and the items that would fail',
    )
    .argument('<jobId>', 'export job id')
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'entries shown', intArg('--limit', 1, 1_000_000), 20)
    .action(async (jobId: string, options: CommonOptions & { json?: boolean; limit: number }) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      const company = config.companies[0]!;
      const store = await openStore(config);
      try {
        const client = await createClient(config, company, store);
        const preview = await previewJob({
          client,
          jobId,
          store,
          mapItem: (item, ctx) => mapExportItem(item, company.accounting, ctx),
        });
        printPreview(io, preview, { json: options.json === true, limit: options.limit });
      } finally {
        await store.close();
      }
    });
}
