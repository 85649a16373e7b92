/**
 * Tryton 6 (an open-source ERP) as an accounting system, over JSON-RPC.
 * @module
 */
export { createTrytonAdapter, type TrytonAdapter, type TrytonAdapterOptions } from './adapter.js';
export {
  createTrytonDatabase,
  freeLoopbackPort,
  prepareTrytonTemplate,
  startTryton,
  trytonMissing,
  type BootstrapSummary,
  type RunningTryton,
  type TrytonBootstrapSpec,
} from './bootstrap.js';
export {
  trytonConfigSchema,
  resolveTrytonPassword,
  type ParsedTrytonConfig,
  type TrytonConfig,
} from './config.js';
export { checkTryton, trytonDescriptor } from './descriptor.js';
export { demoChart, startTrytonDemo, type TrytonDemo } from './demo.js';
export { TrytonRpc, TrytonUserError } from './rpc.js';
