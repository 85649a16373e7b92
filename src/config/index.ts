/**
 * @module config
 * The configuration file's schema and its loading (file → environment → flags).
 */
export { configSchema, companySchema, adapterSchema, type ConfigInput, type ParsedConfig } from './schema.js';
export {
  describeIssues,
  loadConfig,
  maskSecret,
  type CompiledCompany,
  type CompiledConfig,
  type LoadOptions,
  type Overrides,
} from './load.js';
