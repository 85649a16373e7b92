/**
 * Request-body validation for the simulator's write operations, with zod (no Ajv in the hot
 * path). The rules mirror the spec: required fields, enums, uuid / date-time formats, and
 * non-nullable fields refused when `null` (docs/decisions.md#w6: omit them instead). Unknown fields are
 * ignored, as Pleo's (Spring) backend does by default.
 */
import { z } from 'zod';
import { badRequest } from './errors.js';
import { UUID_RE } from './ids.js';

const uuid = z.string().regex(UUID_RE, 'must be a uuid');

export const JOB_EVENTS = ['started', 'failed', 'completed', 'completed_with_errors'] as const;
export const JOB_FAILURE_REASON_TYPES = [
  'invalid_configuration',
  'missing_configuration',
  'authentication_failure',
  'accounting_system_authentication_failure',
  'pleo_rate_limit',
  'accounting_system_rate_limit',
  'service_unreachable',
  'accounting_system_unreachable',
  'validation_failure',
  'authorization_failure',
  'integration_unusable',
  'job_expired',
  'service_timeout',
  'accounting_system_timeout',
  'canceled_by_user',
] as const;
export const ITEM_FAILURE_REASON_TYPES = [
  'receipt_upload_failure',
  'receipt_download_failure',
  'receipt_file_size_limit_exceeded',
  'receipt_conversion_failure',
  'unexpected_failure',
  'invalid_configuration',
  'missing_configuration',
  'accounting_system_authentication_failure',
  'accounting_system_rate_limit',
  'accounting_system_unreachable',
  'validation_failure',
  'accounting_system_validation_failure',
  'authorization_failure',
  'accounting_system_timeout',
  'vendor_unknown',
  'account_unknown',
  'tax_code_unknown',
  'tag_unknown',
] as const;
export const ITEM_STATUS_VALUES = ['pending', 'in_progress', 'failed', 'successful', 'abandoned'] as const;
export const JOB_STATUS_VALUES = [
  'pending',
  'in_progress',
  'failed',
  'completed',
  'completed_with_errors',
] as const;

export const createJobSchema = z.object({
  accountingEntryIds: z.array(uuid),
  companyId: uuid,
  employeeId: uuid.nullable().optional(),
  isInteractive: z.boolean().nullable().optional(),
  options: z.object({ vendorBasedBookkeeping: z.boolean().nullable().optional() }).nullable().optional(),
});

export const jobEventSchema = z.object({
  jobId: uuid,
  event: z.enum(JOB_EVENTS),
  failureReason: z.string().optional(),
  failureReasonType: z.enum(JOB_FAILURE_REASON_TYPES).optional(),
});

export interface ItemUpdateBody {
  accountingEntryId: string;
  status: (typeof ITEM_STATUS_VALUES)[number];
  exportedAt?: string;
  externalId?: string;
  externalUrl?: string;
  failureReason?: string;
  failureReasonType?: (typeof ITEM_FAILURE_REASON_TYPES)[number];
}

const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const ITEM_STATUS_SET: ReadonlySet<string> = new Set(ITEM_STATUS_VALUES);
const ITEM_FAILURE_SET: ReadonlySet<string> = new Set(ITEM_FAILURE_REASON_TYPES);

/**
 * One `UpdateExportJobItemV3`, hand-checked: the PUT endpoint is the hottest write path (a
 * million-item job takes ten thousand of them) and this is much faster than the zod schema.
 * Same rules as the other schemas: required fields, enums, formats, no `null`, extra keys ignored.
 */
export function parseItemUpdate(value: unknown, what: string): ItemUpdateBody {
  const fail = (field: string, message: string): never => {
    throw badRequest(`Invalid ${what}: ${field}: ${message}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(what, 'must be an object');
  const v = value as Record<string, unknown>;
  const id = v.accountingEntryId;
  if (typeof id !== 'string' || !UUID_RE.test(id)) fail('accountingEntryId', 'must be a uuid');
  const status = v.status;
  if (typeof status !== 'string' || !ITEM_STATUS_SET.has(status)) {
    fail('status', `must be one of ${ITEM_STATUS_VALUES.join(', ')}`);
  }
  const out = { accountingEntryId: id, status } as ItemUpdateBody;
  for (const key of [
    'exportedAt',
    'externalId',
    'externalUrl',
    'failureReason',
    'failureReasonType',
  ] as const) {
    const x = v[key];
    if (x === undefined) continue;
    if (typeof x !== 'string') return fail(key, 'must be a string (omit the field rather than sending null)');
    if (key === 'exportedAt' && !(DATE_TIME_RE.test(x) && !Number.isNaN(Date.parse(x)))) {
      fail(key, 'must be an RFC 3339 date-time');
    }
    if (key === 'failureReasonType' && !ITEM_FAILURE_SET.has(x)) {
      fail(key, `must be one of ${ITEM_FAILURE_REASON_TYPES.join(', ')}`);
    }
    out[key] = x as never;
  }
  return out;
}

export const subscriptionSchema = z.object({
  endpointUrl: z.url({ protocol: /^https?$/ }),
  eventTypes: z
    .array(z.string().min(1))
    .min(1)
    .refine((a) => new Set(a).size === a.length, 'eventTypes must be unique'),
  customHeaders: z.record(z.string(), z.string()).optional(),
  endpointAuth: z
    .object({
      type: z.enum(['NONE', 'BASIC']).default('NONE'),
      credentials: z
        .object({
          username: z.string().optional(),
          password: z.string().optional(),
          token: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  status: z.enum(['ACTIVE', 'INACTIVE']).default('ACTIVE'),
});
export type SubscriptionBody = z.infer<typeof subscriptionSchema>;

/** Parses `value` or throws 400 `bad_request` naming the first offending field. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? issue.path.join('.') : what;
  throw badRequest(`Invalid ${what}: ${where}: ${issue.message}`);
}
