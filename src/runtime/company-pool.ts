/**
 * The company pool: the one place that decides when each company is polled and how many run at
 * once. The daemon (`serve`, with poll timers) and `run` (each company once, no timers) both use
 * it; what a poll does is the {@link CompanyPoller} port — run the company's jobs in this process
 * (`in-process.ts`) or hand the run to the work queue (`scaled-out.ts`).
 *
 * Each configured company has one worker, a small state machine:
 *
 *   idle ──trigger / poll timer──► queued ──free slot──► running ──done──► idle (timer armed)
 *                                    ▲                      │
 *                                    └──── ran again ◄──────┘  (a trigger arrived while running)
 *   any state ──stop()──► stopped (a running worker gets there when its poll returns)
 *
 * - One poll per company at a time: a trigger while `queued` is merged into the queued poll; a
 *   trigger while `running` sets the "run again when done" flag, so a job created during a poll
 *   (its webhook arrives while we work) is picked up right after, never concurrently.
 * - Companies run in parallel up to `maxConcurrent`; the others wait in a FIFO queue (its length
 *   is the queue-depth metric). A company that runs again goes to the back of the queue.
 * - With a `pollIntervalMs`, an idle worker always has exactly one poll timer armed,
 *   `pollIntervalMs` ±20 % (jitter keeps many companies from polling Pleo in lockstep); leaving
 *   `idle` cancels it. The timer is the safety net for lost webhooks (docs/decisions.md#w12:
 *   webhooks are "at least once, maybe never"). Without one (null), a company polls only when triggered.
 * - `stop()` takes no more work: timers are cancelled, queued polls dropped, the shared signal is
 *   aborted (the engines finish or checkpoint their in-flight items), and it waits for the
 *   running polls to return.
 */

/** Why a company was polled. */
export type PollTrigger = 'startup' | 'timer' | 'webhook' | 'manual';

/** How a poll ended: `interrupted` when shutdown cut it short. */
export type PollOutcome = 'ok' | 'error' | 'interrupted';

/**
 * The port every way of running offers the pool: poll one company once.
 * `poll` never throws: a failure is the poller's to log, and says `error`.
 */
export interface CompanyPoller {
  poll(companyId: string, trigger: PollTrigger, signal: AbortSignal): Promise<PollOutcome>;
  /** Export jobs being processed in this process now (0 for a poller that only enqueues). */
  runningJobs(): number;
  /** Releases what the polls built (company runtimes); called after the last poll returned. */
  close(): Promise<void>;
}

export type WorkerState = 'idle' | 'queued' | 'running' | 'stopped';

/** Schedules `callback` after `ms`; returns a function that cancels it. */
export type SetTimeoutLike = (callback: () => void, ms: number) => () => void;

export const defaultSetTimeout: SetTimeoutLike = (callback, ms) => {
  const timer = setTimeout(callback, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface CompanyPoolOptions {
  companyIds: readonly string[];
  /** Polls running at once, across companies. */
  maxConcurrent: number;
  /** Mean time between two polls of an idle company; null: no timers, polls only when triggered. */
  pollIntervalMs: number | null;
  /** One poll of one company. It should not throw (errors are its to log); a throw is swallowed. */
  poll: (companyId: string, trigger: PollTrigger, signal: AbortSignal) => Promise<void>;
  setTimeout?: SetTimeoutLike;
  /** In [0, 1). @default Math.random */
  random?: () => number;
}

export interface CompanyPool {
  /** Polls every company once now (startup recovery), then keeps their timers running. */
  start(): void;
  has(companyId: string): boolean;
  /**
   * Asks for a poll of the company. Resolves when a poll that started after this call has
   * finished (at once when the pool is stopped). Throws for an unknown company.
   */
  trigger(companyId: string, reason: PollTrigger): Promise<void>;
  state(companyId: string): WorkerState;
  queueDepth(): number;
  running(): number;
  /** Resolves when no poll is running or queued. */
  whenIdle(): Promise<void>;
  readonly stopping: boolean;
  /** Stops taking work, aborts the running polls' signal and waits for them to return. */
  stop(): Promise<void>;
}

interface Worker {
  readonly companyId: string;
  state: WorkerState;
  /** Why the queued (or next) poll runs. */
  reason: PollTrigger;
  /** Set while running: run again when done, for this reason. */
  again: PollTrigger | null;
  cancelTimer: (() => void) | null;
  /** Callers waiting for the next poll to start and finish. */
  waiting: (() => void)[];
  run: Promise<void> | null;
}

export function createCompanyPool(options: CompanyPoolOptions): CompanyPool {
  const setTimer = options.setTimeout ?? defaultSetTimeout;
  const random = options.random ?? Math.random;
  const abort = new AbortController();
  const workers = new Map<string, Worker>(
    options.companyIds.map((companyId) => [
      companyId,
      { companyId, state: 'idle', reason: 'timer', again: null, cancelTimer: null, waiting: [], run: null },
    ]),
  );
  const queue: Worker[] = [];
  let active = 0;
  let stopping = false;
  let idleWaiters: (() => void)[] = [];

  const worker = (companyId: string): Worker => {
    const found = workers.get(companyId);
    if (!found) throw new Error(`unknown company ${companyId}`);
    return found;
  };

  const arm = (w: Worker): void => {
    const interval = options.pollIntervalMs;
    if (interval === null) return;
    const ms = Math.round(interval * (0.8 + 0.4 * random()));
    w.cancelTimer = setTimer(() => {
      w.cancelTimer = null;
      void trigger(w, 'timer');
    }, ms);
  };

  const disarm = (w: Worker): void => {
    w.cancelTimer?.();
    w.cancelTimer = null;
  };

  const enqueue = (w: Worker, reason: PollTrigger): void => {
    w.state = 'queued';
    w.reason = reason;
    queue.push(w);
  };

  const pump = (): void => {
    while (!stopping && active < options.maxConcurrent) {
      const next = queue.shift();
      if (!next) break;
      begin(next);
    }
    if (active === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  const begin = (w: Worker): void => {
    w.state = 'running';
    active++;
    const waiters = w.waiting;
    w.waiting = [];
    w.run = options
      .poll(w.companyId, w.reason, abort.signal)
      .catch(() => undefined)
      .then(() => {
        active--;
        w.run = null;
        for (const resolve of waiters) resolve();
        finish(w);
        pump();
      });
  };

  const finish = (w: Worker): void => {
    const again = w.again;
    w.again = null;
    if (stopping) {
      w.state = 'stopped';
      release(w);
    } else if (again !== null) enqueue(w, again);
    else {
      w.state = 'idle';
      arm(w);
    }
  };

  const release = (w: Worker): void => {
    const waiters = w.waiting;
    w.waiting = [];
    for (const resolve of waiters) resolve();
  };

  const trigger = (w: Worker, reason: PollTrigger): Promise<void> => {
    const state = w.state;
    switch (state) {
      case 'stopped':
        return Promise.resolve();
      case 'idle':
        disarm(w);
        enqueue(w, reason);
        break;
      case 'queued':
        // Merged into the poll already waiting; the first reason stays (metrics count polls).
        break;
      case 'running':
        w.again ??= reason;
        break;
      default: {
        const unreachable: never = state;
        throw new Error(`unknown worker state ${String(unreachable)}`);
      }
    }
    const done = new Promise<void>((resolve) => w.waiting.push(resolve));
    pump();
    return done;
  };

  return {
    start() {
      for (const w of workers.values()) void trigger(w, 'startup');
    },
    has: (companyId) => workers.has(companyId),
    trigger: (companyId, reason) => trigger(worker(companyId), reason),
    state: (companyId) => worker(companyId).state,
    queueDepth: () => queue.length,
    running: () => active,
    whenIdle() {
      if (active === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get stopping() {
      return stopping;
    },
    async stop() {
      if (!stopping) {
        stopping = true;
        queue.length = 0;
        for (const w of workers.values()) {
          disarm(w);
          w.again = null;
          if (w.state !== 'running') {
            w.state = 'stopped';
            release(w);
          }
        }
        abort.abort(new Error('shutting down'));
      }
      await Promise.all([...workers.values()].map((w) => w.run ?? Promise.resolve()));
      pump();
    },
  };
}
