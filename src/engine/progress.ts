/**
 * Group commit of the per-item protocol writes: intents and outcomes of several items go to the
 * store in one transaction (`Store.recordProgress`), each with its audit event, even at
 * concurrency 1.
 *
 * When a write is committed:
 * - An outcome is committed at the next flush, which it schedules at once (`setImmediate`: every
 *   write queued in the same turn of the event loop joins it). A caller waits for its commit before
 *   the outcome is reported to Pleo, exactly as before.
 * - An intent is queued, not flushed: it rides with the next outcome's flush. Its item demands it
 *   (`durable()`) right before the first side effect it announces (staging receipts, or the write
 *   itself); a demand flushes at once if it is still queued. So no side effect ever precedes its
 *   committed intent, and at concurrency 1 the usual transaction holds item k's outcome and the
 *   intent of an item prepared behind it: one commit per item instead of two.
 *
 * What a crash between two group commits can leave, and why it is safe:
 * - Queued intents are lost. Nothing they announce has happened (a side effect waits for
 *   `durable()`), so their items are still `planned` and are simply processed again.
 * - Queued outcomes are lost, so their items are still `booking` although the accounting system
 *   has the entry. On resume an item in `booking` is never written blindly: the adapter's
 *   `findExisting`, keyed by the idempotency key `accountingEntryId`, finds the entry and the item
 *   is recorded `booked` with what was found (an item the lookup does not find is written again,
 *   with the same key). At most the items in flight plus one flush's worth of outcomes need a
 *   lookup; none is booked twice. This is the same window as a crash between the adapter's answer
 *   and a per-item outcome commit, which the protocol always had to handle.
 * - A group commit is one transaction: all of its intents, outcomes and audit events are there, or
 *   none.
 */
import type { Fence, IntentRecord, ItemOutcome, ProgressStore } from '../store/index.js';

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface QueuedIntent extends Waiter {
  intent: IntentRecord;
}

interface QueuedOutcome extends Waiter {
  accountingEntryId: string;
  outcome: ItemOutcome;
}

/** An intent handed to the batcher. */
export interface PendingIntent {
  /** Settles when the intent is committed (or its flush failed); asks for nothing. */
  readonly committed: Promise<void>;
  /**
   * The same, flushing if the intent is still queued: call it before a side effect. At once by
   * default; `soon` flushes after this turn of the event loop, so the intents other items queue
   * meanwhile share the commit (for side effects off the write order, such as staging receipts).
   */
  durable(soon?: boolean): Promise<void>;
}

export class ProgressBatcher {
  private intents: QueuedIntent[] = [];
  private outcomes: QueuedOutcome[] = [];
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly store: Pick<ProgressStore, 'recordProgress'>;
  private readonly fence: Fence;
  private readonly onCommitted: () => void;

  /** `onCommitted` is told after each group commit (the `progress_committed` step). */
  constructor(store: Pick<ProgressStore, 'recordProgress'>, fence: Fence, onCommitted: () => void) {
    this.store = store;
    this.fence = fence;
    this.onCommitted = onCommitted;
  }

  /** Queues an intent; it is committed with the next flush, or when its item demands it. */
  intent(intent: IntentRecord): PendingIntent {
    let queued = true;
    const committed = new Promise<void>((resolve, reject) => {
      this.intents.push({
        intent,
        resolve: () => {
          queued = false;
          resolve();
        },
        reject: (error) => {
          queued = false;
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      });
    });
    // Observed here so that a flush failing while nobody waits yet is not an unhandled rejection;
    // `durable()` hands the same outcome to the item.
    committed.catch(() => undefined);
    return {
      committed,
      durable: (soon = false) => {
        if (queued) this.schedule(!soon);
        return committed;
      },
    };
  }

  /** Queues an outcome and schedules a flush; resolves once it is committed. */
  outcome(accountingEntryId: string, outcome: ItemOutcome): Promise<void> {
    const committed = new Promise<void>((resolve, reject) => {
      this.outcomes.push({ accountingEntryId, outcome, resolve, reject });
    });
    this.schedule(false);
    return committed;
  }

  /** Waits until every queued write is committed (or its flush failed). */
  async flush(): Promise<void> {
    if (this.intents.length > 0 || this.outcomes.length > 0) this.schedule(true);
    await this.chain;
  }

  /**
   * Flushes after the current turn of the event loop (`now`: without waiting for it). Flushes run
   * one at a time; writes queued meanwhile go with the next.
   */
  private schedule(now: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.chain = this.chain.then(() => this.commit());
    };
    if (now) run();
    else setImmediate(run);
  }

  private async commit(): Promise<void> {
    this.scheduled = false;
    const intents = this.intents;
    const outcomes = this.outcomes;
    this.intents = [];
    this.outcomes = [];
    if (intents.length === 0 && outcomes.length === 0) return;
    try {
      await this.store.recordProgress(this.fence, {
        outcomes: outcomes.map((o) => ({ accountingEntryId: o.accountingEntryId, outcome: o.outcome })),
        intents: intents.map((i) => i.intent),
      });
    } catch (error) {
      for (const waiter of [...outcomes, ...intents]) waiter.reject(error);
      return;
    }
    try {
      this.onCommitted();
    } catch (error) {
      for (const waiter of [...outcomes, ...intents]) waiter.reject(error);
      return;
    }
    for (const waiter of [...outcomes, ...intents]) waiter.resolve();
  }
}
