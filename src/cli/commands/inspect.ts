/** `jobs`, `items <jobId>`, `show <accountingEntryId>`: read the local state, as tables or JSON. */
import { Command, Option } from 'commander';

import { ITEM_STATUSES, type ExportJobItemStatus } from '../../client/index.js';
import type { CompiledConfig } from '../../config/index.js';
import { ExportError } from '../../errors/index.js';
import { createWorkQueue, type QueueDepth, type WaitingMessage } from '../../queue/index.js';
import { workQueueOptions } from '../../runtime/index.js';
import { ITEM_STATES, type AuditEvent, type ItemState, type Store } from '../../store/index.js';
import { configFromOptions, intArg, openStore, withConfigOptions, type CommonOptions } from '../context.js';
import { json, shorten, table, type Io } from '../output.js';

async function withStore<T>(options: CommonOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(configFromOptions(options));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The scaled-out mode's work queue as operators see it: depth and the messages waiting to run. */
async function readQueue(
  config: CompiledConfig,
  limit: number,
): Promise<{ depth: QueueDepth; waiting: WaitingMessage[] }> {
  const queue = createWorkQueue(workQueueOptions(config));
  await queue.start();
  try {
    return { depth: await queue.depth(), waiting: await queue.waiting(limit) };
  } finally {
    await queue.stop(1000);
  }
}

function printQueue(io: Io, queue: { depth: QueueDepth; waiting: WaitingMessage[] }): void {
  const { depth } = queue;
  io.out(
    `Queue: ${depth.queued} waiting (${depth.ready} ready), ${depth.active} running, ${depth.failed} failed (pg-boss counts, refreshed every supervise interval)`,
  );
  const retrying = queue.waiting.filter((m) => m.state === 'retry');
  if (retrying.length === 0) return;
  io.out(
    table(
      ['company', 'failed runs', 'waiting since', 'last error'],
      retrying.map((m) => [
        shorten(m.companyId, 13),
        m.failedRuns,
        m.createdOn.toISOString().slice(0, 19).replace('T', ' '),
        shorten(m.lastError, 70),
      ]),
    ),
  );
}

export function jobsCommand(io: Io): Command {
  return withConfigOptions(new Command('jobs'))
    .description(
      'list the export jobs in the local state (or the shared PostgreSQL store), oldest first; with --postgres also the work queue',
    )
    .option('--json', 'machine-readable output')
    .option('--queue', 'scaled-out mode: show only the work queue (depth, waiting and retrying companies)')
    .option('--limit <n>', 'at most this many jobs', intArg('--limit', 1, 100_000), 1000)
    .action(async (options: CommonOptions & { json?: boolean; queue?: boolean; limit: number }) => {
      const config = configFromOptions(options);
      const scaledOut = config.postgres.url !== undefined;
      if (options.queue === true) {
        if (!scaledOut) {
          throw new ExportError('--queue needs the scaled-out mode (--postgres URL).', {
            code: 'INVALID_ARGUMENT',
            retryable: false,
          });
        }
        const queue = await readQueue(config, options.limit);
        if (options.json) io.out(json(queue));
        else printQueue(io, queue);
        return;
      }
      await withStore(options, async (store) => {
        const jobs = await store.listJobs({
          ...(options.company ? { companyId: options.company } : {}),
          limit: options.limit,
        });
        const rows = await Promise.all(jobs.map(async (job) => ({ job, counts: await store.counts(job) })));
        if (options.json) {
          io.out(json(rows.map(({ job, counts }) => ({ ...job, counts }))));
          return;
        }
        if (rows.length === 0) {
          io.out('No jobs in the local state yet. Run `pleo-export run --once` first.');
          if (scaledOut) printQueue(io, await readQueue(config, options.limit));
          return;
        }
        io.out(
          table(
            [
              'job',
              'company',
              'created',
              'phase',
              'Pleo status',
              'event',
              'items',
              'booked',
              'failed',
              'reported',
              ...(scaledOut ? ['owner', 'runs'] : []),
            ],
            rows.map(({ job, counts }) => [
              job.jobId,
              shorten(job.companyId, 13),
              job.createdAt.slice(0, 19).replace('T', ' '),
              job.phase,
              job.pleoStatus,
              job.finalEvent ?? '',
              counts.total,
              counts.byState.booked,
              counts.byState.failed,
              counts.reported,
              ...(scaledOut ? [job.leaseOwner ?? '', job.runs] : []),
            ]),
          ),
        );
        if (scaledOut) printQueue(io, await readQueue(config, options.limit));
      });
    });
}

export function itemsCommand(io: Io): Command {
  return withConfigOptions(new Command('items'))
    .description("list a job's items in processing order")
    .argument('<jobId>', 'export job id')
    .addOption(
      new Option('--status <status>', 'only items with this Pleo status').choices([...ITEM_STATUSES]),
    )
    .addOption(new Option('--state <state>', 'only items in this local state').choices([...ITEM_STATES]))
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'at most this many items', intArg('--limit', 1, 10_000_000), 1000)
    .action(
      async (
        jobId: string,
        options: CommonOptions & {
          status?: ExportJobItemStatus;
          state?: ItemState;
          json?: boolean;
          limit: number;
        },
      ) => {
        await withStore(options, async (store) => {
          const job = await store.findJob(jobId);
          if (!job)
            throw new ExportError(`Job ${jobId} is not in the local state.`, {
              code: 'NOT_FOUND',
              retryable: false,
            });
          const items = await store.listItems(job, {
            ...(options.status ? { pleoStatus: options.status } : {}),
            ...(options.state ? { states: [options.state] } : {}),
            limit: options.limit,
          });
          if (options.json) {
            io.out(json(items));
            return;
          }
          io.out(
            table(
              ['#', 'accountingEntryId', 'date', 'state', 'Pleo', 'externalId', 'failure'],
              items.map((i) => [
                i.seq,
                i.accountingEntryId,
                i.date?.slice(0, 10),
                i.state,
                i.pleoStatus,
                i.externalId,
                i.failureReasonType
                  ? `${i.failureReasonType}: ${shorten(i.failureReason, 70)}`
                  : (i.reportError ?? ''),
              ]),
            ),
          );
          io.out(`${items.length} item(s)`);
        });
      },
    );
}

/** One line of an audit event's detail (the console shows the same, in words). */
function auditText(event: AuditEvent): string {
  const d = event.detail;
  const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  switch (event.step) {
    case 'booked':
      return [
        text(d['externalId']),
        d['resolvedBy'] === 'lookup' ? 'answer lost: resolved by lookup, not written again' : '',
        typeof d['bookedInJob'] === 'string' ? `already booked in job ${d['bookedInJob']}` : '',
      ]
        .filter(Boolean)
        .join('; ');
    case 'failed':
      return `${text(d['failureReasonType'])}: ${text(d['failureReason'])}`;
    case 'intent': {
      const postings = (
        d['entry'] as { postings?: { account?: unknown; amount?: { value?: unknown } }[] } | undefined
      )?.postings;
      return Array.isArray(postings)
        ? postings.map((p) => `${text(p.account)} ${text(p.amount?.value)}`).join(', ')
        : '';
    }
    case 'report_rejected':
      return text(d['message']);
    case 'data_fetched':
      return d['missing'] === true ? 'no export data from Pleo' : text(d['date']);
    case 'receipts_stored':
      return `${Array.isArray(d['receipts']) ? d['receipts'].length : 0} receipt(s)`;
    default:
      return text(d['pleoStatus']);
  }
}

export function showCommand(io: Io): Command {
  return withConfigOptions(new Command('show'))
    .description('show everything known locally about one accounting entry, with its audit trail')
    .argument('<accountingEntryId>', 'Pleo accounting entry id')
    .option('--json', 'machine-readable output')
    .action(async (entryId: string, options: CommonOptions & { json?: boolean }) => {
      await withStore(options, async (store) => {
        const records = await store.findItemsByEntry(entryId);
        if (records.length === 0) {
          throw new ExportError(`Entry ${entryId} is not in the local state.`, {
            code: 'NOT_FOUND',
            retryable: false,
          });
        }
        const booking = await store.findBooking(records[0]!.companyId, entryId);
        const trail = await store.auditTrail(entryId);
        if (options.json) {
          io.out(json({ records, booking, trail }));
          return;
        }
        for (const r of records) {
          io.out(
            table(
              ['field', 'value'],
              [
                ['job', r.jobId],
                ['company', r.companyId],
                ['order (seq)', r.seq],
                ['date', r.date],
                ['local state', r.state],
                ['Pleo status', r.pleoStatus],
                ['reported', r.reported ? 'yes' : 'no'],
                ['attempts', r.attempt],
                ['externalId', r.externalId],
                ['externalUrl', r.externalUrl],
                ['exportedAt', r.exportedAt],
                ['failure', r.failureReasonType ? `${r.failureReasonType}: ${r.failureReason ?? ''}` : ''],
                ['report error', r.reportError],
                ['receipts', (r.attachments ?? []).map((a) => a.path)],
              ],
            ),
          );
          const steps = trail.filter((e) => e.jobId === r.jobId && e.companyId === r.companyId);
          if (steps.length > 0) {
            io.out(
              table(
                ['time (UTC)', 'step', 'attempt', 'detail'],
                steps.map((e) => [
                  e.at.slice(0, 19).replace('T', ' '),
                  e.step,
                  e.attempt || '',
                  shorten(auditText(e), 90),
                ]),
              ),
            );
          }
        }
        if (booking) io.out(`Booked once, in job ${booking.jobId}, as ${booking.externalId}.`);
      });
    });
}
