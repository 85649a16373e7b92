export type {
  AttachmentRecord,
  BookingRecord,
  FailureSummary,
  Fence,
  FetchedItem,
  ItemFailureFields,
  ItemFilter,
  ItemOutcome,
  ItemRecord,
  ItemState,
  ItemWithPayload,
  JobCounts,
  JobPatch,
  JobPhase,
  JobRecord,
  JobRef,
  JobSnapshot,
  JobStats,
  ListedItem,
  ReportRejection,
  SaveFetchedPageResult,
  SaveListedPageResult,
  Store,
} from './types.js';
export { ITEM_STATES, JOB_PHASES, phaseReached } from './types.js';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { createPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
export {
  decryptValue,
  ENCRYPTED_VALUE_PREFIX,
  encryptValue,
  isEncryptedValue,
  parseSecretsKey,
  withEncryptedValues,
  type EncryptedValuesOptions,
} from './encrypted-values.js';
