/**
 * Which PostgreSQL failures are worth retrying, and how long to wait between attempts.
 *
 * A transaction that failed with one of these errors changed nothing (PostgreSQL rolled it back,
 * or the connection died before COMMIT was acknowledged), so running it again from the start is
 * safe as long as the transaction itself is idempotent. Every Store write is (see the notes in
 * `postgres-store.ts`). The one ambiguous case is a connection lost *during* COMMIT: the first
 * attempt may have committed, and the retry then finds its own work already done.
 */
import { ConfigError } from '../../errors/index.js';

/**
 * SQLSTATEs that mean "try again", with the reason. Class 08 and 57P0x are what a PostgreSQL
 * restart or failover looks like from the client; 40001/40P01 are concurrency aborts that the
 * server explicitly asks the client to retry; 53300 and 57P03 clear up once the server has room or
 * has finished starting. Anything else (constraint violations, syntax errors, LeaseLostError…)
 * would fail the same way again, so it is thrown at once.
 */
export const RETRYABLE_ERROR_CODES: Readonly<Record<string, string>> = {
  '40001': 'serialization_failure: the server aborted the transaction; retrying is the documented fix',
  '40P01': 'deadlock_detected: one of the waiting transactions was chosen as the victim',
  '55P03': 'lock_not_available: a lock timeout expired; the holder will let go',
  '08000': 'connection_exception',
  '08001': 'sqlclient_unable_to_establish_sqlconnection: the server is not up (yet)',
  '08003': 'connection_does_not_exist',
  '08004': 'sqlserver_rejected_establishment_of_sqlconnection',
  '08006': 'connection_failure: the connection broke mid-transaction',
  '08007': 'transaction_resolution_unknown: the retry finds its own work if it had committed',
  '57P01': 'admin_shutdown: the server is restarting, or pg_terminate_backend ended the session',
  '57P02': 'crash_shutdown: another backend crashed and the server is resetting',
  '57P03': 'cannot_connect_now: the server is starting up or in recovery',
  '53300': 'too_many_connections: other clients will disconnect',
};

/** Node socket errors (no SQLSTATE) seen while PostgreSQL restarts or the network blips. */
const RETRYABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** node-postgres reports a dropped connection with plain Errors; these are their messages. */
const RETRYABLE_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
];

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** True when `error` (a pg DatabaseError, a socket error or a pg connection error) is transient. */
export function isRetryablePostgresError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && (code in RETRYABLE_ERROR_CODES || RETRYABLE_SOCKET_CODES.has(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isRetryablePostgresError);
  if (error instanceof Error && RETRYABLE_MESSAGES.some((m) => error.message.includes(m))) return true;
  return false;
}

/**
 * True when the connection that produced `error` must not go back to the pool: after a socket
 * failure or a server-side termination the client is unusable.
 */
export function isConnectionBroken(error: unknown): boolean {
  const code = errorCode(error);
  if (
    code !== undefined &&
    (code.startsWith('08') || code.startsWith('57P') || RETRYABLE_SOCKET_CODES.has(code))
  )
    return true;
  return error instanceof Error && RETRYABLE_MESSAGES.some((m) => error.message.includes(m));
}

export interface PostgresRetryOptions {
  /** Attempts in all, the first included (1 disables retrying). @default 10 */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles each time. @default 100 */
  initialDelayMs?: number;
  /** Cap of one delay. With the defaults the attempts span about 20 s, a PostgreSQL restart. @default 5000 */
  maxDelayMs?: number;
}

export interface CompiledRetry {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export function compileRetry(options: PostgresRetryOptions = {}): CompiledRetry {
  const maxAttempts = options.maxAttempts ?? 10;
  const initialDelayMs = options.initialDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new ConfigError(`postgres store: retry.maxAttempts must be an integer ≥ 1 (got ${maxAttempts})`);
  if (!Number.isFinite(initialDelayMs) || initialDelayMs < 0)
    throw new ConfigError(`postgres store: retry.initialDelayMs must be ≥ 0 (got ${initialDelayMs})`);
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs)
    throw new ConfigError(`postgres store: retry.maxDelayMs must be ≥ initialDelayMs (got ${maxDelayMs})`);
  return Object.freeze({ maxAttempts, initialDelayMs, maxDelayMs });
}

/**
 * Capped exponential backoff with "full jitter" on the upper half: the delay after failed attempt
 * `attempt` (1-based) lies in [cap/2, cap], so workers that lost the same server do not all come
 * back in the same millisecond, and none retries sooner than half the nominal delay.
 */
export function retryDelayMs(
  policy: CompiledRetry,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}
