/**
 * Row → record mapping shared by the SQLite and PostgreSQL stores (both hand back untyped rows with
 * the same column names; SQLite spells booleans 0/1, PostgreSQL true/false).
 */
import type {
  AttachmentRecord,
  AuditEvent,
  FetchedItem,
  BookingRecord,
  FailureSummary,
  ItemFailureFields,
  ItemRecord,
  ItemState,
  ItemWithPayload,
  JobPhase,
  JobRecord,
  StagedPage,
} from './types.js';

export type Row = Record<string, unknown>;

function flag(value: unknown): boolean {
  return value === true || value === 1 || value === 1n;
}

export function nullableString(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  throw new Error(`store: expected a text column, got ${typeof value}`);
}

export function toJob(row: Row): JobRecord {
  return {
    companyId: String(row['company_id']),
    jobId: String(row['job_id']),
    createdAt: String(row['created_at']),
    pleoStatus: String(row['pleo_status']) as JobRecord['pleoStatus'],
    vendorBasedBookkeeping: flag(row['vendor_based_bookkeeping']),
    numberOfItems: Number(row['number_of_items']),
    phase: String(row['phase']) as JobPhase,
    listCursor: nullableString(row['list_cursor']),
    dataCursor: nullableString(row['data_cursor']),
    finalEvent: nullableString(row['final_event']) as JobRecord['finalEvent'],
    failureReason: nullableString(row['failure_reason']),
    failureReasonType: nullableString(row['failure_reason_type']) as JobRecord['failureReasonType'],
    leaseOwner: nullableString(row['lease_owner']),
    fenceToken: Number(row['fence_token']),
    runs: Number(row['runs']),
    discoveredAt: String(row['discovered_at']),
    updatedAt: String(row['updated_at']),
    completedAt: nullableString(row['completed_at']),
  };
}

function parseJson<T>(value: unknown): T | null {
  const text = nullableString(value);
  return text === null ? null : (JSON.parse(text) as T);
}

export function toItem(row: Row): ItemRecord {
  const seq = row['seq'];
  return {
    companyId: String(row['company_id']),
    jobId: String(row['job_id']),
    accountingEntryId: String(row['entry_id']),
    pleoStatus: String(row['pleo_status']) as ItemRecord['pleoStatus'],
    state: String(row['state']) as ItemState,
    seq: seq === null || seq === undefined ? null : Number(seq),
    date: nullableString(row['date']),
    attempt: Number(row['attempt']),
    externalId: nullableString(row['external_id']),
    externalUrl: nullableString(row['external_url']),
    exportedAt: nullableString(row['exported_at']),
    failureReason: nullableString(row['failure_reason']),
    failureReasonType: nullableString(row['failure_reason_type']) as ItemRecord['failureReasonType'],
    reported: flag(row['reported']),
    reportAttempts: Number(row['report_attempts']),
    reportError: nullableString(row['report_error']),
    attachments: parseJson<AttachmentRecord[]>(row['attachments']),
    prefailure: parseJson<ItemFailureFields>(row['prefailure']),
    amount:
      row['amount_value'] === null || row['amount_value'] === undefined
        ? null
        : { value: Number(row['amount_value']), currency: String(row['amount_currency']) },
    updatedAt: String(row['updated_at']),
  };
}

export function toItemWithPayload(row: Row): ItemWithPayload {
  return { ...toItem(row), payload: parseJson<ItemWithPayload['payload']>(row['payload']) };
}

export function toStagedPage(position: number, row: Row): StagedPage {
  return {
    position,
    items: parseJson<FetchedItem[]>(row['items']) ?? [],
    cursor: nullableString(row['cursor']),
    complete: flag(row['complete']),
  };
}

export function toBooking(row: Row): BookingRecord {
  return {
    companyId: String(row['company_id']),
    accountingEntryId: String(row['entry_id']),
    jobId: String(row['job_id']),
    externalId: String(row['external_id']),
    externalUrl: nullableString(row['external_url']),
    exportedAt: String(row['exported_at']),
  };
}

/** A row of `failure_reason_type AS t, failure_reason AS r, count(*) AS n`. */
export function toFailureSummary(row: Row): FailureSummary {
  return {
    failureReasonType: String(row['t']) as FailureSummary['failureReasonType'],
    failureReason: String(row['r']),
    count: Number(row['n']),
  };
}

export function toAuditEvent(row: Row): AuditEvent {
  const detail = parseJson<unknown>(row['detail']);
  return {
    companyId: String(row['company_id']),
    jobId: String(row['job_id']),
    accountingEntryId: String(row['entry_id']),
    at: String(row['at']),
    step: String(row['step']) as AuditEvent['step'],
    attempt: Number(row['attempt']),
    detail:
      typeof detail === 'object' && detail !== null && !Array.isArray(detail)
        ? (detail as Record<string, unknown>)
        : {},
  };
}

/** The amount shown for an item: the wallet currency's, in minor units (null when absent). */
export function amountOf(item: FetchedItem): { value: number; currency: string } | null {
  const money = (item.payload as { amount?: { inWalletCurrency?: { value?: unknown; currency?: unknown } } })
    .amount?.inWalletCurrency;
  if (typeof money?.value !== 'number' || typeof money.currency !== 'string') return null;
  return { value: money.value, currency: money.currency };
}

/** The `data_fetched` event's detail of a stored export item. */
export function fetchedDetail(item: FetchedItem): Record<string, unknown> {
  return { date: item.date, ...(item.prefailure ? { prefailure: item.prefailure } : {}) };
}

/** The `receipts_stored` event's detail (null when the item has no receipts). */
export function receiptsDetail(item: FetchedItem): Record<string, unknown> | null {
  if (item.attachments.length === 0) return null;
  return {
    receipts: item.attachments.map((a) => ({ name: a.name, contentType: a.contentType, size: a.size })),
  };
}
