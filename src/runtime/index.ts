/**
 * @module runtime
 * Everything needed to run the engine from a compiled configuration, in both ways of running:
 *
 * - the wiring (`wiring.ts`): the store, and per company a Pleo client, an accounting adapter and
 *   an engine;
 * - the company pool (`company-pool.ts`): when each company is polled and how many run at once,
 *   over a {@link CompanyPoller} port — shared by the daemon and `run`;
 * - in-process (`in-process.ts`): the daemon's poller that runs the jobs here, and
 *   `runCompaniesOnce` for `run --once`;
 * - scaled out (`scaled-out.ts`): the poller that enqueues on the pg-boss work queue, the worker
 *   pool that runs its messages, and `runWorker` for the `worker` command.
 *
 * The CLI parses arguments and calls one of these; the daemon (`src/server/`) takes a poller.
 */
export {
  adapterDeps,
  adapterDescriptor,
  clientOptions,
  createAdapter,
  createClient,
  createCompanyRuntime,
  loadTokens,
  oauthKey,
  openConfiguredStore,
  openEmbeddedStore,
  openPostgresStore,
  saveTokens,
  type CompanyRuntime,
  type OpenStoreOptions,
  type RuntimeHooks,
} from './wiring.js';
export { ensurePrivateDir, ensurePrivateFile, type WarnLogger } from './private-files.js';
export {
  createCompanyPool,
  type CompanyPool,
  type CompanyPoller,
  type CompanyPoolOptions,
  type PollOutcome,
  type PollTrigger,
  type SetTimeoutLike,
  type WorkerState,
} from './company-pool.js';
export {
  createInProcessPoller,
  previewPendingJobs,
  runCompaniesOnce,
  type CreateRuntime,
  type InProcessPollerOptions,
  type JobOutcome,
  type RunMetrics,
  type RunOnceOptions,
} from './in-process.js';
export {
  createEnqueueingPoller,
  openWorkQueue,
  requirePostgres,
  requireScaleOutAdapters,
  runWorker,
  startScaledOutDaemon,
  startWorkerPool,
  workQueueOptions,
  type RunWorkerOptions,
  type ScaledOutDaemon,
  type WorkerPool,
} from './scaled-out.js';
