/**
 * The store's business rules, decided once for every dialect: what a re-listed item means
 * (reconciliation), the processing order (planning), how items add up (counting) and what the audit
 * trail says about an outcome. Pure functions of plain values: each dialect reads the rows the rule
 * needs, asks the rule, and writes what it answered, in the same transaction. No SQL here, and no
 * rule in the dialects' SQL.
 */
import type { ExportJobItemStatus } from '../client/index.js';
import {
  ITEM_STATES,
  type ItemFailureFields,
  type ItemOutcome,
  type ItemState,
  type JobCounts,
  type ListedItem,
} from './types.js';

/** Job-item statuses at Pleo that still need processing; every other status is final. */
export const OPEN_PLEO_STATUSES: readonly ExportJobItemStatus[] = ['pending', 'in_progress'];

export function isOpenAtPleo(status: ExportJobItemStatus): boolean {
  return OPEN_PLEO_STATUSES.includes(status);
}

/** The failure of an in-scope item the data layer never returned. */
export const NO_DATA: ItemFailureFields = {
  failureReasonType: 'unexpected_failure',
  failureReason:
    'Pleo returned no export data for this entry (GET /v3/export-items). Export it again; if it keeps failing, contact Pleo support.',
};

/** The date such an item is planned with: after every real date, so it goes last. */
export const NO_DATA_DATE = '9999-12-31T23:59:59Z';

/** What the store holds of an item when its job-items page is listed again. */
export interface HeldItem {
  state: ItemState;
  reported: boolean;
}

/**
 * What storing one listed row does:
 * - `insert`: a row seen for the first time; one already final at Pleo is `skipped` and counts as
 *   reported (never processed).
 * - `reconcile`: Pleo holds a final status for a row we hold. If our outcome was waiting to be
 *   reported, its report was accepted before a crash: mark it reported, never send it again. If we
 *   had not finished the item, someone else finalised it at Pleo: skip it. `state` is the row's new
 *   state, `from` its old one; either way it is reported, with Pleo's status.
 * - `keep`: nothing to change (still open at Pleo, or already settled with Pleo).
 */
export type ListedAction =
  | { kind: 'insert'; state: 'listed' | 'skipped'; reported: boolean }
  | { kind: 'reconcile'; state: ItemState; from: ItemState }
  | { kind: 'keep' };

export function listedAction(held: HeldItem | null, status: ExportJobItemStatus): ListedAction {
  const open = isOpenAtPleo(status);
  if (held === null) return { kind: 'insert', state: open ? 'listed' : 'skipped', reported: !open };
  if (open || held.state === 'skipped') return { kind: 'keep' };
  if (held.state === 'booked' || held.state === 'failed') {
    return held.reported ? { kind: 'keep' } : { kind: 'reconcile', state: held.state, from: held.state };
  }
  return { kind: 'reconcile', state: 'skipped', from: held.state };
}

/** The `listed` / `reconciled` audit detail of a listed row and the action taken. */
export function listedDetail(item: ListedItem, action: ListedAction): Record<string, unknown> {
  if (action.kind === 'reconcile') return { pleoStatus: item.status, state: action.from };
  return { pleoStatus: item.status, skipped: !isOpenAtPleo(item.status) };
}

/** An item still `listed` when its job is planned. */
export interface PlanInput {
  accountingEntryId: string;
  /** The data layer's date; null when no data was stored for it. */
  date: string | null;
  /** Whether its export data is stored. */
  hasData: boolean;
}

export interface PlannedItem {
  accountingEntryId: string;
  seq: number;
  date: string;
  /** Set for an item without data: it is planned with this visible failure. */
  prefailure: ItemFailureFields | null;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The deterministic processing order: oldest transaction date first, accountingEntryId as
 * tie-break, both compared as strings (ISO-8601 UTC strings of one format sort like the instants
 * they denote; ids and dates are ASCII, where JavaScript's order is byte order, as PostgreSQL's
 * `COLLATE "C"` and SQLite's). Items without data go last with `NO_DATA`. Seqs start at 1 and
 * planning the same rows again yields the same plan.
 */
export function planOrder(items: readonly PlanInput[]): PlannedItem[] {
  return items
    .map((item) => ({
      accountingEntryId: item.accountingEntryId,
      date: item.date ?? NO_DATA_DATE,
      prefailure: item.hasData ? null : NO_DATA,
    }))
    .sort((a, b) => byteOrder(a.date, b.date) || byteOrder(a.accountingEntryId, b.accountingEntryId))
    .map((item, i) => ({ ...item, seq: i + 1 }));
}

/** The `data_fetched` audit detail of an item planned without data. */
export const NO_DATA_DETAIL: Readonly<Record<string, unknown>> = { missing: true, prefailure: NO_DATA };

/** Items of a job that share the facts counting looks at (one row of a GROUP BY). */
export interface CountGroup {
  state: ItemState;
  pleoStatus: ExportJobItemStatus;
  reported: boolean;
  /** Its export data is stored (or was found missing): a date is set. */
  fetched: boolean;
  n: number;
}

/**
 * Adds a job's item groups up. An item is successful when we booked it or Pleo held it as
 * `successful` when listed; failed when it failed here or Pleo held another final status; fetched
 * when it has a date (skipped items excluded: they are never fetched).
 */
export function countItems(groups: readonly CountGroup[]): JobCounts {
  const byState = Object.fromEntries(ITEM_STATES.map((s) => [s, 0])) as Record<ItemState, number>;
  const counts: JobCounts = {
    total: 0,
    byState,
    reported: 0,
    unreported: 0,
    successful: 0,
    failed: 0,
    fetched: 0,
  };
  for (const g of groups) {
    byState[g.state] += g.n;
    counts.total += g.n;
    if (g.reported) counts.reported += g.n;
    const skipped = g.state === 'skipped';
    if (g.state === 'booked' || (skipped && g.pleoStatus === 'successful')) counts.successful += g.n;
    if (g.state === 'failed' || (skipped && g.pleoStatus !== 'successful')) counts.failed += g.n;
    if (!skipped && g.fetched) counts.fetched += g.n;
  }
  counts.unreported = counts.total - counts.reported;
  return counts;
}

/**
 * The `booked` / `failed` audit detail of an outcome. `bookedInJob` names the earlier job whose
 * booking of the entry was reused (null when there is none, or it is this job's own).
 */
export function outcomeDetail(outcome: ItemOutcome, bookedInJob: string | null): Record<string, unknown> {
  if (outcome.status === 'failed') {
    return { failureReasonType: outcome.failureReasonType, failureReason: outcome.failureReason };
  }
  return {
    externalId: outcome.externalId,
    externalUrl: outcome.externalUrl,
    exportedAt: outcome.exportedAt,
    ...(outcome.resolvedBy ? { resolvedBy: outcome.resolvedBy } : {}),
    ...(bookedInJob !== null ? { bookedInJob } : {}),
  };
}

/** The `report_rejected` audit detail. */
export function rejectionDetail(rejection: { message: string; giveUp?: boolean }): Record<string, unknown> {
  return { message: rejection.message, giveUp: rejection.giveUp === true };
}
