/**
 * @module console
 * The web console: server-rendered pages over the store for the people who run exports — jobs
 * and their items, failures by reason, an entry's audit trail, preview and retry, health.
 * Mounted by the daemon under `/console`, or served alone (`pleo-export console`).
 */
export { createWebConsole, type WebConsole } from './console.js';
export { isLoopbackHost } from './auth.js';
export { startConsoleServer, type ConsoleServer } from './server.js';
export type {
  CompanyHealth,
  ConsoleActions,
  ConsoleCompany,
  ConsoleHealth,
  ConsoleLogger,
  ConsoleOptions,
  RetryChange,
  RetryPlan,
} from './types.js';
