/**
 * The console's actions over a configuration: pending jobs and their preview (read-only calls to
 * Pleo), and the retry of a job's failed entries — the flow of `pleo-export retry`: map each
 * failed entry again with the current configuration, then create a new export job of them at
 * Pleo (Pleo does not reopen a finished job) and have it exported.
 */
import { mapExportItem, type MappingResult } from '../accounting/index.js';
import type { ExportItem, PleoClient } from '../client/index.js';
import type { CompiledCompany, CompiledConfig } from '../config/index.js';
import type { ConsoleActions, RetryChange, RetryPlan } from '../console/index.js';
import { previewJob } from '../engine/index.js';
import { ConfigError, ExportError } from '../errors/index.js';
import { createClient } from '../runtime/index.js';
import type { JobRecord, Store } from '../store/index.js';

export type MapItem = (
  company: CompiledCompany,
  item: ExportItem,
  ctx: { jobId: string; companyId: string },
) => MappingResult;

export const configuredMapping: MapItem = (company, item, ctx) =>
  mapExportItem(item, company.accounting, ctx);

/** How each failed entry of `job` maps now (the payload of a failed item is kept for this). */
export async function planRetry(
  store: Store,
  company: CompiledCompany,
  job: JobRecord,
  mapItem: MapItem = configuredMapping,
): Promise<RetryChange[]> {
  const failed = await store.listItems(job, { states: ['failed'], limit: 10_000_000 });
  const changes: RetryChange[] = [];
  for (const item of failed) {
    const record = (await store.findItemsByEntry(item.accountingEntryId)).find((r) => r.jobId === job.jobId);
    const payload = record?.payload ?? null;
    const now =
      payload === null ? null : mapItem(company, payload, { jobId: job.jobId, companyId: job.companyId });
    changes.push({
      accountingEntryId: item.accountingEntryId,
      before: `${item.failureReasonType ?? ''}: ${item.failureReason ?? ''}`,
      now:
        now === null
          ? 'unknown (no data kept)'
          : now.ok
            ? 'would be booked'
            : `still fails: ${now.failureReasonType}: ${now.failureReason}`,
      fixed: now?.ok === true,
    });
  }
  return changes;
}

export interface ConsoleActionsOptions {
  config: CompiledConfig;
  store: Store;
  /** @default the configured mapping */
  mapItem?: MapItem;
  /** @default a client from the configuration */
  client?: (company: CompiledCompany) => Promise<PleoClient>;
  /** What happens to the new job, said on the confirmation page before anything is done. */
  effect: string;
  /** Has the new job exported (a poll of the company, or a run in this process). */
  start: (company: CompiledCompany, jobId: string) => void;
}

export function consoleActions(options: ConsoleActionsOptions): ConsoleActions {
  const { config, store } = options;
  const mapItem = options.mapItem ?? configuredMapping;
  const clients = new Map<string, Promise<PleoClient>>();
  const companyOf = (companyId: string): CompiledCompany => {
    const company = config.companies.find((c) => c.id === companyId);
    if (!company) throw new ConfigError(`Company ${companyId} is not configured.`);
    return company;
  };
  const clientOf = (company: CompiledCompany): Promise<PleoClient> => {
    let client = clients.get(company.id);
    if (!client) {
      client = options.client ? options.client(company) : createClient(config, company, store);
      client.catch(() => clients.delete(company.id));
      clients.set(company.id, client);
    }
    return client;
  };
  return {
    async pendingJobs(companyId) {
      const client = await clientOf(companyOf(companyId));
      const jobs: { id: string; createdAt: string; numberOfItems: number }[] = [];
      for await (const page of client.listJobs({ statuses: ['pending'] })) {
        for (const job of page.data) {
          if (job.companyId === companyId)
            jobs.push({ id: job.id, createdAt: job.createdAt, numberOfItems: job.numberOfItems });
        }
        if (jobs.length >= 500) break;
      }
      return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },
    async preview(companyId, jobId) {
      const company = companyOf(companyId);
      const client = await clientOf(company);
      return previewJob({ client, jobId, store, mapItem: (item, ctx) => mapItem(company, item, ctx) });
    },
    async planRetry(job): Promise<RetryPlan> {
      const changes = await planRetry(store, companyOf(job.companyId), job, mapItem);
      return { changes, effect: options.effect };
    },
    async retry(job) {
      if (job.phase !== 'done') {
        throw new ExportError(
          `Job ${job.jobId} is still being exported (${job.phase}); retry it once it is finished.`,
          {
            code: 'INVALID_ARGUMENT',
            retryable: false,
          },
        );
      }
      const company = companyOf(job.companyId);
      const failed = await store.listItems(job, { states: ['failed'], limit: 10_000_000 });
      if (failed.length === 0) {
        throw new ExportError(`Job ${job.jobId} has no failed entries: nothing to retry.`, {
          code: 'INVALID_ARGUMENT',
          retryable: false,
        });
      }
      const client = await clientOf(company);
      const created = await client.createJob({
        companyId: company.id,
        accountingEntryIds: failed.map((i) => i.accountingEntryId),
      });
      options.start(company, created.id);
      return {
        jobId: created.id,
        message: `Created export job ${created.id} with ${failed.length} entries. ${options.effect}`,
      };
    },
  };
}
