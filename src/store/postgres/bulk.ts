/**
 * The statements that write many items at once: a page of job items, a page of export items, the
 * plan of a whole job, a batch of report results. Each is one statement, whatever the page size.
 *
 * Why upserts and LATERAL lookups rather than `UPDATE items … FROM unnest(…)`: PostgreSQL
 * estimates `company_id = $1 AND job_id = $2` from statistics, and for a job whose rows were
 * inserted since the last ANALYZE (every new job, and every job of a fresh database) it estimates
 * one row. It then joins the page by scanning the whole job once per statement, so a 100,000-item
 * job costs O(items × pages). Instead:
 * - existing rows are found with `LEFT JOIN LATERAL (… LIMIT 1)`, which can only run as one
 *   primary-key lookup per page row;
 * - rows are written with `INSERT … ON CONFLICT (primary key) DO UPDATE`, so the constraint, not
 *   the planner, finds each row. The rows passed to it already exist (we hold the job's lock, and
 *   items are never deleted), so only the DO UPDATE branch runs; the inserted values are
 *   placeholders that satisfy the constraints.
 * - the plan reads the job's listed rows once with a window function and upserts them back.
 *
 * Pages are de-duplicated by entry id first (ON CONFLICT DO UPDATE refuses to touch a row twice).
 *
 * Each statement also appends the audit events of the rows it changes, in a data-modifying CTE of
 * the same statement. A transaction run again after a lost COMMIT (`retry` true) skips events
 * already written, so the trail never shows a step twice because of a retry.
 */
import type {
  FetchedItem,
  ItemFailureFields,
  JobRef,
  ListedItem,
  ReportRejection,
  SaveFetchedPageResult,
  SaveListedPageResult,
} from '../types.js';
import { amountOf, fetchedDetail, receiptsDetail } from '../rows.js';
import type { Tx } from './database.js';
import { quoteIdent } from './schema.js';

export interface Tables {
  jobs: string;
  items: string;
  bookings: string;
  webhooks: string;
  kv: string;
  audit: string;
}

export function tablesOf(schema: string): Tables {
  const s = quoteIdent(schema);
  return {
    jobs: `${s}.jobs`,
    items: `${s}.items`,
    bookings: `${s}.bookings`,
    webhooks: `${s}.webhooks`,
    kv: `${s}.kv`,
    audit: `${s}.audit`,
  };
}

const OPEN_PLEO = ['pending', 'in_progress'];
const NO_DATA_DATE = '9999-12-31T23:59:59Z';
const NO_DATA: ItemFailureFields = {
  failureReasonType: 'unexpected_failure',
  failureReason:
    'Pleo returned no export data for this entry (GET /v3/export-items). Export it again; if it keeps failing, contact Pleo support.',
};

/**
 * On a retried transaction: `AND` no event `step` of this row's attempt exists yet (`alias` names
 * the row with `entry_id` and `cur_attempt`).
 */
function notYet(t: Tables, retry: boolean, step: string, alias: string): string {
  if (!retry) return '';
  return `AND NOT EXISTS (SELECT 1 FROM ${t.audit} AS a WHERE a.entry_id = ${alias}.entry_id
    AND a.company_id = $1 AND a.job_id = $2 AND a.step = ${step} AND a.attempt = ${alias}.cur_attempt)`;
}

/** `(SELECT … FROM items WHERE <primary key of input.entry_id> LIMIT 1)`: one index lookup. */
function lookup(t: Tables, columns: string): string {
  return `LEFT JOIN LATERAL (
      SELECT ${columns} FROM ${t.items} AS it
      WHERE it.company_id = $1 AND it.job_id = $2 AND it.entry_id = input.entry_id LIMIT 1
    ) AS cur ON true`;
}

/**
 * New rows are inserted (final ones as skipped, already reported). For rows we hold, a final
 * status at Pleo means either our outcome's report was accepted before a crash (mark it reported,
 * never send it again) or someone else finalised an item we had not finished (stop processing it).
 */
export async function upsertListedPage(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  items: readonly ListedItem[],
  now: string,
): Promise<SaveListedPageResult> {
  const rows = await tx.query(
    `WITH input AS (
       SELECT DISTINCT ON (entry_id) *
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
         AS i(entry_id, status, external_id, external_url, exported_at, failure_reason, failure_reason_type, ord)
       ORDER BY entry_id, ord
     ), found AS (
       SELECT input.*, cur.state AS cur_state, COALESCE(cur.attempt, 0) AS cur_attempt,
              cur.state IS NOT NULL AND input.status <> ALL($11::text[])
                AND ((cur.state IN ('booked', 'failed') AND NOT cur.reported)
                     OR cur.state IN ('listed', 'planned', 'booking')) AS reconcile
       FROM input ${lookup(t, 'state, reported, attempt')}
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, entry_id, $10::text,
              CASE WHEN cur_state IS NULL THEN 'listed' ELSE 'reconciled' END, cur_attempt,
              (CASE WHEN cur_state IS NULL
                    THEN json_build_object('pleoStatus', status, 'skipped', status <> ALL($11::text[]))
                    ELSE json_build_object('pleoStatus', status, 'state', cur_state) END)::text
       FROM found WHERE cur_state IS NULL OR reconcile
       RETURNING 1
     ), written AS (
       -- Executed although nothing reads it: PostgreSQL runs every data-modifying CTE.
       INSERT INTO ${t.items} AS it (company_id, job_id, entry_id, pleo_status, state, external_id, external_url,
                                     exported_at, failure_reason, failure_reason_type, reported, updated_at)
       SELECT $1::text, $2::text, entry_id, status,
              CASE WHEN status = ANY($11::text[]) THEN 'listed' ELSE 'skipped' END,
              external_id, external_url, exported_at, failure_reason, failure_reason_type,
              status <> ALL($11::text[]), $10::text
       FROM found WHERE cur_state IS NULL OR reconcile
       ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
         SET state = CASE WHEN it.state IN ('booked', 'failed') THEN it.state ELSE 'skipped' END,
             reported = true, pleo_status = EXCLUDED.pleo_status, updated_at = EXCLUDED.updated_at
       RETURNING 1
     )
     SELECT count(*) FILTER (WHERE cur_state IS NULL) AS inserted, count(*) FILTER (WHERE reconcile) AS reconciled
     FROM found`,
    [
      ref.companyId,
      ref.jobId,
      items.map((i) => i.accountingEntryId),
      items.map((i) => i.status),
      items.map((i) => i.externalId ?? null),
      items.map((i) => i.externalUrl ?? null),
      items.map((i) => i.exportedAt ?? null),
      items.map((i) => i.failureReason ?? null),
      items.map((i) => i.failureReasonType ?? null),
      now,
      OPEN_PLEO,
    ],
  );
  return { inserted: Number(rows[0]?.['inserted'] ?? 0), reconciled: Number(rows[0]?.['reconciled'] ?? 0) };
}

/** Stores the data layer of items still `listed`; reports entries the job does not have. */
export async function storeFetchedPage(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  items: readonly FetchedItem[],
  now: string,
  retry: boolean,
): Promise<SaveFetchedPageResult> {
  const rows = await tx.query(
    `WITH input AS (
       SELECT DISTINCT ON (entry_id) *
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::text[], $10::text[],
                   $11::bigint[], $12::text[])
         WITH ORDINALITY AS i(entry_id, date, payload, attachments, prefailure, fetched, receipts,
                              amount_value, amount_currency, ord)
       ORDER BY entry_id, ord
     ), found AS (
       SELECT input.*, cur.state AS cur_state, cur.attempt AS cur_attempt FROM input ${lookup(t, 'state, attempt')}
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, found.entry_id, $8::text, ev.step, found.cur_attempt, ev.detail
       FROM found CROSS JOIN LATERAL (VALUES (1, 'data_fetched', found.fetched), (2, 'receipts_stored', found.receipts))
         AS ev(n, step, detail)
       WHERE found.cur_state = 'listed' AND ev.detail IS NOT NULL ${notYet(t, retry, 'ev.step', 'found')}
       ORDER BY found.ord, ev.n
       RETURNING 1
     ), stored AS (
       INSERT INTO ${t.items} (company_id, job_id, entry_id, pleo_status, state, date, payload, attachments,
                               prefailure, amount_value, amount_currency, updated_at)
       SELECT $1::text, $2::text, entry_id, 'pending', 'listed', date, payload, attachments, prefailure,
              amount_value, amount_currency, $8::text
       FROM found WHERE cur_state = 'listed'
       ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
         SET date = EXCLUDED.date, payload = EXCLUDED.payload, attachments = EXCLUDED.attachments,
             prefailure = EXCLUDED.prefailure, amount_value = EXCLUDED.amount_value,
             amount_currency = EXCLUDED.amount_currency, updated_at = EXCLUDED.updated_at
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM stored) AS stored,
            ARRAY(SELECT entry_id FROM found WHERE cur_state IS NULL ORDER BY ord) AS unknown`,
    [
      ref.companyId,
      ref.jobId,
      items.map((i) => i.accountingEntryId),
      items.map((i) => i.date),
      items.map((i) => JSON.stringify(i.payload)),
      items.map((i) => JSON.stringify(i.attachments)),
      items.map((i) => (i.prefailure ? JSON.stringify(i.prefailure) : null)),
      now,
      items.map((i) => JSON.stringify(fetchedDetail(i))),
      items.map((i) => {
        const receipts = receiptsDetail(i);
        return receipts === null ? null : JSON.stringify(receipts);
      }),
      items.map((i) => amountOf(i)?.value ?? null),
      items.map((i) => amountOf(i)?.currency ?? null),
    ],
  );
  const unknown = rows[0]?.['unknown'];
  return {
    stored: Number(rows[0]?.['stored'] ?? 0),
    unknown: Array.isArray(unknown) ? unknown.map(String) : [],
  };
}

/**
 * Assigns `seq` in the deterministic order — oldest transaction date first, accountingEntryId as
 * tie-break, in byte order (the columns are COLLATE "C") — to every item still `listed`. Items the
 * data layer never returned cannot be booked: they get a visible failure and go last.
 */
export async function planJob(tx: Tx, t: Tables, ref: JobRef, now: string): Promise<number> {
  return tx.execute(
    `WITH missing AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT company_id, job_id, entry_id, $3::text, 'data_fetched', attempt, $6::text
       FROM ${t.items} WHERE company_id = $1 AND job_id = $2 AND state = 'listed' AND payload IS NULL
       ORDER BY entry_id
       RETURNING 1
     )
     INSERT INTO ${t.items} AS it (company_id, job_id, entry_id, pleo_status, state, seq, date, prefailure, updated_at)
     SELECT company_id, job_id, entry_id, pleo_status, 'planned',
            row_number() OVER (ORDER BY COALESCE(date, $4), entry_id), COALESCE(date, $4),
            CASE WHEN payload IS NULL THEN $5 ELSE prefailure END, $3::text
     FROM ${t.items} WHERE company_id = $1 AND job_id = $2 AND state = 'listed'
     ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
       SET state = 'planned', seq = EXCLUDED.seq, date = EXCLUDED.date, prefailure = EXCLUDED.prefailure,
           updated_at = EXCLUDED.updated_at`,
    [
      ref.companyId,
      ref.jobId,
      now,
      NO_DATA_DATE,
      JSON.stringify(NO_DATA),
      JSON.stringify({ missing: true, prefailure: NO_DATA }),
    ],
  );
}

export async function markItemsReported(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  accepted: readonly { accountingEntryId: string; pleoStatus: string }[],
  now: string,
  retry: boolean,
): Promise<void> {
  await tx.execute(
    `WITH input AS (
       SELECT DISTINCT ON (entry_id) * FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS i(entry_id, status, ord)
       ORDER BY entry_id, ord
     ), found AS (
       SELECT input.*, cur.attempt AS cur_attempt FROM input ${lookup(t, 'state, attempt')}
       WHERE cur.state IS NOT NULL
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, found.entry_id, $5::text, 'reported', found.cur_attempt,
              json_build_object('pleoStatus', found.status)::text
       FROM found WHERE true ${notYet(t, retry, "'reported'", 'found')}
       ORDER BY found.ord
       RETURNING 1
     )
     INSERT INTO ${t.items} (company_id, job_id, entry_id, pleo_status, state, updated_at)
     SELECT $1::text, $2::text, found.entry_id, found.status, 'listed', $5::text
     FROM found
     ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
       SET reported = true, pleo_status = EXCLUDED.pleo_status, report_error = NULL, updated_at = EXCLUDED.updated_at`,
    [
      ref.companyId,
      ref.jobId,
      accepted.map((a) => a.accountingEntryId),
      accepted.map((a) => a.pleoStatus),
      now,
    ],
  );
}

export async function markItemsRejected(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  rejections: readonly ReportRejection[],
  now: string,
): Promise<void> {
  await tx.execute(
    `WITH input AS (
       SELECT DISTINCT ON (entry_id) *
       FROM unnest($3::text[], $4::text[], $5::boolean[]) WITH ORDINALITY AS i(entry_id, message, give_up, ord)
       ORDER BY entry_id, ord
     ), found AS (
       SELECT input.*, cur.attempt AS cur_attempt FROM input ${lookup(t, 'state, attempt')}
       WHERE cur.state IS NOT NULL
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, found.entry_id, $6::text, 'report_rejected', found.cur_attempt,
              json_build_object('message', found.message, 'giveUp', found.give_up)::text
       FROM found ORDER BY found.ord
       RETURNING 1
     )
     INSERT INTO ${t.items} AS it (company_id, job_id, entry_id, pleo_status, state, report_error, reported, updated_at)
     SELECT $1::text, $2::text, found.entry_id, 'pending', 'listed', found.message, found.give_up, $6::text
     FROM found
     ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
       SET report_attempts = it.report_attempts + 1, report_error = EXCLUDED.report_error,
           reported = EXCLUDED.reported, updated_at = EXCLUDED.updated_at`,
    [
      ref.companyId,
      ref.jobId,
      rejections.map((r) => r.accountingEntryId),
      rejections.map((r) => r.message),
      rejections.map((r) => r.giveUp === true),
      now,
    ],
  );
}

/** Of `ids`, those still waiting for their data (state `listed`): one lookup per id. */
export async function listedAmong(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  ids: readonly string[],
): Promise<Set<string>> {
  const rows = await tx.query(
    `SELECT input.entry_id FROM unnest($3::text[]) AS input(entry_id) ${lookup(t, 'state')}
     WHERE cur.state = 'listed'`,
    [ref.companyId, ref.jobId, ids],
  );
  return new Set(rows.map((row) => String(row['entry_id'])));
}
