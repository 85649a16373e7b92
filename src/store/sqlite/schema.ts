/**
 * SQLite schema migrations. Each entry runs once, in order, inside a transaction; the applied
 * version is kept in `PRAGMA user_version`. Never edit an applied migration: append a new one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE jobs (
    company_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    pleo_status TEXT NOT NULL,
    vendor_based_bookkeeping INTEGER NOT NULL,
    number_of_items INTEGER NOT NULL,
    phase TEXT NOT NULL,
    list_cursor TEXT,
    data_cursor TEXT,
    final_event TEXT,
    failure_reason TEXT,
    failure_reason_type TEXT,
    lease_owner TEXT,
    fence_token INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    discovered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (company_id, job_id)
  ) WITHOUT ROWID;

  CREATE TABLE items (
    company_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    pleo_status TEXT NOT NULL,
    state TEXT NOT NULL,
    seq INTEGER,
    date TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    external_id TEXT,
    external_url TEXT,
    exported_at TEXT,
    failure_reason TEXT,
    failure_reason_type TEXT,
    reported INTEGER NOT NULL DEFAULT 0,
    report_attempts INTEGER NOT NULL DEFAULT 0,
    report_error TEXT,
    attachments TEXT,
    prefailure TEXT,
    payload TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (company_id, job_id, entry_id)
  );
  CREATE UNIQUE INDEX items_seq ON items (company_id, job_id, seq) WHERE seq IS NOT NULL;
  CREATE INDEX items_entry ON items (entry_id);

  CREATE TABLE bookings (
    company_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    external_url TEXT,
    exported_at TEXT NOT NULL,
    PRIMARY KEY (company_id, entry_id)
  ) WITHOUT ROWID;

  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // The engine's hot reads, proportional to the work left rather than to the job's size: the
  // items still to process and the outcomes not yet reported (the queries spell these predicates
  // exactly, so SQLite uses the partial indexes).
  `
  CREATE INDEX items_open ON items (company_id, job_id, seq) WHERE state IN ('planned', 'booking');
  CREATE INDEX items_unreported ON items (company_id, job_id, seq) WHERE state IN ('booked', 'failed') AND reported = 0;
  `,
  // The audit trail (see AuditEvent in ../types.ts): one row per step of an item, written in the
  // transaction of the step's own write; read per entry, pruned by age.
  `
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    company_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    at TEXT NOT NULL,
    step TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_entry ON audit (entry_id, id);
  CREATE INDEX audit_at ON audit (at);
  -- The entry's amount (in the wallet currency, minor units) as fetched, for operators' screens.
  ALTER TABLE items ADD COLUMN amount_value INTEGER;
  ALTER TABLE items ADD COLUMN amount_currency TEXT;
  `,
  // An operator's lookup of a job by id alone (`findJob`).
  `
  CREATE INDEX jobs_job ON jobs (job_id);
  `,
  // The export payload (several KB) out of the hot item row: an intent or an outcome rewrites
  // only the small row, not the payload with it. Existing payloads move over.
  `
  CREATE TABLE payloads (
    company_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (company_id, job_id, entry_id)
  );
  INSERT INTO payloads (company_id, job_id, entry_id, payload)
    SELECT company_id, job_id, entry_id, payload FROM items WHERE payload IS NOT NULL;
  ALTER TABLE items DROP COLUMN payload;
  `,
  // Pages of export items read while the job's items are still being listed (StagedPage), kept
  // until the listing is complete, by the fence of the run that read them.
  `
  CREATE TABLE staged_pages (
    company_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    fence_token INTEGER NOT NULL,
    position INTEGER NOT NULL,
    cursor TEXT,
    complete INTEGER NOT NULL,
    items TEXT NOT NULL,
    PRIMARY KEY (company_id, job_id, fence_token, position)
  );
  `,
];
