/**
 * Tryton 6 (an open-source ERP) as an accounting system, over JSON-RPC.
 * @module
 */
export { createTrytonAdapter, type TrytonAdapter, type TrytonAdapterOptions } from './adapter.js';
export {
  prepareTrytonTemplate,
  startTryton,
  trytonMissing,
  type BootstrapSummary,
  type RunningTryton,
  type TrytonBootstrapSpec,
} from './bootstrap.js';
export { trytonConfigSchema, type ParsedTrytonConfig } from './config.js';
export { trytonDescriptor } from './descriptor.js';
export { demoChart, startTrytonDemo, type TrytonDemo } from './demo.js';
