/**
 * pleo-export's public API (the package's `"."` export), an explicit list (house style rule 13):
 * the engine, the Pleo client, the stores, the adapter registry, the configuration loader and the
 * error taxonomy. More lives on subpaths: `pleo-export/client` (the whole client),
 * `pleo-export/simulator` (the Pleo simulator) and `pleo-export/testing` (test tools: an in-memory
 * accounting system and the reference receiver with fault injection).
 *
 * @example
 * import { createEngine, createPleoClient, createSqliteStore, loadConfig, requireAdapter } from 'pleo-export';
 *
 * @module
 */

// The engine: detect, claim, validate, list, fetch, plan, book, report, complete; preview.
export {
  createEngine,
  previewJob,
  type Engine,
  type EngineEvent,
  type EngineLogger,
  type EngineOptions,
  type EngineStep,
  type JobResult,
  type PreviewItem,
  type PreviewResult,
  type ReceiptPolicy,
} from './engine/index.js';

// The Pleo Export API client (its whole surface: `pleo-export/client`).
export {
  compileRetryPolicy,
  createPleoClient,
  DEFAULT_BASE_URL,
  DEFAULT_RETRY_POLICY,
  OAuthTokenProvider,
  type ClientAuth,
  type ExportItem,
  type ExportJob,
  type ExportJobFailureReasonType,
  type ExportJobItem,
  type ExportJobItemFailureReasonType,
  type PleoClient,
  type PleoClientOptions,
  type RetryPolicy,
  type TokenProvider,
} from './client/index.js';

// The stores: embedded SQLite and PostgreSQL behind one port.
export {
  createPostgresStore,
  createSqliteStore,
  type PostgresStoreOptions,
  type SqliteStoreOptions,
  type Store,
} from './store/index.js';

// Accounting systems: the adapter port, the registry of descriptors, the fault policy.
export {
  adapterDescriptors,
  adapterTypes,
  classifyAccountingError,
  createHledgerAdapter,
  createHttpAdapter,
  findAdapter,
  jobFailureOf,
  registerAdapter,
  requireAdapter,
  type AccountingAdapter,
  type AccountingFault,
  type AdapterContext,
  type AdapterDeps,
  type AdapterDescriptor,
  type BatchEntry,
  type RecordedEntry,
  type RecordOutcome,
  type ValidationResult,
} from './adapters/index.js';

// Configuration: one schema, loaded from file → environment → flags.
export { loadConfig, type CompiledCompany, type CompiledConfig, type LoadOptions } from './config/index.js';

// The error taxonomy: stable codes, explicit retryability.
export {
  AccountingSystemError,
  AuthError,
  ConfigError,
  ConflictError,
  describeError,
  DownloadRefusedError,
  ERROR_CODES,
  ExportError,
  FileSizeMismatchError,
  FileTooLargeError,
  InvalidRequestError,
  isConflictError,
  isExportError,
  isNotFoundError,
  LeaseLostError,
  MalformedResponseError,
  NotFoundError,
  PaginationError,
  PleoApiError,
  RateLimitError,
  ResponseTooLargeError,
  ServerError,
  TransportError,
  type ErrorCode,
  type ExportErrorOptions,
} from './errors/index.js';
