/**
 * What the console is given: the store it reads, and from its host (the daemon or the one-off
 * `console` command) the actions it may take and the health it shows. The console itself knows
 * no Pleo client, adapter or queue.
 */
import type { Registry } from 'prom-client';

import type { PreviewResult } from '../engine/index.js';
import type { JobRecord, Store } from '../store/index.js';

export interface ConsoleCompany {
  id: string;
  name: string;
}

/** How one failed entry maps now, with the current configuration. */
export interface RetryChange {
  accountingEntryId: string;
  /** `type: reason` it failed with. */
  before: string;
  /** `would be booked`, or why it still fails. */
  now: string;
  fixed: boolean;
}

export interface RetryPlan {
  changes: RetryChange[];
  /** Says what pressing "Retry" does (a new export job, run here or by the workers). */
  effect: string;
}

export interface ConsoleActions {
  /** Jobs waiting at Pleo (not yet claimed), oldest first. */
  pendingJobs(companyId: string): Promise<{ id: string; createdAt: string; numberOfItems: number }[]>;
  /** The dry run of a job: what it would book and what would fail (writes nothing). */
  preview(companyId: string, jobId: string): Promise<PreviewResult>;
  /** What a retry of `job`'s failed entries would do. */
  planRetry(job: JobRecord): Promise<RetryPlan>;
  /** Creates the new export job of `job`'s failed entries and starts it; returns its id. */
  retry(job: JobRecord): Promise<{ jobId: string; message: string }>;
}

export interface CompanyHealth extends ConsoleCompany {
  /** The last poll this process made of the company (null: none yet, or not a daemon). */
  lastPoll: { at: string; trigger: string; outcome: string } | null;
  /** The scheduler's state of the company (idle, queued, running, stopped), when a daemon. */
  state: string | null;
}

export interface ConsoleHealth {
  mode: 'embedded' | 'scaled-out' | 'offline';
  companies: CompanyHealth[];
  /** The daemon's metrics (Pleo requests, items, polls, queue, takeovers); absent offline. */
  metrics?: Registry;
}

export interface ConsoleLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConsoleOptions {
  store: Store;
  companies: readonly ConsoleCompany[];
  /** The sign-in token; required unless `loopback`. */
  token: string | undefined;
  /** True when the console listens on a loopback address only (then no token is needed). */
  loopback: boolean;
  /** How often live views re-read the store, in ms. @default 1000 */
  refreshMs?: number;
  /** The public base URL, when behind a proxy (an allowed origin for actions). */
  publicUrl?: string;
  actions?: ConsoleActions;
  health?: () => Promise<ConsoleHealth>;
  /** @default Date.now */
  now?: () => number;
  logger?: ConsoleLogger;
}
