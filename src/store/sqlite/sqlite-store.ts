/* eslint-disable @typescript-eslint/require-await -- node:sqlite is synchronous; `async` turns throws into rejections, as the Store port promises. */
/**
 * The embedded store: one SQLite file (`node:sqlite`, built into Node 22; no native addon).
 *
 * Durability: WAL journal. `synchronous` defaults to NORMAL, which survives any process crash
 * (kill -9) because committed pages are in the OS cache; only a power loss can lose the last
 * transactions. That is safe for exactly-once because every adapter must be idempotent on
 * `record` by entry id: a lost "booking" intent means the item is recorded again *through the
 * idempotent path*, never booked twice. Choose `durability: 'full'` to fsync every commit.
 *
 * node:sqlite is synchronous; the async `Store` methods wrap it so a Postgres store fits the same
 * interface. All statements are prepared once. WAL checkpoints do not run inside our commits but
 * in a worker thread (`checkpointer.ts`).
 *
 * The export payload (several KB per item) has its own table, `payloads`: the per-item protocol
 * writes (intent, outcome) rewrite the small item row only.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';

import { LeaseLostError } from '../../errors/index.js';
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
  Store,
  StagedPage,
} from '../types.js';
import { JOB_PHASES, phaseReached } from '../types.js';
import {
  countItems,
  listedAction,
  listedDetail,
  NO_DATA_DETAIL,
  outcomeDetail,
  planOrder,
  rejectionDetail,
  type CountGroup,
} from '../rules.js';
import {
  amountOf,
  fetchedDetail,
  nullableString,
  receiptsDetail,
  toAuditEvent,
  toBooking,
  toFailureSummary,
  toItem,
  toItemWithPayload,
  toJob,
  toStagedPage,
  type Row,
} from '../rows.js';
import { Checkpointer } from './checkpointer.js';
import { SQLITE_MIGRATIONS } from './schema.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:'. */
  path: string;
  /** @default 'normal' */
  durability?: 'normal' | 'full';
  /** Clock for timestamps. @default Date.now */
  now?: () => number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly statements = new Map<string, StatementSync>();
  private readonly checkpointer: Checkpointer | null;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new DatabaseSync(options.path);
    this.now = options.now ?? Date.now;
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec('PRAGMA foreign_keys = ON');
    if (options.path === ':memory:') this.checkpointer = null;
    else {
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer({
        path: options.path,
        fallback: () => this.db.exec('PRAGMA wal_checkpoint(PASSIVE)'),
      });
    }
  }

  private stmt(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.stmt(sql).run(...params).changes);
  }
  private get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.stmt(sql).get(...params);
  }
  private all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.stmt(sql).all(...params);
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      this.checkpointer?.committed();
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Appends one audit event for an item that exists (its current attempt is the event's). */
  private audit(ref: JobRef, entryId: string, step: AuditStep, at: string, detail: object): void {
    this.run(
      `INSERT INTO audit (company_id, job_id, entry_id, at, step, attempt, detail)
       SELECT company_id, job_id, entry_id, ?, ?, attempt, ? FROM items
       WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
      at,
      step,
      JSON.stringify(detail),
      ref.companyId,
      ref.jobId,
      entryId,
    );
  }

  async migrate(): Promise<void> {
    const version = Number((this.get('PRAGMA user_version') ?? {})['user_version'] ?? 0);
    for (let i = version; i < SQLITE_MIGRATIONS.length; i++) {
      this.tx(() => {
        this.db.exec(SQLITE_MIGRATIONS[i] ?? '');
        this.db.exec(`PRAGMA user_version = ${i + 1}`);
      });
    }
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.isOpen) this.db.close();
  }

  /** Throws LeaseLostError unless `fence` is the job's current fence. */
  private checkFence(fence: Fence): void {
    const row = this.get(
      'SELECT fence_token FROM jobs WHERE company_id = ? AND job_id = ?',
      fence.companyId,
      fence.jobId,
    );
    if (!row || Number(row['fence_token']) !== fence.token) {
      throw new LeaseLostError(
        `Job ${fence.jobId} was taken over by another worker (fence ${fence.token} is stale); stopping.`,
      );
    }
  }

  async upsertJob(snapshot: JobSnapshot): Promise<JobRecord> {
    const now = this.iso();
    this.run(
      `INSERT INTO jobs (company_id, job_id, created_at, pleo_status, vendor_based_bookkeeping, number_of_items,
                         phase, discovered_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'discovered', ?, ?)
       ON CONFLICT (company_id, job_id) DO UPDATE SET pleo_status = excluded.pleo_status,
         number_of_items = excluded.number_of_items, updated_at = excluded.updated_at`,
      snapshot.companyId,
      snapshot.jobId,
      snapshot.createdAt,
      snapshot.pleoStatus,
      snapshot.vendorBasedBookkeeping ? 1 : 0,
      snapshot.numberOfItems,
      now,
      now,
    );
    return this.mustGetJob(snapshot);
  }

  private mustGetJob(ref: JobRef): JobRecord {
    const row = this.get('SELECT * FROM jobs WHERE company_id = ? AND job_id = ?', ref.companyId, ref.jobId);
    if (!row) throw new Error(`store: job ${ref.jobId} of company ${ref.companyId} not found`);
    return toJob(row);
  }

  async getJob(ref: JobRef): Promise<JobRecord | null> {
    const row = this.get('SELECT * FROM jobs WHERE company_id = ? AND job_id = ?', ref.companyId, ref.jobId);
    return row ? toJob(row) : null;
  }

  async listJobs(
    filter: { companyId?: string; phases?: readonly JobPhase[]; limit?: number } = {},
  ): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (filter.companyId !== undefined) {
      where.push('company_id = ?');
      params.push(filter.companyId);
    }
    if (filter.phases && filter.phases.length > 0) {
      where.push(`phase IN (${filter.phases.map(() => '?').join(',')})`);
      params.push(...filter.phases);
    }
    params.push(filter.limit ?? 1000);
    const sql = `SELECT * FROM jobs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                 ORDER BY created_at, job_id LIMIT ?`;
    return this.db
      .prepare(sql)
      .all(...params)
      .map((row) => toJob(row as Row));
  }

  async findJob(jobId: string): Promise<JobRecord | null> {
    const row = this.get('SELECT * FROM jobs WHERE job_id = ? ORDER BY created_at DESC LIMIT 1', jobId);
    return row ? toJob(row) : null;
  }

  async jobStats(): Promise<JobStats> {
    const byPhase = Object.fromEntries(JOB_PHASES.map((p) => [p, 0])) as Record<JobPhase, number>;
    for (const row of this.all('SELECT phase, COUNT(*) AS n FROM jobs GROUP BY phase')) {
      byPhase[String(row['phase']) as JobPhase] = Number(row['n']);
    }
    return { byPhase };
  }

  async acquireJob(ref: JobRef, owner: string): Promise<Fence> {
    return this.tx(() => {
      const changed = this.run(
        `UPDATE jobs SET fence_token = fence_token + 1, lease_owner = ?, runs = runs + 1, updated_at = ?
           WHERE company_id = ? AND job_id = ?`,
        owner,
        this.iso(),
        ref.companyId,
        ref.jobId,
      );
      if (changed !== 1) throw new Error(`store: cannot acquire unknown job ${ref.jobId}`);
      const job = this.mustGetJob(ref);
      return { companyId: ref.companyId, jobId: ref.jobId, token: job.fenceToken, owner };
    });
  }

  async updateJob(fence: Fence, patch: JobPatch): Promise<JobRecord> {
    return this.tx(() => {
      this.checkFence(fence);
      this.patchJob(fence, patch);
      return this.mustGetJob(fence);
    });
  }

  private patchJob(ref: JobRef, patch: JobPatch): void {
    const columns: Record<keyof JobPatch, string> = {
      phase: 'phase',
      pleoStatus: 'pleo_status',
      listCursor: 'list_cursor',
      dataCursor: 'data_cursor',
      finalEvent: 'final_event',
      failureReason: 'failure_reason',
      failureReasonType: 'failure_reason_type',
      completedAt: 'completed_at',
    };
    const sets: string[] = ['updated_at = ?'];
    const params: SQLInputValue[] = [this.iso()];
    for (const [key, column] of Object.entries(columns) as [keyof JobPatch, string][]) {
      const value = patch[key];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(value);
    }
    params.push(ref.companyId, ref.jobId);
    this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE company_id = ? AND job_id = ?`).run(...params);
    if (patch.phase === 'planned' || patch.phase === 'done') {
      this.run('DELETE FROM staged_pages WHERE company_id = ? AND job_id = ?', ref.companyId, ref.jobId);
    }
    if (patch.phase === 'done') {
      this.run(
        `DELETE FROM payloads WHERE company_id = ? AND job_id = ? AND entry_id IN
           (SELECT entry_id FROM items WHERE company_id = ? AND job_id = ? AND state = 'booked')`,
        ref.companyId,
        ref.jobId,
        ref.companyId,
        ref.jobId,
      );
    }
  }

  async saveListedPage(
    fence: Fence,
    page: { items: readonly ListedItem[]; cursor: string | null; complete: boolean },
  ): Promise<SaveListedPageResult> {
    return this.tx(() => {
      this.checkFence(fence);
      const now = this.iso();
      let inserted = 0;
      let reconciled = 0;
      for (const item of page.items) {
        const held = this.get(
          'SELECT state, reported FROM items WHERE company_id = ? AND job_id = ? AND entry_id = ?',
          fence.companyId,
          fence.jobId,
          item.accountingEntryId,
        );
        const action = listedAction(
          held
            ? { state: String(held['state']) as ItemState, reported: Number(held['reported']) === 1 }
            : null,
          item.status,
        );
        if (action.kind === 'insert') {
          this.run(
            `INSERT INTO items (company_id, job_id, entry_id, pleo_status, state, external_id, external_url,
                                  exported_at, failure_reason, failure_reason_type, reported, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            fence.companyId,
            fence.jobId,
            item.accountingEntryId,
            item.status,
            action.state,
            item.externalId ?? null,
            item.externalUrl ?? null,
            item.exportedAt ?? null,
            item.failureReason ?? null,
            item.failureReasonType ?? null,
            action.reported ? 1 : 0,
            now,
          );
          this.audit(fence, item.accountingEntryId, 'listed', now, listedDetail(item, action));
          inserted++;
        } else if (action.kind === 'reconcile') {
          this.run(
            `UPDATE items SET state = ?, reported = 1, pleo_status = ?, updated_at = ?
               WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
            action.state,
            item.status,
            now,
            fence.companyId,
            fence.jobId,
            item.accountingEntryId,
          );
          this.audit(fence, item.accountingEntryId, 'reconciled', now, listedDetail(item, action));
          reconciled++;
        }
      }
      const patch: JobPatch = { listCursor: page.cursor };
      const job = this.mustGetJob(fence);
      if (page.complete && !phaseReached(job.phase, 'items_listed')) patch.phase = 'items_listed';
      this.patchJob(fence, patch);
      return { inserted, reconciled };
    });
  }

  async saveFetchedPage(
    fence: Fence,
    page: { items: readonly FetchedItem[]; cursor: string | null; complete: boolean; staged?: number },
  ): Promise<SaveFetchedPageResult> {
    return this.tx(() => {
      this.checkFence(fence);
      const now = this.iso();
      if (page.staged !== undefined) {
        this.run(
          'DELETE FROM staged_pages WHERE company_id = ? AND job_id = ? AND fence_token = ? AND position = ?',
          fence.companyId,
          fence.jobId,
          fence.token,
          page.staged,
        );
      }
      let stored = 0;
      const unknown: string[] = [];
      for (const item of page.items) {
        const changed = this.run(
          `UPDATE items SET date = ?, attachments = ?, prefailure = ?, amount_value = ?,
                  amount_currency = ?, updated_at = ?
             WHERE company_id = ? AND job_id = ? AND entry_id = ? AND state = 'listed'`,
          item.date,
          JSON.stringify(item.attachments),
          item.prefailure ? JSON.stringify(item.prefailure) : null,
          amountOf(item)?.value ?? null,
          amountOf(item)?.currency ?? null,
          now,
          fence.companyId,
          fence.jobId,
          item.accountingEntryId,
        );
        if (changed === 1) {
          this.run(
            `INSERT INTO payloads (company_id, job_id, entry_id, payload) VALUES (?, ?, ?, ?)
             ON CONFLICT (company_id, job_id, entry_id) DO UPDATE SET payload = excluded.payload`,
            fence.companyId,
            fence.jobId,
            item.accountingEntryId,
            JSON.stringify(item.payload),
          );
          stored++;
          this.audit(fence, item.accountingEntryId, 'data_fetched', now, fetchedDetail(item));
          const receipts = receiptsDetail(item);
          if (receipts !== null) this.audit(fence, item.accountingEntryId, 'receipts_stored', now, receipts);
        } else if (
          !this.get(
            'SELECT 1 FROM items WHERE company_id = ? AND job_id = ? AND entry_id = ?',
            fence.companyId,
            fence.jobId,
            item.accountingEntryId,
          )
        ) {
          unknown.push(item.accountingEntryId);
        }
      }
      const patch: JobPatch = { dataCursor: page.cursor };
      if (page.complete) {
        // The plan (rules.ts): every item still `listed` gets its seq; one without data is
        // planned last with a visible failure.
        const plan = planOrder(
          this.all(
            `SELECT entry_id, date, EXISTS (SELECT 1 FROM payloads AS p WHERE p.company_id = items.company_id
                      AND p.job_id = items.job_id AND p.entry_id = items.entry_id) AS has_data
               FROM items WHERE company_id = ? AND job_id = ? AND state = 'listed'`,
            fence.companyId,
            fence.jobId,
          ).map((row) => ({
            accountingEntryId: String(row['entry_id']),
            date: nullableString(row['date']),
            hasData: Number(row['has_data']) === 1,
          })),
        );
        for (const item of plan) {
          if (item.prefailure !== null)
            this.audit(fence, item.accountingEntryId, 'data_fetched', now, NO_DATA_DETAIL);
          this.run(
            `UPDATE items SET state = 'planned', seq = ?, date = ?, prefailure = COALESCE(?, prefailure), updated_at = ?
               WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
            item.seq,
            item.date,
            item.prefailure === null ? null : JSON.stringify(item.prefailure),
            now,
            fence.companyId,
            fence.jobId,
            item.accountingEntryId,
          );
        }
        patch.phase = 'planned';
      }
      this.patchJob(fence, patch);
      return { stored, unknown };
    });
  }

  async stageFetchedPage(fence: Fence, page: StagedPage): Promise<void> {
    this.tx(() => {
      this.checkFence(fence);
      this.run(
        `INSERT INTO staged_pages (company_id, job_id, fence_token, position, cursor, complete, items)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (company_id, job_id, fence_token, position) DO UPDATE
           SET cursor = excluded.cursor, complete = excluded.complete, items = excluded.items`,
        fence.companyId,
        fence.jobId,
        fence.token,
        page.position,
        page.cursor,
        page.complete ? 1 : 0,
        JSON.stringify(page.items),
      );
    });
  }

  async stagedPage(fence: Fence, position: number): Promise<StagedPage | null> {
    const row = this.get(
      `SELECT cursor, complete, items FROM staged_pages
       WHERE company_id = ? AND job_id = ? AND fence_token = ? AND position = ?`,
      fence.companyId,
      fence.jobId,
      fence.token,
      position,
    );
    return row === undefined ? null : toStagedPage(position, row);
  }

  async entriesAwaitingData(ref: JobRef, accountingEntryIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < accountingEntryIds.length; i += 500) {
      const chunk = accountingEntryIds.slice(i, i + 500);
      const rows = this.db
        .prepare(
          `SELECT entry_id FROM items WHERE company_id = ? AND job_id = ? AND state = 'listed'
           AND entry_id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(ref.companyId, ref.jobId, ...chunk);
      for (const row of rows) found.add(String(row['entry_id']));
    }
    return found;
  }

  async itemsToProcess(ref: JobRef, afterSeq: number, limit: number): Promise<ItemWithPayload[]> {
    return this.all(
      `SELECT items.*, payloads.payload FROM items LEFT JOIN payloads USING (company_id, job_id, entry_id)
         WHERE items.company_id = ? AND items.job_id = ? AND items.state IN ('planned', 'booking') AND items.seq > ?
         ORDER BY items.seq LIMIT ?`,
      ref.companyId,
      ref.jobId,
      afterSeq,
      limit,
    ).map(toItemWithPayload);
  }

  async recordProgress(fence: Fence, progress: ProgressBatch): Promise<void> {
    this.tx(() => {
      this.checkFence(fence);
      const now = this.iso();
      for (const { accountingEntryId, outcome } of progress.outcomes)
        this.applyOutcome(fence, accountingEntryId, outcome, now);
      for (const intent of progress.intents) this.applyIntent(fence, intent, now);
    });
  }

  private applyIntent(fence: Fence, intent: IntentRecord, now: string): void {
    const changed = this.run(
      `UPDATE items SET state = 'booking', attempt = ?, updated_at = ?
       WHERE company_id = ? AND job_id = ? AND entry_id = ? AND state IN ('planned', 'booking')`,
      intent.attempt,
      now,
      fence.companyId,
      fence.jobId,
      intent.accountingEntryId,
    );
    if (changed !== 1) throw new Error(`store: item ${intent.accountingEntryId} is not open for booking`);
    this.audit(fence, intent.accountingEntryId, 'intent', now, intent.detail ?? {});
  }

  private applyOutcome(fence: Fence, accountingEntryId: string, outcome: ItemOutcome, now: string): void {
    if (outcome.status === 'booked') {
      const earlier = this.get(
        'SELECT job_id FROM bookings WHERE company_id = ? AND entry_id = ?',
        fence.companyId,
        accountingEntryId,
      );
      const earlierJob = earlier ? String(earlier['job_id']) : null;
      this.audit(
        fence,
        accountingEntryId,
        'booked',
        now,
        outcomeDetail(outcome, earlierJob !== fence.jobId ? earlierJob : null),
      );
      this.run(
        `UPDATE items SET state = 'booked', external_id = ?, external_url = ?, exported_at = ?,
                failure_reason = NULL, failure_reason_type = NULL, updated_at = ?
         WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
        outcome.externalId,
        outcome.externalUrl,
        outcome.exportedAt,
        now,
        fence.companyId,
        fence.jobId,
        accountingEntryId,
      );
      // A booked item's export data is no longer needed (a failed one keeps it for `retry`); it is
      // no longer read (findItemsByEntry) and is deleted for the whole job when the job is done
      // (patchJob), one statement instead of one per item in the hot path.
      this.run(
        `INSERT INTO bookings (company_id, entry_id, job_id, external_id, external_url, exported_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (company_id, entry_id) DO NOTHING`,
        fence.companyId,
        accountingEntryId,
        fence.jobId,
        outcome.externalId,
        outcome.externalUrl,
        outcome.exportedAt,
      );
    } else {
      this.audit(fence, accountingEntryId, 'failed', now, outcomeDetail(outcome, null));
      this.run(
        `UPDATE items SET state = 'failed', failure_reason = ?, failure_reason_type = ?, updated_at = ?
         WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
        outcome.failureReason,
        outcome.failureReasonType,
        now,
        fence.companyId,
        fence.jobId,
        accountingEntryId,
      );
    }
  }

  async findBooking(companyId: string, accountingEntryId: string): Promise<BookingRecord | null> {
    const row = this.get(
      'SELECT * FROM bookings WHERE company_id = ? AND entry_id = ?',
      companyId,
      accountingEntryId,
    );
    return row ? toBooking(row) : null;
  }

  async unreportedOutcomes(ref: JobRef, limit: number, maxSeq?: number): Promise<ItemRecord[]> {
    return this.all(
      `SELECT * FROM items WHERE company_id = ? AND job_id = ? AND state IN ('booked', 'failed') AND reported = 0
           AND seq <= ? ORDER BY seq LIMIT ?`,
      ref.companyId,
      ref.jobId,
      maxSeq ?? Number.MAX_SAFE_INTEGER,
      limit,
    ).map(toItem);
  }

  async markReported(
    fence: Fence,
    accepted: readonly { accountingEntryId: string; pleoStatus: ItemRecord['pleoStatus'] }[],
  ): Promise<void> {
    this.tx(() => {
      this.checkFence(fence);
      const now = this.iso();
      for (const item of accepted) {
        this.run(
          `UPDATE items SET reported = 1, pleo_status = ?, report_error = NULL, updated_at = ?
           WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
          item.pleoStatus,
          now,
          fence.companyId,
          fence.jobId,
          item.accountingEntryId,
        );
        this.audit(fence, item.accountingEntryId, 'reported', now, { pleoStatus: item.pleoStatus });
      }
    });
  }

  async markReportRejected(fence: Fence, rejections: readonly ReportRejection[]): Promise<void> {
    this.tx(() => {
      this.checkFence(fence);
      const now = this.iso();
      for (const rejection of rejections) {
        this.run(
          `UPDATE items SET report_attempts = report_attempts + 1, report_error = ?, reported = ?, updated_at = ?
           WHERE company_id = ? AND job_id = ? AND entry_id = ?`,
          rejection.message,
          rejection.giveUp === true ? 1 : 0,
          now,
          fence.companyId,
          fence.jobId,
          rejection.accountingEntryId,
        );
        this.audit(fence, rejection.accountingEntryId, 'report_rejected', now, rejectionDetail(rejection));
      }
    });
  }

  async lowestOpenSeq(ref: JobRef): Promise<number | null> {
    const row = this.get(
      `SELECT MIN(seq) AS s FROM items WHERE company_id = ? AND job_id = ? AND state IN ('planned', 'booking')`,
      ref.companyId,
      ref.jobId,
    );
    const value = row?.['s'];
    return value === null || value === undefined ? null : Number(value);
  }

  async counts(ref: JobRef): Promise<JobCounts> {
    const groups: CountGroup[] = this.all(
      `SELECT state, pleo_status, reported, date IS NOT NULL AS fetched, COUNT(*) AS n FROM items
         WHERE company_id = ? AND job_id = ? GROUP BY state, pleo_status, reported, fetched`,
      ref.companyId,
      ref.jobId,
    ).map((row) => ({
      state: String(row['state']) as ItemState,
      pleoStatus: String(row['pleo_status']) as CountGroup['pleoStatus'],
      reported: Number(row['reported']) === 1,
      fetched: Number(row['fetched']) === 1,
      n: Number(row['n']),
    }));
    return countItems(groups);
  }

  async topFailures(ref: JobRef, limit: number): Promise<FailureSummary[]> {
    return this.all(
      `SELECT failure_reason_type AS t, failure_reason AS r, COUNT(*) AS n FROM items
         WHERE company_id = ? AND job_id = ? AND state = 'failed'
         GROUP BY failure_reason_type, failure_reason ORDER BY n DESC, t, r LIMIT ?`,
      ref.companyId,
      ref.jobId,
      limit,
    ).map(toFailureSummary);
  }

  async listItems(ref: JobRef, filter: ItemFilter = {}): Promise<ItemRecord[]> {
    const where = ['company_id = ?', 'job_id = ?'];
    const params: SQLInputValue[] = [ref.companyId, ref.jobId];
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
      params.push(...filter.states);
    }
    if (filter.pleoStatus !== undefined) {
      where.push('pleo_status = ?');
      params.push(filter.pleoStatus);
    }
    if (filter.failureReasonType !== undefined) {
      where.push('failure_reason_type = ?');
      params.push(filter.failureReasonType);
    }
    params.push(filter.limit ?? 1000, filter.offset ?? 0);
    const sql = `SELECT * FROM items WHERE ${where.join(' AND ')}
                 ORDER BY seq IS NULL, seq, entry_id LIMIT ? OFFSET ?`;
    return this.db
      .prepare(sql)
      .all(...params)
      .map((row) => toItem(row as Row));
  }

  async findItemsByEntry(accountingEntryId: string): Promise<ItemWithPayload[]> {
    return this.all(
      `SELECT items.*, CASE WHEN items.state = 'booked' THEN NULL ELSE payloads.payload END AS payload
         FROM items JOIN jobs USING (company_id, job_id)
         LEFT JOIN payloads USING (company_id, job_id, entry_id) WHERE items.entry_id = ?
         ORDER BY jobs.created_at DESC`,
      accountingEntryId,
    ).map(toItemWithPayload);
  }

  async auditTrail(
    accountingEntryId: string,
    filter: { companyId?: string; jobId?: string } = {},
  ): Promise<AuditEvent[]> {
    const where = ['entry_id = ?'];
    const params: SQLInputValue[] = [accountingEntryId];
    if (filter.companyId !== undefined) {
      where.push('company_id = ?');
      params.push(filter.companyId);
    }
    if (filter.jobId !== undefined) {
      where.push('job_id = ?');
      params.push(filter.jobId);
    }
    return this.all(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id`, ...params).map(
      toAuditEvent,
    );
  }

  async pruneAudit(before: string): Promise<number> {
    return this.run('DELETE FROM audit WHERE at < ?', before);
  }

  async rememberWebhook(id: string, receivedAt: string): Promise<boolean> {
    const changed = this.run(
      'INSERT INTO webhooks (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
      id,
      receivedAt,
    );
    return changed === 1;
  }

  async getValue(key: string): Promise<string | null> {
    const row = this.get('SELECT value FROM kv WHERE key = ?', key);
    return row ? String(row['value']) : null;
  }

  async setValue(key: string, value: string | null): Promise<void> {
    if (value === null) this.run('DELETE FROM kv WHERE key = ?', key);
    else
      this.run(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        key,
        value,
      );
  }

  async replaceValue(key: string, expected: string, next: string): Promise<boolean> {
    return this.run('UPDATE kv SET value = ? WHERE key = ? AND value = ?', next, key, expected) === 1;
  }
}
