/**
 * Test tools, shipped as the package's `pleo-export/testing` subpath: an in-memory accounting
 * system and the reference receiver with fault injection. Production code never imports this
 * folder (ESLint refuses it); tests, benchmarks and users' own tests do.
 * @module
 */
export {
  createMemoryAdapter,
  type MemoryAdapter,
  type MemoryAdapterOptions,
  type MemoryBooking,
} from './memory-adapter.js';
export {
  startReferenceReceiver,
  type RandomFault,
  type ReceiverFaults,
  type ReferenceReceiver,
  type ReferenceReceiverOptions,
  type ReferenceReceiverStats,
} from './reference-receiver.js';
