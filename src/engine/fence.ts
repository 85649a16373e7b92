/**
 * The fence check before a write outside the store (Pleo, the accounting system).
 *
 * Store writes are fenced by the store itself (a stale fence throws `LeaseLostError` and changes
 * nothing). Writes to Pleo and to the accounting system cannot carry our fence, so before each
 * batch of them the engine reads the job's current token: a worker that was paused past its lease
 * (another worker has acquired the job since) stops there instead of writing.
 *
 * It is a read, not a lock, so a worker paused between this check and the request it guards can
 * still send that one request after a takeover. That request is harmless by design: an accounting
 * write carries the entry's idempotency key (the system returns the existing entry), an item
 * update repeats the outcome the store holds (the same one the new owner reports), and a final
 * event that was already applied answers 422, which the engine recognises.
 */
import { LeaseLostError } from '../errors/index.js';
import type { Fence, Store } from '../store/index.js';

export async function assertFence(store: Store, fence: Fence): Promise<void> {
  const job = await store.getJob(fence);
  if (job === null || job.fenceToken !== fence.token) {
    throw new LeaseLostError(
      `Job ${fence.jobId} was taken over by another worker (fence ${fence.token} is stale); not writing to Pleo or the accounting system.`,
    );
  }
}
