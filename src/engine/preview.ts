/**
 * Preview (dry run): read a job without claiming it, map every item, and say what would be booked
 * and what would fail and why. It sends no event and no item update, writes nothing to the store
 * or the accounting system (Pleo serves export items of `pending` jobs, so nothing needs claiming).
 * Bookkeepers use it to fix mappings before they export.
 */
import type { AccountingEntry, ItemFailure, MappingResult } from '../accounting/index.js';
import { isOpenItemStatus, type ExportItem, type PleoClient } from '../client/index.js';
import type { Store } from '../store/index.js';

export interface PreviewItem {
  accountingEntryId: string;
  date: string;
  /** `book`: a new entry; `already_booked`: booked before (a re-export; it will not be booked twice). */
  outcome: 'book' | 'fail' | 'already_final' | 'already_booked';
  entry?: AccountingEntry;
  failure?: ItemFailure;
}

export interface PreviewResult {
  jobId: string;
  status: string;
  items: PreviewItem[];
  counts: { book: number; fail: number; already_final: number; already_booked: number };
}

export async function previewJob(options: {
  client: PleoClient;
  mapItem: (item: ExportItem, ctx: { jobId: string; companyId: string }) => MappingResult;
  jobId: string;
  store?: Store;
  pageSize?: number;
  signal?: AbortSignal;
}): Promise<PreviewResult> {
  const { client, jobId } = options;
  const signal = options.signal ? { signal: options.signal } : {};
  const job = await client.getJob(jobId, signal);
  const open = new Set<string>();
  for await (const page of client.listJobItems(jobId, {}, { pageSize: options.pageSize ?? 100, ...signal })) {
    for (const item of page.data) if (isOpenItemStatus(item.status)) open.add(item.accountingEntryId);
  }
  const items: PreviewItem[] = [];
  for await (const page of client.listExportItems(jobId, { pageSize: options.pageSize ?? 100, ...signal })) {
    for (const item of page.data) {
      const base = { accountingEntryId: item.accountingEntryId, date: item.date };
      if (!open.has(item.accountingEntryId)) {
        items.push({ ...base, outcome: 'already_final' });
        continue;
      }
      const booked = await options.store?.findBooking(job.companyId, item.accountingEntryId);
      if (booked) {
        items.push({ ...base, outcome: 'already_booked' });
        continue;
      }
      const mapped = options.mapItem(item, { jobId, companyId: job.companyId });
      items.push(
        mapped.ok
          ? { ...base, outcome: 'book', entry: mapped.entry }
          : {
              ...base,
              outcome: 'fail',
              failure: { failureReasonType: mapped.failureReasonType, failureReason: mapped.failureReason },
            },
      );
    }
  }
  items.sort(
    (a, b) =>
      Date.parse(a.date) - Date.parse(b.date) || a.accountingEntryId.localeCompare(b.accountingEntryId),
  );
  const counts = { book: 0, fail: 0, already_final: 0, already_booked: 0 };
  for (const item of items) counts[item.outcome]++;
  return { jobId, status: job.status, items, counts };
}
