export { xeroDescriptor, checkXero } from './descriptor.js';
export { createXeroAdapter, type XeroAdapter, type XeroAdapterInternals } from './adapter.js';
export { compileXeroConfig, xeroConfigSchema, type CompiledXeroConfig, type XeroConfig } from './config.js';
export type { MappingConfig, XeroDocument } from './mapping.js';
