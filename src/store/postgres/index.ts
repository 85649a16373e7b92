export { createPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export type { RetryInfo } from './database.js';
export { SCHEMA_NAME_PATTERN } from './schema.js';
export { isRetryablePostgresError, RETRYABLE_ERROR_CODES, type PostgresRetryOptions } from './retry.js';
