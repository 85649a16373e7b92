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
 * the same statement. What to write is decided above SQL (`../rules.ts`): these statements read
 * the rows a rule needs and write back what it answered. A transaction body that runs again after
 * a lost COMMIT acknowledgement never gets here twice: `postgres-store.ts` recognises its own
 * committed write first (`fenced`), so no statement has to guard against its own repetition.
 */
import type {
  FetchedItem,
  ItemState,
  JobRef,
  ListedItem,
  ReportRejection,
  SaveFetchedPageResult,
  SaveListedPageResult,
} from '../types.js';
import { amountOf, fetchedDetail, nullableString, receiptsDetail } from '../rows.js';
import {
  listedAction,
  listedDetail,
  NO_DATA_DETAIL,
  planOrder,
  rejectionDetail,
  type HeldItem,
  type PlannedItem,
} from '../rules.js';
import type { Tx } from './database.js';
import { quoteIdent } from './schema.js';

export interface Tables {
  jobs: string;
  items: string;
  bookings: string;
  webhooks: string;
  kv: string;
  audit: string;
  writes: string;
  payloads: string;
  staged: string;
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
    writes: `${s}.writes`,
    payloads: `${s}.payloads`,
    staged: `${s}.staged_pages`,
  };
}

/** `(SELECT … FROM items WHERE <primary key of input.entry_id> LIMIT 1)`: one index lookup. */
function lookup(t: Tables, columns: string): string {
  return `LEFT JOIN LATERAL (
      SELECT ${columns} FROM ${t.items} AS it
      WHERE it.company_id = $1 AND it.job_id = $2 AND it.entry_id = input.entry_id LIMIT 1
    ) AS cur ON true`;
}

/** What the store holds of `ids` (absent ids are missing from the map): one lookup per id. */
async function heldItems(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  ids: readonly string[],
): Promise<Map<string, HeldItem>> {
  const rows = await tx.query(
    `SELECT input.entry_id, cur.state, cur.reported FROM unnest($3::text[]) AS input(entry_id)
     ${lookup(t, 'state, reported')} WHERE cur.state IS NOT NULL`,
    [ref.companyId, ref.jobId, ids],
  );
  return new Map(
    rows.map((row) => [
      String(row['entry_id']),
      { state: String(row['state']) as ItemState, reported: row['reported'] === true },
    ]),
  );
}

/**
 * Stores a page of job items as `listedAction` (`../rules.ts`) decides for each row: new rows are
 * inserted, rows Pleo shows final are reconciled, the rest are kept as they are.
 */
export async function upsertListedPage(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  items: readonly ListedItem[],
  now: string,
): Promise<SaveListedPageResult> {
  // De-duplicated by entry id, the first occurrence kept (ON CONFLICT refuses to touch a row twice).
  const byId = new Map<string, ListedItem>();
  for (const item of items) if (!byId.has(item.accountingEntryId)) byId.set(item.accountingEntryId, item);
  const page = [...byId.values()];
  const held = await heldItems(
    tx,
    t,
    ref,
    page.map((i) => i.accountingEntryId),
  );
  const writes = page.flatMap((item) => {
    const action = listedAction(held.get(item.accountingEntryId) ?? null, item.status);
    return action.kind === 'keep' ? [] : [{ item, action }];
  });
  if (writes.length === 0) return { inserted: 0, reconciled: 0 };
  const inserts = writes.filter((w) => w.action.kind === 'insert');
  // New rows are inserted whole; a reconciled row (the conflict branch) changes its state, its
  // Pleo status and `reported` only. Each gets its `listed` or `reconciled` event.
  await tx.execute(
    `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::text[], $11::boolean[], $12::text[], $13::text[]) WITH ORDINALITY
         AS i(entry_id, status, external_id, external_url, exported_at, failure_reason, failure_reason_type,
              state, reported, step, detail, ord)
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, input.entry_id, $14::text, input.step, COALESCE(cur.attempt, 0), input.detail
       FROM input ${lookup(t, 'attempt')}
       ORDER BY input.ord
       RETURNING 1
     )
     INSERT INTO ${t.items} AS it (company_id, job_id, entry_id, pleo_status, state, external_id, external_url,
                                   exported_at, failure_reason, failure_reason_type, reported, updated_at)
     SELECT $1::text, $2::text, entry_id, status, state, external_id, external_url, exported_at, failure_reason,
            failure_reason_type, reported, $14::text
     FROM input
     ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
       SET state = EXCLUDED.state, reported = EXCLUDED.reported, pleo_status = EXCLUDED.pleo_status,
           updated_at = EXCLUDED.updated_at`,
    [
      ref.companyId,
      ref.jobId,
      writes.map((w) => w.item.accountingEntryId),
      writes.map((w) => w.item.status),
      writes.map((w) => w.item.externalId ?? null),
      writes.map((w) => w.item.externalUrl ?? null),
      writes.map((w) => w.item.exportedAt ?? null),
      writes.map((w) => w.item.failureReason ?? null),
      writes.map((w) => w.item.failureReasonType ?? null),
      writes.map((w) => w.action.state),
      writes.map((w) => (w.action.kind === 'insert' ? w.action.reported : true)),
      writes.map((w) => (w.action.kind === 'insert' ? 'listed' : 'reconciled')),
      writes.map((w) => JSON.stringify(listedDetail(w.item, w.action))),
      now,
    ],
  );
  return { inserted: inserts.length, reconciled: writes.length - inserts.length };
}

/** Stores the data layer of items still `listed`; reports entries the job does not have. */
export async function storeFetchedPage(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  items: readonly FetchedItem[],
  now: string,
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
       WHERE found.cur_state = 'listed' AND ev.detail IS NOT NULL
       ORDER BY found.ord, ev.n
       RETURNING 1
     ), payloads AS (
       INSERT INTO ${t.payloads} (company_id, job_id, entry_id, payload)
       SELECT $1::text, $2::text, entry_id, payload FROM found WHERE cur_state = 'listed'
       ON CONFLICT (company_id, job_id, entry_id) DO UPDATE SET payload = EXCLUDED.payload
       RETURNING 1
     ), stored AS (
       INSERT INTO ${t.items} (company_id, job_id, entry_id, pleo_status, state, date, attachments,
                               prefailure, amount_value, amount_currency, updated_at)
       SELECT $1::text, $2::text, entry_id, 'pending', 'listed', date, attachments, prefailure,
              amount_value, amount_currency, $8::text
       FROM found WHERE cur_state = 'listed'
       ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
         SET date = EXCLUDED.date, attachments = EXCLUDED.attachments,
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
 * Plans the job: every item still `listed` gets the seq `planOrder` (`../rules.ts`) gives it; one
 * the data layer never returned is planned last with a visible failure and its `data_fetched` event.
 * Reads each listed row's id and date once, writes the plan back in one upsert.
 */
export async function planJob(tx: Tx, t: Tables, ref: JobRef, now: string): Promise<number> {
  const listed = await tx.query(
    `SELECT it.entry_id, it.date, p.entry_id IS NOT NULL AS has_data FROM ${t.items} AS it
     LEFT JOIN ${t.payloads} AS p USING (company_id, job_id, entry_id)
     WHERE it.company_id = $1 AND it.job_id = $2 AND it.state = 'listed'`,
    [ref.companyId, ref.jobId],
  );
  const plan: PlannedItem[] = planOrder(
    listed.map((row) => ({
      accountingEntryId: String(row['entry_id']),
      date: nullableString(row['date']),
      hasData: row['has_data'] === true,
    })),
  );
  if (plan.length === 0) return 0;
  return tx.execute(
    `WITH input AS (
       SELECT * FROM unnest($3::text[], $4::integer[], $5::text[], $6::text[]) AS i(entry_id, seq, date, prefailure)
     ), missing AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, input.entry_id, $7::text, 'data_fetched', cur.attempt, $8::text
       FROM input ${lookup(t, 'attempt')} WHERE input.prefailure IS NOT NULL
       ORDER BY input.seq
       RETURNING 1
     )
     INSERT INTO ${t.items} AS it (company_id, job_id, entry_id, pleo_status, state, seq, date, prefailure, updated_at)
     SELECT $1::text, $2::text, entry_id, 'pending', 'planned', seq, date, prefailure, $7::text FROM input
     ON CONFLICT (company_id, job_id, entry_id) DO UPDATE
       SET state = 'planned', seq = EXCLUDED.seq, date = EXCLUDED.date,
           prefailure = COALESCE(EXCLUDED.prefailure, it.prefailure), updated_at = EXCLUDED.updated_at`,
    [
      ref.companyId,
      ref.jobId,
      plan.map((p) => p.accountingEntryId),
      plan.map((p) => p.seq),
      plan.map((p) => p.date),
      plan.map((p) => (p.prefailure === null ? null : JSON.stringify(p.prefailure))),
      now,
      JSON.stringify(NO_DATA_DETAIL),
    ],
  );
}

export async function markItemsReported(
  tx: Tx,
  t: Tables,
  ref: JobRef,
  accepted: readonly { accountingEntryId: string; pleoStatus: string }[],
  now: string,
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
       FROM found
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
       FROM unnest($3::text[], $4::text[], $5::boolean[], $7::text[]) WITH ORDINALITY
         AS i(entry_id, message, give_up, detail, ord)
       ORDER BY entry_id, ord
     ), found AS (
       SELECT input.*, cur.attempt AS cur_attempt FROM input ${lookup(t, 'state, attempt')}
       WHERE cur.state IS NOT NULL
     ), audited AS (
       INSERT INTO ${t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT $1::text, $2::text, found.entry_id, $6::text, 'report_rejected', found.cur_attempt,
              found.detail
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
      rejections.map((r) => JSON.stringify(rejectionDetail(r))),
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
