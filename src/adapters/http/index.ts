/**
 * Generic HTTP accounting adapter and its reference receiver.
 * @module
 */
export { createHttpAdapter, type HttpAdapterOptions } from './adapter.js';
export {
  startReferenceReceiver,
  type RandomFault,
  type ReceiverFaults,
  type ReceiverOperation,
  type ReceiverStats,
  type ReferenceReceiver,
  type ReferenceReceiverOptions,
} from './reference-receiver.js';
export {
  classifyHttpError,
  PROTOCOL_VERSION,
  type AttachmentRef,
  type CreateEntryRequest,
  type EntryRecord,
  type ErrorBody,
} from './protocol.js';
