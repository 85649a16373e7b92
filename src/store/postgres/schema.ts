/**
 * PostgreSQL schema migrations. Each entry runs once, in order; the applied versions are rows of
 * `<schema>.migrations`. Never edit an applied migration: append a new one.
 *
 * The statements are written without a schema name: `migrate` sets `search_path` to the store's
 * schema for the migration transaction.
 *
 * Decisions (migration 1):
 * - Keys are constraints, not conventions: primary keys (company_id, job_id) on jobs,
 *   (company_id, job_id, entry_id) on items, (company_id, entry_id) on bookings, and a unique
 *   (company_id, job_id, seq) for planned items. Two workers can never both insert an item or a
 *   booking, whatever the isolation level.
 * - `phase` and `state` are checked against the port's lists, so a bug cannot store a state the
 *   engine does not know. A new phase or state needs a migration that widens the check.
 * - Timestamps are `text` (ISO-8601 as the port carries them), exactly like the embedded store:
 *   they round-trip byte for byte, and ISO strings of one format sort like instants.
 * - Key and ordering columns are `COLLATE "C"`: byte order, as in SQLite and in a JavaScript sort,
 *   whatever the database's locale. The processing order (date, then accountingEntryId) must not
 *   depend on where the database was initialised (a UUID's dashes are ignored by en_US collation).
 * - `payload`, `attachments` and `prefailure` are `text` holding JSON, not `jsonb`: the database
 *   never looks inside them, and text skips jsonb's parse on write and re-serialisation on read
 *   (the payload is the biggest column and is written once, read once, then cleared).
 * - Partial indexes keep the engine's hot reads proportional to the work left, not to the job:
 *   `items_open` serves itemsToProcess/lowestOpenSeq, `items_unreported` serves
 *   unreportedOutcomes. Without them, each call of a 100,000-item job rescans the done prefix.
 *   Their predicates include `seq IS NOT NULL` so that only queries on `seq` can use them: a
 *   point update such as markBooking's (`… AND state IN ('planned', 'booking')`) would otherwise
 *   match `items_open`, which the planner, misjudging a fresh job as one row, preferred to the
 *   primary key — and scanned every open item of the job for one row.
 * - No foreign key from items to jobs: every item write already holds the job's row lock (the
 *   fence), and a per-row FK check would slow the 100,000-row inserts for nothing.
 */
import type { Tx } from './database.js';

export interface Migration {
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    name: 'initial',
    sql: `
    CREATE TABLE jobs (
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      created_at text COLLATE "C" NOT NULL,
      pleo_status text NOT NULL,
      vendor_based_bookkeeping boolean NOT NULL,
      number_of_items integer NOT NULL,
      phase text NOT NULL CHECK (phase IN
        ('discovered', 'claiming', 'claimed', 'items_listed', 'planned', 'completing', 'done')),
      list_cursor text,
      data_cursor text,
      final_event text,
      failure_reason text COLLATE "C",
      failure_reason_type text COLLATE "C",
      lease_owner text,
      fence_token integer NOT NULL DEFAULT 0,
      runs integer NOT NULL DEFAULT 0,
      discovered_at text NOT NULL,
      updated_at text NOT NULL,
      completed_at text,
      PRIMARY KEY (company_id, job_id)
    );
    CREATE INDEX jobs_phase ON jobs (phase, created_at, job_id);

    CREATE TABLE items (
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      entry_id text COLLATE "C" NOT NULL,
      pleo_status text NOT NULL,
      state text NOT NULL CHECK (state IN ('listed', 'skipped', 'planned', 'booking', 'booked', 'failed')),
      seq integer,
      date text COLLATE "C",
      attempt integer NOT NULL DEFAULT 0,
      external_id text,
      external_url text,
      exported_at text,
      failure_reason text COLLATE "C",
      failure_reason_type text COLLATE "C",
      reported boolean NOT NULL DEFAULT false,
      report_attempts integer NOT NULL DEFAULT 0,
      report_error text,
      attachments text,
      prefailure text,
      payload text,
      updated_at text NOT NULL,
      PRIMARY KEY (company_id, job_id, entry_id)
    );
    CREATE UNIQUE INDEX items_seq ON items (company_id, job_id, seq) WHERE seq IS NOT NULL;
    CREATE INDEX items_open ON items (company_id, job_id, seq)
      WHERE seq IS NOT NULL AND state IN ('planned', 'booking');
    CREATE INDEX items_unreported ON items (company_id, job_id, seq)
      WHERE seq IS NOT NULL AND NOT reported AND state IN ('booked', 'failed');
    CREATE INDEX items_entry ON items (entry_id);

    CREATE TABLE bookings (
      company_id text COLLATE "C" NOT NULL,
      entry_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      external_id text NOT NULL,
      external_url text,
      exported_at text NOT NULL,
      PRIMARY KEY (company_id, entry_id)
    );

    CREATE TABLE webhooks (
      id text PRIMARY KEY,
      received_at text NOT NULL
    );

    CREATE TABLE kv (
      key text PRIMARY KEY,
      value text NOT NULL
    );
    `,
  },
  {
    // The audit trail (AuditEvent in ../types.ts): one row per step of an item, inserted by the
    // statement (or in the transaction) of the step's own write; read per entry, pruned by age.
    name: 'audit',
    sql: `
    CREATE TABLE audit (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      entry_id text COLLATE "C" NOT NULL,
      at text COLLATE "C" NOT NULL,
      step text NOT NULL,
      attempt integer NOT NULL DEFAULT 0,
      detail text NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_entry ON audit (entry_id, id);
    CREATE INDEX audit_at ON audit (at);
    -- The entry's amount (in the wallet currency, minor units) as fetched, for operators' screens.
    ALTER TABLE items ADD COLUMN amount_value bigint, ADD COLUMN amount_currency text;
    `,
  },
  {
    // Write markers: a fenced write whose COMMIT acknowledgement was lost recognises its own
    // committed work on the retry (postgres-store.ts, Retries) and returns the kept result.
    // `at` is epoch milliseconds; each write deletes its job's markers older than an hour.
    // jobs_job: an operator's lookup of a job by id alone (`findJob`).
    name: 'write_markers',
    sql: `
    CREATE TABLE writes (
      write_id text PRIMARY KEY,
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      at bigint NOT NULL,
      result text
    );
    CREATE INDEX writes_job_at ON writes (company_id, job_id, at);
    CREATE INDEX jobs_job ON jobs (job_id);
    `,
  },
  {
    // The export payload (several KB) out of the hot item row: an intent or an outcome writes a
    // new version of the small row only, not of the payload with it. Existing payloads move over.
    name: 'payloads',
    sql: `
    CREATE TABLE payloads (
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      entry_id text COLLATE "C" NOT NULL,
      payload text NOT NULL,
      PRIMARY KEY (company_id, job_id, entry_id)
    );
    INSERT INTO payloads (company_id, job_id, entry_id, payload)
      SELECT company_id, job_id, entry_id, payload FROM items WHERE payload IS NOT NULL;
    ALTER TABLE items DROP COLUMN payload;
    `,
  },
  {
    // Pages of export items read while the job's items are still being listed (StagedPage), kept
    // until the listing is complete, by the fence of the run that read them.
    name: 'staged_pages',
    sql: `
    CREATE TABLE staged_pages (
      company_id text COLLATE "C" NOT NULL,
      job_id text COLLATE "C" NOT NULL,
      fence_token bigint NOT NULL,
      position integer NOT NULL,
      cursor text,
      complete boolean NOT NULL,
      items text NOT NULL,
      PRIMARY KEY (company_id, job_id, fence_token, position)
    );
    `,
  },
];

/** `"name"`, for a schema name already checked by `assertSchemaName`. */
export function quoteIdent(name: string): string {
  return `"${name}"`;
}

/**
 * A schema name we accept: a lower-case SQL identifier of at most 63 bytes (PostgreSQL's limit),
 * so it can be spliced into statements unescaped. The one definition: the configuration
 * (`postgres.schema`, `postgres.queueSchema`), this store and the work queue all check with it.
 */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Lower-case SQL identifiers only, so the name can be spliced into statements. */
export function isValidSchemaName(name: string): boolean {
  return SCHEMA_NAME_PATTERN.test(name);
}

/**
 * Brings `schema` up to the newest migration in one transaction. A transaction-level advisory lock
 * keyed by the schema name serialises workers that start together: the first one migrates, the
 * others wait, then find nothing left to do. The lock is released by COMMIT or ROLLBACK, so a
 * worker that dies mid-migration leaves neither a lock nor a half-applied migration behind.
 *
 * Throws when the database is newer than this code (a worker from an older release must not write
 * to a schema it does not know).
 */
export async function migrateSchema(tx: Tx, schema: string): Promise<number[]> {
  const s = quoteIdent(schema);
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`pleo-export:migrate:${schema}`]);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await tx.query(
    `CREATE TABLE IF NOT EXISTS ${s}.migrations (
       version integer PRIMARY KEY,
       name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const rows = await tx.query(`SELECT COALESCE(MAX(version), 0) AS v FROM ${s}.migrations`);
  const current = Number(rows[0]?.['v'] ?? 0);
  if (current > POSTGRES_MIGRATIONS.length) {
    throw new Error(
      `postgres store: schema ${schema} is at migration ${current}, newer than this pleo-export knows ` +
        `(${POSTGRES_MIGRATIONS.length}); upgrade pleo-export on this worker`,
    );
  }
  const applied: number[] = [];
  if (current === POSTGRES_MIGRATIONS.length) return applied;
  await tx.query(`SET LOCAL search_path TO ${s}`);
  for (let version = current + 1; version <= POSTGRES_MIGRATIONS.length; version++) {
    const migration = POSTGRES_MIGRATIONS[version - 1];
    if (!migration) break;
    await tx.query(migration.sql);
    await tx.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [version, migration.name]);
    applied.push(version);
  }
  return applied;
}
