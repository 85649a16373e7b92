/**
 * One item's intent or outcome, written as a group of one through `recordProgress` (the store's
 * one progress write). The engine batches through `engine/progress.ts`; operators' tools and tests
 * write one item at a time with these.
 */
import type { Fence, IntentDetail, ItemOutcome, ProgressStore } from './types.js';

type Progress = Pick<ProgressStore, 'recordProgress'>;

/** Durable intent: the next write to the accounting system for this item is attempt `attempt`. */
export async function markBooking(
  store: Progress,
  fence: Fence,
  accountingEntryId: string,
  attempt: number,
  detail: IntentDetail = {},
): Promise<void> {
  await store.recordProgress(fence, { outcomes: [], intents: [{ accountingEntryId, attempt, detail }] });
}

/**
 * Stores an item's outcome; a booked outcome also records the booking (unique per company+entry)
 * and drops the stored payload; a failed item keeps its payload (`retry` maps it again).
 */
export async function recordOutcome(
  store: Progress,
  fence: Fence,
  accountingEntryId: string,
  outcome: ItemOutcome,
): Promise<void> {
  await store.recordProgress(fence, { outcomes: [{ accountingEntryId, outcome }], intents: [] });
}
