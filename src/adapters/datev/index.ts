/**
 * DATEV EXTF "Buchungsstapel" files: the adapter, its descriptor for the registry, and the format
 * validator (also used by `check` and the tests).
 * @module
 */
export {
  createDatevAdapter,
  type DatevAdapter,
  type DatevAdapterOptions,
  type FaultHooks,
} from './adapter.js';
export { MANIFEST_NAME, type Manifest, type ManifestFile } from './batches.js';
export { COLUMNS } from './columns.js';
export { decodeCp1252, encodeCp1252, toCp1252Text } from './cp1252.js';
export { datevDescriptor, type DatevConfig } from './descriptor.js';
export { datevAmount } from './format.js';
export {
  describeProblems,
  parseLine,
  validateDatevFile,
  type DatevProblem,
  type ParsedBatch,
} from './validate.js';
