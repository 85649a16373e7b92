export type {
  AccountingAdapter,
  BatchEntry,
  AdapterContext,
  ItemRefusal,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from './types.js';
export type {
  AdapterCheck,
  AdapterDemo,
  AdapterDeps,
  AdapterDescriptor,
  DemoContext,
  AdapterKeyValue,
} from './descriptor.js';
export {
  adapterBlockSchema,
  adapterConfigSchema,
  adapterDescriptors,
  adapterFieldKinds,
  adapterKeyValue,
  adapterTypes,
  describeAdapterTypes,
  findAdapter,
  registerAdapter,
  requireAdapter,
  type AdapterConfig,
} from './registry.js';
export {
  httpUrlField,
  pathField,
  positiveIntField,
  secretField,
  type ConfigFieldKinds,
} from './config-fields.js';
export { classifyAccountingError, jobFailureOf, type AccountingFault } from './errors.js';
export { createHledgerAdapter, type HledgerAdapter, type HledgerAdapterOptions } from './hledger/index.js';
export { hledgerAdapter, type HledgerConfig } from './hledger/descriptor.js';
export {
  createHttpAdapter,
  startReceiver,
  type HttpAdapterOptions,
  type Receiver,
  type ReceiverHooks,
  type ReceiverOperation,
  type ReceiverOptions,
  type ReceiverStats,
} from './http/index.js';
export { httpAdapter, type HttpConfig } from './http/descriptor.js';
