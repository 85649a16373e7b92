export type {
  AccountingAdapter,
  AdapterContext,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from './types.js';
