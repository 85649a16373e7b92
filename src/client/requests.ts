/**
 * Local validation and normalisation of request bodies, before anything is sent.
 *
 * Pleo's spec cannot express some rules (the 100-item batch limit, "failure fields only with
 * `failed`"), and Prism showed that `null` in optional fields is rejected (docs/decisions.md#w6): the client
 * enforces them itself. Bodies are rebuilt from an allow-list of keys: `undefined` and `null`
 * values are dropped, unknown keys are rejected (a typo like `failure_reason` would otherwise be
 * silently lost).
 *
 * Violations throw {@link InvalidRequestError} with code `INVALID_ARGUMENT` (no HTTP status: the
 * request was never sent). The caller's action is the same as for a 400: fix the request.
 */
import { InvalidRequestError } from '../errors/index.js';
import { isUuid } from './options.js';
import {
  type CreateJobRequest,
  type ExportJobEventType,
  type ExportJobFailureReasonType,
  type ExportJobItemFailureReasonType,
  type ExportJobStatus,
  type ExportJobItemStatus,
  type ItemUpdate,
  ITEM_STATUSES,
  JOB_STATUSES,
  type JobEvent,
} from './types.js';

/** Pleo answers 413 above this (docs/decisions.md#w8); the spec has no `maxItems`: the client enforces it. */
export const MAX_ITEMS_PER_UPDATE = 100;

// Records keyed by the generated unions: adding a value to the spec breaks the build here.
const JOB_EVENTS: Record<ExportJobEventType, true> = {
  started: true,
  completed: true,
  completed_with_errors: true,
  failed: true,
};
const JOB_FAILURE_TYPES: Record<ExportJobFailureReasonType, true> = {
  invalid_configuration: true,
  missing_configuration: true,
  authentication_failure: true,
  accounting_system_authentication_failure: true,
  pleo_rate_limit: true,
  accounting_system_rate_limit: true,
  service_unreachable: true,
  accounting_system_unreachable: true,
  validation_failure: true,
  authorization_failure: true,
  integration_unusable: true,
  job_expired: true,
  service_timeout: true,
  accounting_system_timeout: true,
  canceled_by_user: true,
};
const ITEM_FAILURE_TYPES: Record<ExportJobItemFailureReasonType, true> = {
  receipt_upload_failure: true,
  receipt_download_failure: true,
  receipt_file_size_limit_exceeded: true,
  receipt_conversion_failure: true,
  unexpected_failure: true,
  invalid_configuration: true,
  missing_configuration: true,
  accounting_system_authentication_failure: true,
  accounting_system_rate_limit: true,
  accounting_system_unreachable: true,
  validation_failure: true,
  accounting_system_validation_failure: true,
  authorization_failure: true,
  accounting_system_timeout: true,
  vendor_unknown: true,
  account_unknown: true,
  tax_code_unknown: true,
  tag_unknown: true,
};

/** RFC 3339 date-time, as Ajv's `date-time` format (time zone required). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

export function invalidArgument(message: string): InvalidRequestError {
  return new InvalidRequestError(message, { code: 'INVALID_ARGUMENT', retryable: false });
}

function oneOf<T extends string>(table: Record<T, true>, value: unknown): value is T {
  return typeof value === 'string' && Object.hasOwn(table, value);
}

function list(values: readonly string[] | Record<string, true>): string {
  return (Array.isArray(values) ? values : Object.keys(values)).join(', ');
}

/** Copies the allowed keys that hold a value; rejects unknown keys. */
function pick(where: string, input: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidArgument(`${where} must be an object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!allowed.includes(key))
      throw invalidArgument(`${where}.${key} is not a known field (allowed: ${allowed.join(', ')})`);
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

function requireString(where: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') throw invalidArgument(`${where} must be a string`);
}

export function assertUuid(where: string, value: unknown): asserts value is string {
  if (!isUuid(value)) throw invalidArgument(`${where} must be a uuid, got ${JSON.stringify(value)}`);
}

const ITEM_UPDATE_KEYS = [
  'accountingEntryId',
  'status',
  'exportedAt',
  'externalId',
  'externalUrl',
  'failureReason',
  'failureReasonType',
] as const satisfies readonly (keyof ItemUpdate)[];

/**
 * Validates and normalises item updates (no nulls, no unknown keys, failure fields only with
 * `failed`, no entry twice). Returns new objects in the same order.
 */
export function prepareItemUpdates(updates: readonly ItemUpdate[]): ItemUpdate[] {
  if (!Array.isArray(updates)) throw invalidArgument('updateJobItems: updates must be an array');
  const seen = new Set<string>();
  return updates.map((update: unknown, index) => {
    const where = `updateJobItems: updates[${index}]`;
    const body = pick(where, update, ITEM_UPDATE_KEYS);
    assertUuid(`${where}.accountingEntryId`, body['accountingEntryId']);
    const id = body['accountingEntryId'].toLowerCase();
    if (seen.has(id))
      throw invalidArgument(`${where}.accountingEntryId ${id} appears more than once in one call`);
    seen.add(id);
    if (!(ITEM_STATUSES as readonly unknown[]).includes(body['status'])) {
      throw invalidArgument(
        `${where}.status must be one of ${list(ITEM_STATUSES)}, got ${JSON.stringify(body['status'])}`,
      );
    }
    const exportedAt = body['exportedAt'];
    if (exportedAt !== undefined && (typeof exportedAt !== 'string' || !DATE_TIME.test(exportedAt))) {
      throw invalidArgument(`${where}.exportedAt must be an RFC 3339 date-time with a time zone`);
    }
    for (const key of ['externalId', 'externalUrl', 'failureReason'] as const)
      requireString(`${where}.${key}`, body[key]);
    const type = body['failureReasonType'];
    if (type !== undefined && !oneOf(ITEM_FAILURE_TYPES, type)) {
      throw invalidArgument(`${where}.failureReasonType must be one of ${list(ITEM_FAILURE_TYPES)}`);
    }
    if (body['status'] !== 'failed' && (type !== undefined || body['failureReason'] !== undefined)) {
      throw invalidArgument(`${where}: failureReason/failureReasonType are only sent with status "failed"`);
    }
    return body as unknown as ItemUpdate;
  });
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Validates a job event. Failure fields go only with `failed` (docs/decisions.md#w7), and `failed` needs a
 * `failureReasonType` so the bookkeeper sees a category.
 */
export function prepareJobEvent(event: JobEvent): JobEvent {
  const body = pick('sendJobEvent: event', event, ['jobId', 'event', 'failureReason', 'failureReasonType']);
  assertUuid('sendJobEvent: event.jobId', body['jobId']);
  if (!oneOf(JOB_EVENTS, body['event'])) {
    throw invalidArgument(
      `sendJobEvent: event.event must be one of ${list(JOB_EVENTS)}, got ${JSON.stringify(body['event'])}`,
    );
  }
  requireString('sendJobEvent: event.failureReason', body['failureReason']);
  const type = body['failureReasonType'];
  if (type !== undefined && !oneOf(JOB_FAILURE_TYPES, type)) {
    throw invalidArgument(`sendJobEvent: event.failureReasonType must be one of ${list(JOB_FAILURE_TYPES)}`);
  }
  if (body['event'] === 'failed' && type === undefined) {
    throw invalidArgument('sendJobEvent: a "failed" event needs a failureReasonType');
  }
  if (body['event'] !== 'failed' && (type !== undefined || body['failureReason'] !== undefined)) {
    throw invalidArgument(
      'sendJobEvent: failureReason/failureReasonType are only sent with the "failed" event',
    );
  }
  return body as unknown as JobEvent;
}

/** The `CreateExportJob` body. The company must be the client's own (one client = one company). */
export function prepareCreateJob(request: CreateJobRequest, companyId: string): Record<string, unknown> {
  const body = pick('createJob: request', request, [
    'companyId',
    'accountingEntryIds',
    'employeeId',
    'isInteractive',
    'vendorBasedBookkeeping',
  ]);
  assertUuid('createJob: request.companyId', body['companyId']);
  if (body['companyId'].toLowerCase() !== companyId) {
    throw invalidArgument("createJob: request.companyId is not this client's company");
  }
  const ids = body['accountingEntryIds'];
  if (!Array.isArray(ids) || ids.length === 0) {
    throw invalidArgument('createJob: request.accountingEntryIds must be a non-empty array');
  }
  ids.forEach((id, i) => assertUuid(`createJob: request.accountingEntryIds[${i}]`, id));
  if (new Set(ids.map((id: string) => id.toLowerCase())).size !== ids.length) {
    throw invalidArgument('createJob: request.accountingEntryIds contains duplicates');
  }
  if (body['employeeId'] !== undefined) assertUuid('createJob: request.employeeId', body['employeeId']);
  for (const key of ['isInteractive', 'vendorBasedBookkeeping'] as const) {
    if (body[key] !== undefined && typeof body[key] !== 'boolean')
      throw invalidArgument(`createJob: request.${key} must be a boolean`);
  }
  const { vendorBasedBookkeeping, ...rest } = body;
  return vendorBasedBookkeeping === undefined ? rest : { ...rest, options: { vendorBasedBookkeeping } };
}

export function prepareStatuses(statuses: unknown): ExportJobStatus[] {
  if (statuses === undefined) return [];
  if (!Array.isArray(statuses)) throw invalidArgument('listJobs: statuses must be an array');
  for (const status of statuses) {
    if (!(JOB_STATUSES as readonly unknown[]).includes(status)) {
      throw invalidArgument(
        `listJobs: statuses must contain only ${list(JOB_STATUSES)}, got ${JSON.stringify(status)}`,
      );
    }
  }
  return [...new Set(statuses as ExportJobStatus[])];
}

export function prepareItemStatus(status: unknown): ExportJobItemStatus | undefined {
  if (status === undefined) return undefined;
  if (!(ITEM_STATUSES as readonly unknown[]).includes(status)) {
    throw invalidArgument(
      `listJobItems: status must be one of ${list(ITEM_STATUSES)}, got ${JSON.stringify(status)}`,
    );
  }
  return status as ExportJobItemStatus;
}
