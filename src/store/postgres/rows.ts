/** Column lists of the PostgreSQL store; the row → record mapping is shared (`../rows.ts`). */
export { nullableString, toBooking, toFailureSummary, toItem, toItemWithPayload, toJob } from '../rows.js';

/** Every item column (the payload is in its own table, read only by the item-processing reads). */
export const ITEM_COLUMNS = [
  'company_id',
  'job_id',
  'entry_id',
  'pleo_status',
  'state',
  'seq',
  'date',
  'attempt',
  'external_id',
  'external_url',
  'exported_at',
  'failure_reason',
  'failure_reason_type',
  'reported',
  'report_attempts',
  'report_error',
  'attachments',
  'prefailure',
  'amount_value',
  'amount_currency',
  'updated_at',
].join(', ');
