/**
 * The connection pool and the one way the store talks to it: `transaction(fn)` runs `fn` in a
 * transaction on one pooled connection and, when it fails with a transient error (see
 * `retry.ts`), runs it again from the start on a fresh connection after a jittered backoff.
 *
 * `fn` must therefore be safe to run more than once: it may not keep state across attempts, and
 * its writes must be idempotent or guarded (every fenced write re-checks its fence).
 */
import pg from 'pg';

import { type CompiledRetry, isConnectionBroken, isRetryablePostgresError, retryDelayMs } from './retry.js';

export type Row = Record<string, unknown>;

/** What a transaction body may do: run statements on the transaction's connection. */
export interface Tx {
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Like `query`, returning the number of rows the statement affected. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface RetryInfo {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/**
 * Test seams around COMMIT, told the attempt (1-based). Throwing a transient error from
 * `beforeCommit` fails the attempt before COMMIT (it rolls back); from `afterCommit`, after COMMIT
 * succeeded, as when the acknowledgement is lost on the way back.
 */
export interface CommitFaults {
  beforeCommit?: (attempt: number) => void;
  afterCommit?: (attempt: number) => void;
}

export interface DatabaseOptions {
  connectionString: string;
  max: number;
  applicationName: string;
  retry: CompiledRetry;
  onRetry: (info: RetryInfo) => void;
  onPoolError: (error: Error) => void;
  sleep: (ms: number) => Promise<void>;
  faults: CommitFaults;
}

export class Database {
  readonly pool: pg.Pool;
  private readonly options: DatabaseOptions;

  constructor(options: DatabaseOptions) {
    this.options = options;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max,
      application_name: options.applicationName,
      // A connection the server dropped while it sat idle is replaced, not handed out again.
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    // An idle pooled connection that dies (server restart, pg_terminate_backend, network) emits
    // `error` on the pool; unhandled, that event would crash the process.
    this.pool.on('error', (error) => options.onPoolError(error));
    // A checked-out connection that dies between two statements emits `error` on the client, which
    // pg-pool does not listen to while the client is lent out. The statement that follows fails
    // with "not queryable", which the retry loop handles.
    this.pool.on('connect', (client) => {
      client.on('error', (error) => options.onPoolError(error));
    });
  }

  /** One statement outside an explicit transaction (reads, and single-statement writes). */
  async query(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.transaction((tx) => tx.query(sql, params), { explicit: false });
  }

  /** Runs `fn` in a transaction, retried on transient errors; `attempt` is 1 on the first run. */
  async transaction<T>(
    fn: (tx: Tx, attempt: number) => Promise<T>,
    mode: { explicit: boolean } = { explicit: true },
  ): Promise<T> {
    const { retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt((tx) => fn(tx, attempt), mode.explicit, attempt);
      } catch (error) {
        if (attempt >= retry.maxAttempts || !isRetryablePostgresError(error)) throw error;
        const delayMs = retryDelayMs(retry, attempt);
        this.options.onRetry({ attempt, delayMs, error });
        await this.options.sleep(delayMs);
      }
    }
  }

  private async attempt<T>(fn: (tx: Tx) => Promise<T>, explicit: boolean, attempt: number): Promise<T> {
    const client = await this.pool.connect();
    const tx: Tx = {
      query: async (sql, params = []) => (await client.query<Row>(sql, params as unknown[])).rows,
      execute: async (sql, params = []) => (await client.query(sql, params as unknown[])).rowCount ?? 0,
    };
    let broken: unknown;
    try {
      if (!explicit) return await fn(tx);
      await client.query('BEGIN');
      try {
        const result = await fn(tx);
        this.options.faults.beforeCommit?.(attempt);
        await client.query('COMMIT');
        this.options.faults.afterCommit?.(attempt);
        return result;
      } catch (error) {
        if (isConnectionBroken(error)) throw error;
        // ROLLBACK failing means the connection is gone; the original error is what matters.
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
        throw error;
      }
    } catch (error) {
      if (isConnectionBroken(error)) broken = error;
      throw error;
    } finally {
      // A broken connection is destroyed instead of going back to the pool.
      client.release(broken === undefined ? undefined : toError(broken));
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended && !this.pool.ending) await this.pool.end();
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
