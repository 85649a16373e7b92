/**
 * The scaled-out store: the `Store` port on PostgreSQL, shared by any number of workers.
 *
 * Fencing. Every fenced write is one transaction that first locks the job's row
 * (`SELECT fence_token … FOR UPDATE`) and throws `LeaseLostError` when the token moved on.
 * `acquireJob` bumps the token with an UPDATE, which takes the same row lock. So a takeover waits
 * for a write already under way to commit, and a write that starts after a takeover sees the new
 * token: a worker paused past its lease can never interleave a write with the new owner's.
 *
 * Uniqueness is enforced by constraints (see `schema.ts`), not by isolation level: pages are
 * upserted on the items' primary key, and a booking is `INSERT … ON CONFLICT DO NOTHING` on
 * (company, entry), so when two jobs record the same entry at once the first booking stays.
 *
 * Retries. Every method runs through `Database.transaction`, which retries transient failures
 * (`retry.ts`) from the start on a fresh connection. A failure before COMMIT rolled everything
 * back, so running the body again is just the first run. The one ambiguous case is a COMMIT whose
 * acknowledgement was lost: the body may have committed. Every fenced write therefore inserts a
 * marker with a write id (one per call, the same on every attempt) in its own transaction; a
 * retried attempt that finds its marker knows its first run committed, changes nothing, and
 * returns the first run's result (kept with the marker). So a retried body never counts a report
 * attempt twice or writes an audit event twice, whatever the statement. Markers are needed only
 * while the caller may still retry; each write deletes the job's markers older than an hour.
 * Outside the fence, a re-acquire only bumps the fence once more, and `rememberWebhook`
 * recognises its own earlier insert (same receivedAt) on a retry.
 *
 * Bulk writes send whole pages as arrays (`unnest`) in one statement, never one round trip per
 * item; see `bulk.ts` for how they stay proportional to the page whatever the planner believes.
 */
import { randomUUID } from 'node:crypto';

import { ConfigError, LeaseLostError } from '../../errors/index.js';
import type {
  AuditEvent,
  AuditStep,
  BookingRecord,
  FailureSummary,
  Fence,
  FetchedItem,
  ItemFilter,
  ItemOutcome,
  ItemRecord,
  ItemState,
  ItemWithPayload,
  IntentRecord,
  JobCounts,
  JobPatch,
  JobPhase,
  JobRecord,
  JobRef,
  JobSnapshot,
  JobStats,
  ListedItem,
  ProgressBatch,
  ReportRejection,
  SaveFetchedPageResult,
  SaveListedPageResult,
  StagedPage,
  Store,
} from '../types.js';
import { JOB_PHASES, phaseReached } from '../types.js';
import { countItems, outcomeDetail, type CountGroup } from '../rules.js';
import {
  listedAmong,
  markItemsRejected,
  markItemsReported,
  planJob,
  storeFetchedPage,
  type Tables,
  tablesOf,
  upsertListedPage,
} from './bulk.js';
import { Database, type CommitFaults, type RetryInfo, type Row, type Tx } from './database.js';
import { compileRetry, type PostgresRetryOptions } from './retry.js';
import { toAuditEvent, toStagedPage } from '../rows.js';
import { ITEM_COLUMNS, toBooking, toFailureSummary, toItem, toItemWithPayload, toJob } from './rows.js';
import { isValidSchemaName, migrateSchema } from './schema.js';

export interface PostgresStoreOptions {
  /** A libpq URL, e.g. `postgres://user:password@host:5432/database`. */
  connectionString: string;
  /** The schema holding the store's tables (lower-case letters, digits, `_`). @default 'pleo_export' */
  schema?: string;
  pool?: {
    /** Most connections this store opens at once. @default 10 */
    max?: number;
  };
  /** Clock for timestamps. @default Date.now */
  now?: () => number;
  /** How transient PostgreSQL failures are retried. */
  retry?: PostgresRetryOptions;
  /** `application_name` of the connections, as seen in `pg_stat_activity`. @default 'pleo-export' */
  applicationName?: string;
  /** Told about each retried failure (for logs and metrics). @default ignore */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Told when a connection fails outside a statement (e.g. an idle one after a server restart).
   * Such errors never crash the process; the next statement on that connection fails and is
   * retried on another. @default ignore
   */
  onPoolError?: (error: Error) => void;
  /**
   * For tests only: throw from these to simulate a transient failure just before COMMIT (the
   * transaction rolls back) or just after it (the acknowledgement is lost). @default none
   * @internal
   */
  faults?: CommitFaults;
}

/** How long a write marker is kept: far longer than any retry sequence (about 20 s by default). */
const MARKER_TTL_MS = 60 * 60 * 1000;

const JOB_COLUMNS: Record<keyof JobPatch, string> = {
  phase: 'phase',
  pleoStatus: 'pleo_status',
  listCursor: 'list_cursor',
  dataCursor: 'data_cursor',
  finalEvent: 'final_event',
  failureReason: 'failure_reason',
  failureReasonType: 'failure_reason_type',
  completedAt: 'completed_at',
};

/**
 * Creates a PostgreSQL store. Nothing connects until the first call; call `migrate()` once at
 * start (safe from many workers at once) and `close()` at shutdown.
 *
 * @example
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(options);
}

class PostgresStore implements Store {
  private readonly db: Database;
  private readonly schema: string;
  private readonly now: () => number;
  private readonly t: Tables;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? 'pleo_export';
    if (!isValidSchemaName(this.schema)) {
      throw new ConfigError(
        `postgres store: schema "${this.schema}" must be a lower-case identifier ([a-z_][a-z0-9_]*, ≤ 63 chars)`,
      );
    }
    const max = options.pool?.max ?? 10;
    if (!Number.isInteger(max) || max < 1)
      throw new ConfigError(`postgres store: pool.max must be ≥ 1 (got ${max})`);
    this.now = options.now ?? Date.now;
    this.t = tablesOf(this.schema);
    this.db = new Database({
      connectionString: options.connectionString,
      max,
      applicationName: options.applicationName ?? 'pleo-export',
      retry: compileRetry(options.retry),
      onRetry: options.onRetry ?? (() => {}),
      onPoolError: options.onPoolError ?? (() => {}),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      faults: options.faults ?? {},
    });
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  async migrate(): Promise<void> {
    await this.db.transaction((tx) => migrateSchema(tx, this.schema));
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * Runs `fn` in a transaction that holds the job's row lock, after checking that `fence` is still
   * the job's current fence, and passes the job's phase as locked. The same statement inserts this
   * call's write marker (see Retries above): on a retried attempt that finds the marker committed,
   * `fn` is not run again and the first run's result is returned (`replay` rebuilds a result that
   * is not kept, e.g. a record read again).
   */
  private fenced<T>(
    fence: Fence,
    fn: (tx: Tx, phase: JobPhase) => Promise<T>,
    replay?: (tx: Tx) => Promise<T>,
  ): Promise<T> {
    const writeId = randomUUID();
    return this.db.transaction(async (tx) => {
      const now = this.now();
      const rows = await tx.query(
        `WITH marker AS (
           INSERT INTO ${this.t.writes} (write_id, company_id, job_id, at) VALUES ($3, $1, $2, $4)
           ON CONFLICT (write_id) DO NOTHING RETURNING 1
         ), expired AS (
           DELETE FROM ${this.t.writes} WHERE company_id = $1 AND job_id = $2 AND at < $5 RETURNING 1
         )
         SELECT fence_token, phase, EXISTS (SELECT 1 FROM marker) AS fresh,
                (SELECT result FROM ${this.t.writes} WHERE write_id = $3) AS result
         FROM ${this.t.jobs} WHERE company_id = $1 AND job_id = $2 FOR UPDATE`,
        [fence.companyId, fence.jobId, writeId, now, now - MARKER_TTL_MS],
      );
      const row = rows[0];
      if (row && row['fresh'] !== true) {
        // Our first attempt committed; only its acknowledgement was lost.
        const kept = row['result'];
        if (replay) return replay(tx);
        return (typeof kept === 'string' ? JSON.parse(kept) : undefined) as T;
      }
      if (!row || Number(row['fence_token']) !== fence.token) {
        throw new LeaseLostError(
          `Job ${fence.jobId} was taken over by another worker (fence ${fence.token} is stale); stopping.`,
        );
      }
      const result = await fn(tx, String(row['phase']) as JobPhase);
      if (result !== undefined && !replay) {
        await tx.execute(`UPDATE ${this.t.writes} SET result = $2 WHERE write_id = $1`, [
          writeId,
          JSON.stringify(result),
        ]);
      }
      return result;
    });
  }

  async upsertJob(snapshot: JobSnapshot): Promise<JobRecord> {
    const now = this.iso();
    const rows = await this.db.query(
      `INSERT INTO ${this.t.jobs} (company_id, job_id, created_at, pleo_status, vendor_based_bookkeeping,
                                 number_of_items, phase, discovered_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'discovered', $7, $7)
       ON CONFLICT (company_id, job_id) DO UPDATE SET pleo_status = EXCLUDED.pleo_status,
         number_of_items = EXCLUDED.number_of_items, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [
        snapshot.companyId,
        snapshot.jobId,
        snapshot.createdAt,
        snapshot.pleoStatus,
        snapshot.vendorBasedBookkeeping,
        snapshot.numberOfItems,
        now,
      ],
    );
    return toJob(mustHave(rows[0], snapshot));
  }

  async getJob(ref: JobRef): Promise<JobRecord | null> {
    const rows = await this.db.query(`SELECT * FROM ${this.t.jobs} WHERE company_id = $1 AND job_id = $2`, [
      ref.companyId,
      ref.jobId,
    ]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async listJobs(
    filter: { companyId?: string; phases?: readonly JobPhase[]; limit?: number } = {},
  ): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.companyId !== undefined) {
      params.push(filter.companyId);
      where.push(`company_id = $${params.length}`);
    }
    if (filter.phases && filter.phases.length > 0) {
      params.push(filter.phases);
      where.push(`phase = ANY($${params.length}::text[])`);
    }
    params.push(filter.limit ?? 1000);
    const rows = await this.db.query(
      `SELECT * FROM ${this.t.jobs} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY created_at, job_id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toJob);
  }

  async acquireJob(ref: JobRef, owner: string): Promise<Fence> {
    // The UPDATE takes the job's row lock: it waits for a fenced write under way to commit.
    const rows = await this.db.query(
      `UPDATE ${this.t.jobs} SET fence_token = fence_token + 1, lease_owner = $3, runs = runs + 1, updated_at = $4
       WHERE company_id = $1 AND job_id = $2 RETURNING fence_token`,
      [ref.companyId, ref.jobId, owner, this.iso()],
    );
    const row = rows[0];
    if (!row) throw new Error(`store: cannot acquire unknown job ${ref.jobId}`);
    return { companyId: ref.companyId, jobId: ref.jobId, token: Number(row['fence_token']), owner };
  }

  async updateJob(fence: Fence, patch: JobPatch): Promise<JobRecord> {
    return this.fenced(
      fence,
      async (tx) => toJob(await this.patchJob(tx, fence, patch)),
      async (tx) => {
        const rows = await tx.query(`SELECT * FROM ${this.t.jobs} WHERE company_id = $1 AND job_id = $2`, [
          fence.companyId,
          fence.jobId,
        ]);
        return toJob(mustHave(rows[0], fence));
      },
    );
  }

  private async patchJob(tx: Tx, ref: JobRef, patch: JobPatch): Promise<Row> {
    const params: unknown[] = [ref.companyId, ref.jobId, this.iso()];
    const sets = ['updated_at = $3'];
    for (const [key, column] of Object.entries(JOB_COLUMNS) as [keyof JobPatch, string][]) {
      const value = patch[key];
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    }
    const rows = await tx.query(
      `UPDATE ${this.t.jobs} SET ${sets.join(', ')} WHERE company_id = $1 AND job_id = $2 RETURNING *`,
      params,
    );
    if (patch.phase === 'planned' || patch.phase === 'done') {
      await tx.execute(`DELETE FROM ${this.t.staged} WHERE company_id = $1 AND job_id = $2`, [
        ref.companyId,
        ref.jobId,
      ]);
    }
    return mustHave(rows[0], ref);
  }

  async saveListedPage(
    fence: Fence,
    page: { items: readonly ListedItem[]; cursor: string | null; complete: boolean },
  ): Promise<SaveListedPageResult> {
    return this.fenced(fence, async (tx, phase) => {
      const result = await upsertListedPage(tx, this.t, fence, page.items, this.iso());
      const patch: JobPatch = { listCursor: page.cursor };
      if (page.complete && !phaseReached(phase, 'items_listed')) {
        patch.phase = 'items_listed';
      }
      await this.patchJob(tx, fence, patch);
      return result;
    });
  }

  async saveFetchedPage(
    fence: Fence,
    page: { items: readonly FetchedItem[]; cursor: string | null; complete: boolean; staged?: number },
  ): Promise<SaveFetchedPageResult> {
    return this.fenced(fence, async (tx) => {
      const now = this.iso();
      if (page.staged !== undefined) {
        await tx.execute(
          `DELETE FROM ${this.t.staged} WHERE company_id = $1 AND job_id = $2 AND fence_token = $3 AND position = $4`,
          [fence.companyId, fence.jobId, fence.token, page.staged],
        );
      }
      const result = await storeFetchedPage(tx, this.t, fence, page.items, now);
      const patch: JobPatch = { dataCursor: page.cursor };
      if (page.complete) {
        await planJob(tx, this.t, fence, now);
        patch.phase = 'planned';
      }
      await this.patchJob(tx, fence, patch);
      return result;
    });
  }

  async stageFetchedPage(fence: Fence, page: StagedPage): Promise<void> {
    await this.fenced(fence, async (tx) => {
      await tx.execute(
        `INSERT INTO ${this.t.staged} (company_id, job_id, fence_token, position, cursor, complete, items)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (company_id, job_id, fence_token, position) DO UPDATE
           SET cursor = excluded.cursor, complete = excluded.complete, items = excluded.items`,
        [
          fence.companyId,
          fence.jobId,
          fence.token,
          page.position,
          page.cursor,
          page.complete,
          JSON.stringify(page.items),
        ],
      );
    });
  }

  async stagedPage(fence: Fence, position: number): Promise<StagedPage | null> {
    const rows = await this.db.query(
      `SELECT cursor, complete, items FROM ${this.t.staged}
       WHERE company_id = $1 AND job_id = $2 AND fence_token = $3 AND position = $4`,
      [fence.companyId, fence.jobId, fence.token, position],
    );
    const row = rows[0];
    return row === undefined ? null : toStagedPage(position, row);
  }

  async entriesAwaitingData(ref: JobRef, accountingEntryIds: readonly string[]): Promise<Set<string>> {
    return this.db.transaction((tx) => listedAmong(tx, this.t, ref, accountingEntryIds), { explicit: false });
  }

  async itemsToProcess(ref: JobRef, afterSeq: number, limit: number): Promise<ItemWithPayload[]> {
    const rows = await this.db.query(
      `SELECT it.*, p.payload FROM ${this.t.items} AS it
       LEFT JOIN ${this.t.payloads} AS p USING (company_id, job_id, entry_id)
       WHERE it.company_id = $1 AND it.job_id = $2 AND it.state IN ('planned', 'booking') AND it.seq > $3
       ORDER BY it.seq LIMIT $4`,
      [ref.companyId, ref.jobId, afterSeq, limit],
    );
    return rows.map(toItemWithPayload);
  }

  async recordProgress(fence: Fence, progress: ProgressBatch): Promise<void> {
    await this.fenced(fence, async (tx) => {
      const now = this.iso();
      for (const { accountingEntryId, outcome } of progress.outcomes)
        await this.applyOutcome(tx, fence, accountingEntryId, outcome, now);
      for (const intent of progress.intents) await this.applyIntent(tx, fence, intent, now);
    });
  }

  private async applyIntent(tx: Tx, fence: Fence, intent: IntentRecord, now: string): Promise<void> {
    const changed = await tx.execute(
      `UPDATE ${this.t.items} SET state = 'booking', attempt = $4, updated_at = $5
       WHERE company_id = $1 AND job_id = $2 AND entry_id = $3 AND state IN ('planned', 'booking')`,
      [fence.companyId, fence.jobId, intent.accountingEntryId, intent.attempt, now],
    );
    if (changed !== 1) throw new Error(`store: item ${intent.accountingEntryId} is not open for booking`);
    await this.audit(tx, fence, intent.accountingEntryId, 'intent', now, intent.detail ?? {});
  }

  /** Appends one audit event for an item (its current attempt is the event's). */
  private async audit(
    tx: Tx,
    ref: JobRef,
    entryId: string,
    step: AuditStep,
    at: string,
    detail: object,
  ): Promise<void> {
    await tx.execute(
      `INSERT INTO ${this.t.audit} (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT company_id, job_id, entry_id, $4, $5, attempt, $6 FROM ${this.t.items}
       WHERE company_id = $1 AND job_id = $2 AND entry_id = $3`,
      [ref.companyId, ref.jobId, entryId, at, step, JSON.stringify(detail)],
    );
  }

  private async applyOutcome(
    tx: Tx,
    fence: Fence,
    accountingEntryId: string,
    outcome: ItemOutcome,
    now: string,
  ): Promise<void> {
    {
      if (outcome.status === 'booked') {
        const earlier = await tx.query(
          `SELECT job_id FROM ${this.t.bookings} WHERE company_id = $1 AND entry_id = $2`,
          [fence.companyId, accountingEntryId],
        );
        const earlierJob = earlier[0] ? String(earlier[0]['job_id']) : null;
        await this.audit(
          tx,
          fence,
          accountingEntryId,
          'booked',
          now,
          outcomeDetail(outcome, earlierJob !== fence.jobId ? earlierJob : null),
        );
        // One statement: the item's outcome, its payload dropped (no longer needed), and the booking,
        // which the primary key keeps unique per (company, entry) even when two jobs record the same
        // entry at the same moment.
        await tx.execute(
          `WITH item AS (
             UPDATE ${this.t.items} SET state = 'booked', external_id = $4, external_url = $5, exported_at = $6,
                    failure_reason = NULL, failure_reason_type = NULL, updated_at = $7
             WHERE company_id = $1 AND job_id = $2 AND entry_id = $3
           ), payload AS (
             DELETE FROM ${this.t.payloads} WHERE company_id = $1 AND job_id = $2 AND entry_id = $3
           )
           INSERT INTO ${this.t.bookings} (company_id, entry_id, job_id, external_id, external_url, exported_at)
           VALUES ($1, $3, $2, $4, $5, $6) ON CONFLICT (company_id, entry_id) DO NOTHING`,
          [
            fence.companyId,
            fence.jobId,
            accountingEntryId,
            outcome.externalId,
            outcome.externalUrl,
            outcome.exportedAt,
            now,
          ],
        );
      } else {
        await this.audit(tx, fence, accountingEntryId, 'failed', now, outcomeDetail(outcome, null));
        // A failed item keeps its payload: `retry` maps it again with a fixed configuration.
        await tx.execute(
          `UPDATE ${this.t.items} SET state = 'failed', failure_reason = $4, failure_reason_type = $5, updated_at = $6
           WHERE company_id = $1 AND job_id = $2 AND entry_id = $3`,
          [
            fence.companyId,
            fence.jobId,
            accountingEntryId,
            outcome.failureReason,
            outcome.failureReasonType,
            now,
          ],
        );
      }
    }
  }

  async findBooking(companyId: string, accountingEntryId: string): Promise<BookingRecord | null> {
    const rows = await this.db.query(
      `SELECT * FROM ${this.t.bookings} WHERE company_id = $1 AND entry_id = $2`,
      [companyId, accountingEntryId],
    );
    return rows[0] ? toBooking(rows[0]) : null;
  }

  async unreportedOutcomes(ref: JobRef, limit: number, maxSeq?: number): Promise<ItemRecord[]> {
    const rows = await this.db.query(
      `SELECT ${ITEM_COLUMNS} FROM ${this.t.items}
       WHERE company_id = $1 AND job_id = $2 AND state IN ('booked', 'failed') AND NOT reported
         AND seq IS NOT NULL ${maxSeq === undefined ? '' : 'AND seq <= $4'}
       ORDER BY seq LIMIT $3`,
      maxSeq === undefined ? [ref.companyId, ref.jobId, limit] : [ref.companyId, ref.jobId, limit, maxSeq],
    );
    return rows.map(toItem);
  }

  async markReported(
    fence: Fence,
    accepted: readonly { accountingEntryId: string; pleoStatus: ItemRecord['pleoStatus'] }[],
  ): Promise<void> {
    await this.fenced(fence, (tx) => markItemsReported(tx, this.t, fence, accepted, this.iso()));
  }

  async markReportRejected(fence: Fence, rejections: readonly ReportRejection[]): Promise<void> {
    await this.fenced(fence, (tx) => markItemsRejected(tx, this.t, fence, rejections, this.iso()));
  }

  async lowestOpenSeq(ref: JobRef): Promise<number | null> {
    const rows = await this.db.query(
      `SELECT seq AS s FROM ${this.t.items} WHERE company_id = $1 AND job_id = $2 AND state IN ('planned', 'booking')
         AND seq IS NOT NULL ORDER BY seq LIMIT 1`,
      [ref.companyId, ref.jobId],
    );
    const value = rows[0]?.['s'];
    return value === null || value === undefined ? null : Number(value);
  }

  async counts(ref: JobRef): Promise<JobCounts> {
    const rows = await this.db.query(
      `SELECT state, pleo_status, reported, date IS NOT NULL AS fetched, count(*) AS n
       FROM ${this.t.items} WHERE company_id = $1 AND job_id = $2 GROUP BY 1, 2, 3, 4`,
      [ref.companyId, ref.jobId],
    );
    const groups: CountGroup[] = rows.map((row) => ({
      state: String(row['state']) as ItemState,
      pleoStatus: String(row['pleo_status']) as CountGroup['pleoStatus'],
      reported: row['reported'] === true,
      fetched: row['fetched'] === true,
      n: Number(row['n']),
    }));
    return countItems(groups);
  }

  async topFailures(ref: JobRef, limit: number): Promise<FailureSummary[]> {
    const rows = await this.db.query(
      `SELECT failure_reason_type AS t, failure_reason AS r, count(*) AS n FROM ${this.t.items}
       WHERE company_id = $1 AND job_id = $2 AND state = 'failed'
       GROUP BY failure_reason_type, failure_reason ORDER BY n DESC, t, r LIMIT $3`,
      [ref.companyId, ref.jobId, limit],
    );
    return rows.map(toFailureSummary);
  }

  async listItems(ref: JobRef, filter: ItemFilter = {}): Promise<ItemRecord[]> {
    const where = ['company_id = $1', 'job_id = $2'];
    const params: unknown[] = [ref.companyId, ref.jobId];
    if (filter.states && filter.states.length > 0) {
      params.push(filter.states);
      where.push(`state = ANY($${params.length}::text[])`);
    }
    if (filter.pleoStatus !== undefined) {
      params.push(filter.pleoStatus);
      where.push(`pleo_status = $${params.length}`);
    }
    if (filter.failureReasonType !== undefined) {
      params.push(filter.failureReasonType);
      where.push(`failure_reason_type = $${params.length}`);
    }
    params.push(filter.limit ?? 1000, filter.offset ?? 0);
    const rows = await this.db.query(
      `SELECT ${ITEM_COLUMNS} FROM ${this.t.items} WHERE ${where.join(' AND ')}
       ORDER BY seq ASC NULLS LAST, entry_id LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return rows.map(toItem);
  }

  async findItemsByEntry(accountingEntryId: string): Promise<ItemWithPayload[]> {
    const rows = await this.db.query(
      `SELECT it.*, p.payload FROM ${this.t.items} AS it JOIN ${this.t.jobs} AS j USING (company_id, job_id)
       LEFT JOIN ${this.t.payloads} AS p USING (company_id, job_id, entry_id)
       WHERE it.entry_id = $1 ORDER BY j.created_at DESC, j.job_id DESC`,
      [accountingEntryId],
    );
    return rows.map(toItemWithPayload);
  }

  async findJob(jobId: string): Promise<JobRecord | null> {
    const rows = await this.db.query(
      `SELECT * FROM ${this.t.jobs} WHERE job_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [jobId],
    );
    return rows[0] ? toJob(rows[0]) : null;
  }

  async jobStats(): Promise<JobStats> {
    const byPhase = Object.fromEntries(JOB_PHASES.map((p) => [p, 0])) as Record<JobPhase, number>;
    const rows = await this.db.query(`SELECT phase, count(*) AS n FROM ${this.t.jobs} GROUP BY phase`);
    for (const row of rows) byPhase[String(row['phase']) as JobPhase] = Number(row['n']);
    return { byPhase };
  }

  async auditTrail(
    accountingEntryId: string,
    filter: { companyId?: string; jobId?: string } = {},
  ): Promise<AuditEvent[]> {
    const where = ['entry_id = $1'];
    const params: unknown[] = [accountingEntryId];
    if (filter.companyId !== undefined) {
      params.push(filter.companyId);
      where.push(`company_id = $${params.length}`);
    }
    if (filter.jobId !== undefined) {
      params.push(filter.jobId);
      where.push(`job_id = $${params.length}`);
    }
    const rows = await this.db.query(
      `SELECT * FROM ${this.t.audit} WHERE ${where.join(' AND ')} ORDER BY id`,
      params,
    );
    return rows.map(toAuditEvent);
  }

  async pruneAudit(before: string): Promise<number> {
    return this.db.transaction((tx) => tx.execute(`DELETE FROM ${this.t.audit} WHERE at < $1`, [before]), {
      explicit: false,
    });
  }

  async rememberWebhook(id: string, receivedAt: string): Promise<boolean> {
    return this.db.transaction(
      async (tx, attempt) => {
        // The SELECT sees the table as it was before this statement's INSERT.
        const rows = await tx.query(
          `WITH inserted AS (
             INSERT INTO ${this.t.webhooks} (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING 1
           )
           SELECT EXISTS (SELECT 1 FROM inserted) AS fresh,
                  (SELECT received_at FROM ${this.t.webhooks} WHERE id = $1) AS seen`,
          [id, receivedAt],
        );
        const row = rows[0];
        if (row?.['fresh'] === true) return true;
        // On a retry, a row carrying our own receivedAt is our first attempt's insert, committed
        // before its acknowledgement was lost, not a replay.
        return attempt > 1 && row?.['seen'] === receivedAt;
      },
      { explicit: false },
    );
  }

  async getValue(key: string): Promise<string | null> {
    const rows = await this.db.query(`SELECT value FROM ${this.t.kv} WHERE key = $1`, [key]);
    return rows[0] ? String(rows[0]['value']) : null;
  }

  async setValue(key: string, value: string | null): Promise<void> {
    if (value === null) await this.db.query(`DELETE FROM ${this.t.kv} WHERE key = $1`, [key]);
    else
      await this.db.query(
        `INSERT INTO ${this.t.kv} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [key, value],
      );
  }

  async replaceValue(key: string, expected: string, next: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE ${this.t.kv} SET value = $3 WHERE key = $1 AND value = $2 RETURNING key`,
      [key, expected, next],
    );
    return rows.length === 1;
  }
}

function mustHave(row: Row | undefined, ref: JobRef): Row {
  if (!row) throw new Error(`store: job ${ref.jobId} of company ${ref.companyId} not found`);
  return row;
}
