/**
 * Queue workers: take "run this company once" messages from the work queue and run the company
 * with the same engine as the embedded mode (`runCompany`, i.e. `engine.runOnce`). Resuming is the
 * engine's business: every step is committed in the shared store, so whichever worker gets a
 * company continues where the last run stopped.
 *
 * Lifecycle (module-level state machine):
 *
 *   created ──start()──► running ──stop()──► stopping ──(runs returned or grace over)──► stopped
 *
 * - `running`: pg-boss hands this process up to `concurrency` messages at once (different
 *   companies: the queue's policy never gives out two messages of one company at a time).
 * - `stopping`: no new messages; running runs are aborted and finish their in-flight items (the
 *   engine checkpoints). A run cut short throws, so pg-boss retries its message elsewhere.
 *
 * A run that throws (Pleo down past the client's retries, store unreachable, a lost lease) fails
 * its message and pg-boss retries it with backoff. A **lease takeover** — an engine of this process
 * acquiring a job whose lease another owner held, because that owner died, stalled or stopped
 * mid-job — is logged and counted when it happens: whoever runs the engines reports each lease
 * acquisition to {@link QueueWorkers.leaseAcquired} (the engine's `lease_acquired` event).
 */
import { describeError, isExportError } from '../errors/index.js';
import type { JobRef } from '../store/index.js';
import type { Delivery, WorkQueue } from './work-queue.js';

export type WorkersState = 'created' | 'running' | 'stopping' | 'stopped';

export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Runs a company once; `interrupted` when the signal cut the run short (work remains). */
export type RunCompany = (companyId: string, signal: AbortSignal) => Promise<{ interrupted: boolean }>;

export interface QueueWorkersOptions {
  queue: WorkQueue;
  /** Companies this process runs at once. */
  concurrency: number;
  /** Companies this process can run (the configuration's); a message for another one is retried. */
  companyIds: readonly string[];
  runCompany: RunCompany;
  logger: WorkerLogger;
}

/** Counters of this process since it started. */
export interface WorkerStats {
  state: WorkersState;
  /** Companies this process runs at once. */
  slots: number;
  /** Runs under way now. */
  busy: number;
  /** Runs that finished the company's eligible jobs. */
  completed: number;
  /** Runs that threw (their message is retried). */
  failed: number;
  /** Runs cut short by shutdown or a lost claim (their message is retried). */
  interrupted: number;
  /** Messages received again after an earlier run of them died or failed. */
  redeliveries: number;
  /** Jobs this process acquired while another owner held their lease. */
  takeovers: number;
}

export interface QueueWorkers {
  readonly state: WorkersState;
  /**
   * An engine of this process acquired a job's lease, which `previousOwner` held before (null:
   * nobody). Another owner than `owner` is a lease takeover: logged and counted.
   */
  leaseAcquired(ref: JobRef, previousOwner: string | null, owner: string): void;
  start(): Promise<void>;
  /** Stops taking messages, aborts running runs and waits up to `graceMs` for them. */
  stop(graceMs: number): Promise<void>;
  stats(): WorkerStats;
}

/** Raised when a run was cut short: failing the message makes pg-boss run it again. */
export class RunInterruptedError extends Error {
  constructor(companyId: string) {
    super(`run of company ${companyId} was interrupted; it resumes from the store when retried`);
    this.name = 'RunInterruptedError';
  }
}

export function createQueueWorkers(options: QueueWorkersOptions): QueueWorkers {
  const { queue, logger } = options;
  const known = new Set(options.companyIds);
  const stopping = new AbortController();
  let state: WorkersState = 'created';
  const counters = { busy: 0, completed: 0, failed: 0, interrupted: 0, redeliveries: 0, takeovers: 0 };

  async function handle(delivery: Delivery): Promise<void> {
    const { companyId } = delivery.message;
    if (!known.has(companyId)) {
      // Processes with different configurations (a rolling deploy): another worker may know it.
      throw new Error(`company ${companyId} is not in this worker's configuration`);
    }
    if (delivery.retryCount > 0) {
      counters.redeliveries++;
      logger.info(
        { companyId, retryCount: delivery.retryCount },
        'message delivered again (an earlier run died or failed)',
      );
    }
    const signal = AbortSignal.any([delivery.signal, stopping.signal]);
    counters.busy++;
    try {
      const { interrupted } = await options.runCompany(companyId, signal);
      if (interrupted || signal.aborted) throw new RunInterruptedError(companyId);
      counters.completed++;
    } catch (error) {
      if (error instanceof RunInterruptedError || signal.aborted) {
        counters.interrupted++;
        logger.info(
          { companyId, reason: abortReason(signal) },
          'run interrupted; the message will be retried',
        );
      } else {
        counters.failed++;
        const code = isExportError(error) ? error.code : undefined;
        const log = code === 'LEASE_LOST' ? logger.warn.bind(logger) : logger.error.bind(logger);
        log(
          { companyId, code, err: describeError(error) },
          'run failed; pg-boss retries the message with backoff',
        );
      }
      throw error;
    } finally {
      counters.busy--;
    }
  }

  return {
    get state() {
      return state;
    },
    leaseAcquired(ref, previousOwner, owner) {
      if (previousOwner === null || previousOwner === owner) return;
      counters.takeovers++;
      logger.warn(
        { companyId: ref.companyId, jobId: ref.jobId, previousOwner, owner },
        'lease takeover: resumed a job another worker held',
      );
    },
    async start() {
      if (state !== 'created') throw new Error(`workers cannot start from state ${state}`);
      state = 'running';
      await queue.work(options.concurrency, handle);
    },
    async stop(graceMs) {
      switch (state) {
        case 'created':
        case 'stopped':
          state = 'stopped';
          return;
        case 'stopping':
          return;
        case 'running':
          break;
        default: {
          const never: never = state;
          throw new Error(`unknown state ${String(never)}`);
        }
      }
      state = 'stopping';
      stopping.abort(new Error('worker shutting down'));
      try {
        await queue.stop(graceMs);
      } finally {
        state = 'stopped';
      }
    },
    stats() {
      return { state, slots: options.concurrency, ...counters };
    },
  };
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'aborted';
}
