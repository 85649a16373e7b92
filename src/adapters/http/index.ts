/**
 * Generic HTTP accounting adapter and the reference receiver (the ERP side of its protocol).
 * @module
 */
export { createHttpAdapter, type HttpAdapterOptions } from './adapter.js';
export {
  startReceiver,
  type Receiver,
  type ReceiverHooks,
  type ReceiverOperation,
  type ReceiverOptions,
  type ReceiverStats,
} from './receiver.js';
export type { AttachmentRef, CreateEntryRequest, EntryRecord, ErrorBody } from './protocol.js';
