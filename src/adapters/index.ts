export type {
  AccountingAdapter,
  AdapterContext,
  ItemRefusal,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from './types.js';
export { classifyAccountingError, type AccountingFault } from './errors.js';
export { createHledgerAdapter, type HledgerAdapter, type HledgerAdapterOptions } from './hledger/index.js';
export {
  createHttpAdapter,
  startReferenceReceiver,
  type HttpAdapterOptions,
  type ReferenceReceiver,
  type ReferenceReceiverOptions,
} from './http/index.js';
