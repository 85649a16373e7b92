/**
 * The work queue of the scaled-out mode: one pg-boss queue, `pleo-export.company`, whose messages
 * say "run this company once" (`{ companyId }`). We write no queue or lease protocol of our own;
 * every distribution guarantee below is a pg-boss queue policy or worker feature:
 *
 * - **One company at a time, companies in parallel**: the queue's policy is `key_strict_fifo` with
 *   `singletonKey` = companyId. pg-boss hands out a key's messages one at a time, oldest first, and
 *   holds back a key's later messages while one is active or waiting for a retry; other keys stay
 *   fetchable. Within a run, the engine takes the company's Pleo jobs oldest first, one at a time.
 * - **Dead workers**: the queue has `heartbeatSeconds`. A worker refreshes its message's heartbeat
 *   while the handler runs; pg-boss's supervisor fails a message whose heartbeat went stale (kill -9,
 *   lost network, a process paused) and retries it, so another worker resumes the company from the
 *   store within about `heartbeatSeconds + superviseIntervalSeconds`.
 * - **Retries**: a run that throws is retried by pg-boss with capped exponential backoff, without a
 *   limit that matters (a message that failed for good would hold back its company forever under
 *   `key_strict_fifo`; a permanent fault is surfaced by logs, `jobs` and metrics instead).
 * - **Late writers**: a worker whose claim lapsed finds out at its next heartbeat (pg-boss aborts
 *   the message's signal) or at its next store write (the store's fence throws `LeaseLostError`);
 *   pg-boss settles only the attempt it handed out, so the late worker's completion changes nothing.
 *
 * Deduplication: `enqueue` sends a message only when none of the company's messages is waiting
 * (created or retry). A message that is running does not count: the run may already have passed
 * the job the new message is about, so the new one queues behind it. Two enqueuers racing can both
 * send; that costs one extra (idempotent) run, nothing else.
 */
import { hostname } from 'node:os';

import { PgBoss, type Job, type QueueResult } from 'pg-boss';
import { z } from 'zod';

import { ConfigError } from '../errors/index.js';
import { SCHEMA_NAME_PATTERN } from '../store/index.js';

/** The pg-boss queue holding "run this company once" messages. */
export const COMPANY_QUEUE = 'pleo-export.company';

/** Why a company was enqueued (logs only). */
export type EnqueueReason = 'poll' | 'webhook' | 'trigger' | 'startup' | 'manual';

/** One message: run the company's eligible jobs once, oldest first. */
export interface WorkMessage {
  companyId: string;
  reason: EnqueueReason;
}

const wholeNumber = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The queue's settings, each with its limits and default: their one definition. The configuration
 * file's `postgres` block takes `queueSchema`, `heartbeatSeconds`, `superviseIntervalSeconds`,
 * `pollIntervalMs` and `retryDelayMaxSeconds` from these fields (`config/schema.ts`).
 */
export const queueSettings = {
  /**
   * Schema of pg-boss's tables: a lower-case identifier of at most 50 characters (pg-boss refuses
   * longer names, with an assertion). @default 'pleo_export_queue'
   */
  schema: z
    .string()
    .regex(SCHEMA_NAME_PATTERN, { error: 'expected a lower-case identifier ([a-z_][a-z0-9_]*)' })
    .max(50, { error: 'expected at most 50 characters (pg-boss’s limit)' })
    .default('pleo_export_queue'),
  /**
   * How long a message may go without a heartbeat before pg-boss gives it to another worker.
   * pg-boss's minimum is 10. @default 30
   */
  heartbeatSeconds: wholeNumber(10, 3600).default(30),
  /** How often stale heartbeats are looked for (pg-boss supervise and monitor interval). @default 15 */
  superviseIntervalSeconds: wholeNumber(1, 3600).default(15),
  /** How often an idle worker asks for a message, in ms. pg-boss's minimum is 500. @default 2000 */
  pollIntervalMs: wholeNumber(500, 600_000).default(2000),
  /** Longest pause between retries of a failing run (backoff from 1 s, doubled). @default 300 */
  retryDelayMaxSeconds: wholeNumber(1, 86_400).default(300),
  /**
   * Longest a single run may take before pg-boss fails and retries it (`expireInSeconds`; pg-boss's
   * maximum is 24 h). Heartbeats, not this, detect dead workers. @default 86400
   */
  maxRunSeconds: wholeNumber(60, 86_400).default(86_400),
  /** Connections of pg-boss's own pool in this process. @default 4 */
  poolMax: wholeNumber(2, 100).default(4),
};

const queueSettingsSchema = z.object(queueSettings);

export interface WorkQueueOptions extends z.input<typeof queueSettingsSchema> {
  /** libpq URL of the shared database. */
  connectionString: string;
  /** `application_name` of the connections. @default 'pleo-export-queue' */
  applicationName?: string;
  /** Told about pg-boss's background errors (lost connections, failed heartbeats). @default ignore */
  onError?: (error: Error) => void;
}

/** Messages in the queue, from pg-boss's counts (refreshed by its monitor every supervise interval). */
export interface QueueDepth {
  /** Waiting to run: new, or waiting for a retry. */
  queued: number;
  /** Of `queued`, those a worker may take now. */
  ready: number;
  /** Being run by a worker. */
  active: number;
  /** Failed for good (should stay 0: retries have no practical limit). */
  failed: number;
}

/** A waiting message as operators see it (`pleo-export jobs`). */
export interface WaitingMessage {
  id: string;
  companyId: string;
  /** `retry`: an earlier run of it died or failed; it runs again after its backoff. */
  state: 'created' | 'retry';
  /** Runs of it that ended without completing it (crash, lost heartbeat, error, shutdown). */
  failedRuns: number;
  createdOn: Date;
  /** What the last failed run left (pg-boss stores the error). */
  lastError: string | null;
}

/** What a handler gets with each message. */
export interface Delivery {
  message: WorkMessage;
  /** 0 the first time; higher when an earlier run of this message died or failed. */
  retryCount: number;
  /** Aborted when pg-boss finds the claim gone (heartbeat lost) or gives up waiting on shutdown. */
  signal: AbortSignal;
}

export interface WorkQueue {
  readonly name: string;
  /** Connects, installs or upgrades pg-boss's schema, and creates or updates the queue. */
  start(): Promise<void>;
  /** Asks for one run of the company; `already_queued` when a run of it is waiting already. */
  enqueue(companyId: string, reason: EnqueueReason): Promise<'queued' | 'already_queued'>;
  /** Starts taking messages: `concurrency` companies at once in this process. */
  work(concurrency: number, handler: (delivery: Delivery) => Promise<void>): Promise<void>;
  depth(): Promise<QueueDepth>;
  /** Messages waiting to run (new or waiting for a retry), oldest first, at most `limit`. */
  waiting(limit: number): Promise<WaitingMessage[]>;
  /**
   * Stops taking messages and waits up to `graceMs` for running handlers, then fails what still
   * runs (pg-boss retries it elsewhere) and closes the connections.
   */
  stop(graceMs: number): Promise<void>;
}

/**
 * Creates the work queue. Nothing connects until `start()`.
 *
 * @example
 * const queue = createWorkQueue({ connectionString: process.env.DATABASE_URL! });
 * await queue.start();
 * await queue.enqueue(companyId, 'webhook');
 */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const settings = compileQueueOptions(options);
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema: settings.schema,
    application_name: options.applicationName ?? 'pleo-export-queue',
    max: settings.poolMax,
    superviseIntervalSeconds: settings.superviseIntervalSeconds,
    monitorIntervalSeconds: settings.superviseIntervalSeconds,
    // No cron schedules: detection is ours (serve's poller and webhooks).
    schedule: false,
    instanceName: `pleo-export@${hostname()}`,
  });
  boss.on('error', (error) => settings.onError(error));

  const queueOptions = {
    policy: 'key_strict_fifo' as const,
    heartbeatSeconds: settings.heartbeatSeconds,
    expireInSeconds: settings.maxRunSeconds,
    retryLimit: RETRY_LIMIT,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: settings.retryDelayMaxSeconds,
    // A completed message is worth nothing once it ran (the store keeps the history).
    deleteAfterSeconds: 86_400,
  };

  return {
    name: COMPANY_QUEUE,
    async start() {
      // A worker may start while PostgreSQL restarts: try for about a minute before giving up.
      await boss.start({ attempts: 6 });
      const existing = await boss.getQueue(COMPANY_QUEUE);
      if (existing === null) {
        await boss.createQueue(COMPANY_QUEUE, queueOptions);
        return;
      }
      if (existing.policy !== 'key_strict_fifo') {
        throw new ConfigError(
          `queue ${COMPANY_QUEUE} exists with policy "${existing.policy}", not key_strict_fifo: drop schema ${settings.schema} and start again`,
        );
      }
      // Timings come from the configuration: the last process started with a change applies it.
      const { policy: _policy, ...mutable } = queueOptions;
      if (
        existing.heartbeatSeconds !== mutable.heartbeatSeconds ||
        existing.expireInSeconds !== mutable.expireInSeconds ||
        existing.retryDelayMax !== mutable.retryDelayMax ||
        existing.retryLimit !== mutable.retryLimit ||
        existing.deleteAfterSeconds !== mutable.deleteAfterSeconds
      ) {
        await boss.updateQueue(COMPANY_QUEUE, mutable);
      }
    },

    async enqueue(companyId, reason) {
      const waiting = await boss.findJobs(COMPANY_QUEUE, { key: companyId, queued: true, limit: 1 });
      if (waiting.length > 0) return 'already_queued';
      const message: WorkMessage = { companyId, reason };
      await boss.send(COMPANY_QUEUE, message, { singletonKey: companyId });
      return 'queued';
    },

    async work(concurrency, handler) {
      await boss.work<WorkMessage>(
        COMPANY_QUEUE,
        {
          localConcurrency: concurrency,
          batchSize: 1,
          pollingIntervalSeconds: settings.pollIntervalMs / 1000,
        },
        async (jobs: Job<WorkMessage>[]) => {
          for (const job of jobs) {
            await handler({
              message: parseMessage(job.data),
              retryCount: job.retryCount,
              signal: job.signal,
            });
          }
        },
      );
    },

    async depth() {
      const queue = await boss.getQueue(COMPANY_QUEUE);
      return queue === null ? { queued: 0, ready: 0, active: 0, failed: 0 } : toDepth(queue);
    },

    async waiting(limit) {
      const jobs = await boss.findJobs<Partial<WorkMessage>>(COMPANY_QUEUE, {
        queued: true,
        limit: Math.min(Math.max(limit, 1), 100_000),
      });
      return jobs.map((job) => ({
        id: job.id,
        companyId: job.singletonKey ?? String(job.data.companyId),
        state: job.state === 'retry' ? 'retry' : 'created',
        // pg-boss counts a retry when it hands the message out again, so one waiting for its
        // retry has failed once more than its count says.
        failedRuns: job.state === 'retry' ? job.retryCount + 1 : job.retryCount,
        createdOn: job.createdOn,
        lastError: job.state === 'retry' ? errorText(job.output) : null,
      }));
    },

    async stop(graceMs) {
      await boss.stop({ graceful: true, timeout: graceMs, close: true });
    },
  };
}

/** Retries without a practical limit (see the module comment); backoff caps their rate. */
const RETRY_LIMIT = 1_000_000;

interface CompiledQueueOptions extends z.output<typeof queueSettingsSchema> {
  onError: (error: Error) => void;
}

/** The settings checked against {@link queueSettings} once, defaults resolved. */
function compileQueueOptions(options: WorkQueueOptions): CompiledQueueOptions {
  const { connectionString: _url, applicationName: _name, onError, ...settings } = options;
  const parsed = queueSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0]) as keyof typeof queueSettings;
    const value = String(settings[key]);
    const field = queueSettings[key].unwrap();
    throw new ConfigError(
      field instanceof z.ZodNumber
        ? `queue ${key} must be an integer from ${String(field.minValue)} to ${String(field.maxValue)}, got ${value}`
        : `queue ${key} "${value}" must be a lower-case identifier ([a-z_][a-z0-9_]*) of at most 50 characters`,
    );
  }
  return { ...parsed.data, onError: onError ?? (() => {}) };
}

function parseMessage(data: unknown): WorkMessage {
  const value = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const companyId = value['companyId'];
  if (typeof companyId !== 'string' || companyId === '') {
    // Not ours (someone sent by hand): fail it visibly rather than guess.
    throw new Error(`message without a companyId: ${JSON.stringify(data)}`);
  }
  const reason = typeof value['reason'] === 'string' ? (value['reason'] as EnqueueReason) : 'manual';
  return { companyId, reason };
}

function toDepth(queue: QueueResult): QueueDepth {
  return {
    queued: queue.queuedCount,
    ready: queue.readyCount,
    active: queue.activeCount,
    failed: queue.failedCount,
  };
}

function errorText(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return null;
  const record = output as Record<string, unknown>;
  const value = record['value'];
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['message'] === 'string'
  ) {
    return (value as Record<string, unknown>)['message'] as string;
  }
  return typeof record['message'] === 'string' ? record['message'] : null;
}
