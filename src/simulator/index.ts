/**
 * The Pleo Export API v3 simulator: an HTTP server that behaves like Pleo's Export API as the
 * OpenAPI file and docs/decisions.md describe it, with OAuth, webhooks, fault injection,
 * a controllable clock and an admin API. See README.md in this folder.
 *
 * @example
 * import { ManualClock, startSimulator } from 'pleo-export/simulator';
 * const sim = await startSimulator({ seed: 7, itemsPerJob: 10_000, clock: new ManualClock() });
 * console.log(sim.url, sim.companies[0]!.apiKey);
 * sim.admin.failNext('updateJobItems', 2); // the next two PUTs get a 503
 * await sim.close();
 *
 * @module
 */
export { startSimulator } from './server.js';
export type { RunningSimulator } from './server.js';
export type { SimulatorOptions } from './options.js';
export type { IncludeItems, ItemSnapshot, JobSnapshot, SimulatorAdmin, SimulatorSnapshot } from './admin.js';
export { ManualClock, OffsetClock, systemClock } from './clock.js';
/** The simulator's seeded PRNG (mulberry32), for reproducible fault and test sequences. */
export { Rng } from './data/index.js';
export type { Clock } from './clock.js';
export { DEFAULT_FAULT_MIX, FAULT_ENDPOINTS, parseFaultRule } from './faults.js';
export type { Fault, FaultConfig, FaultEndpoint, FaultRule } from './faults.js';
export type { OAuthClient } from './oauth.js';
export type { CreateJobInput, Company } from './state.js';
export type { ItemStatus, StatusChange } from './items.js';
export type { JobEventRecord } from './job.js';
export type { RequestLogEntry, RequestCounters } from './log.js';
export type { DeliveryAttempt } from './webhooks.js';
export { EXPORT_JOB_CREATED, signWebhook } from './webhooks.js';
export { simulateCommand } from './cli.js';
export type { SimulateCommandIo } from './cli.js';
export { catalog } from './data/index.js';
export type { Catalog, DataProfile } from './data/index.js';
