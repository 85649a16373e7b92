/** Group commit of intents and outcomes (src/engine/progress.ts) against a recording store. */
import { describe, expect, it } from 'vitest';

import { ProgressBatcher } from '../../src/engine/progress.js';
import type { Fence, ProgressBatch } from '../../src/store/index.js';

const fence: Fence = { companyId: 'c', jobId: 'j', token: 1, owner: 'w' };
const booked = { status: 'booked' as const, externalId: 'X', externalUrl: null, exportedAt: 't' };

function recording(fail?: Error) {
  const calls: ProgressBatch[] = [];
  let commits = 0;
  const store = {
    recordProgress: (_fence: Fence, progress: ProgressBatch): Promise<void> => {
      calls.push(progress);
      return fail ? Promise.reject(fail) : Promise.resolve();
    },
  };
  const batcher = new ProgressBatcher(store, fence, () => commits++);
  return { calls, batcher, commits: () => commits };
}

const ids = (batch: ProgressBatch | undefined) => ({
  outcomes: batch?.outcomes.map((o) => o.accountingEntryId),
  intents: batch?.intents.map((i) => i.accountingEntryId),
});

describe('ProgressBatcher', () => {
  it('commits an outcome with the intents queued behind it, in one transaction', async () => {
    const { calls, batcher, commits } = recording();
    const next = batcher.intent({ accountingEntryId: 'b', attempt: 1 });
    const outcome = batcher.outcome('a', booked);
    const later = batcher.intent({ accountingEntryId: 'c', attempt: 1 }); // same turn: same commit
    await outcome;
    await Promise.all([next.committed, later.committed]);
    expect(calls.map(ids)).toEqual([{ outcomes: ['a'], intents: ['b', 'c'] }]);
    expect(commits()).toBe(1);
  });

  it('leaves an intent queued until its item demands it, then commits it at once', async () => {
    const { calls, batcher } = recording();
    const intent = batcher.intent({ accountingEntryId: 'a', attempt: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]);
    await intent.durable();
    expect(calls.map(ids)).toEqual([{ outcomes: [], intents: ['a'] }]);
    expect(calls[0]?.intents[0]?.attempt).toBe(2);
    await intent.durable(); // already committed: nothing more
    expect(calls).toHaveLength(1);
  });

  it('a demand made soon waits for the turn of the event loop: intents queued meanwhile share the commit', async () => {
    const { calls, batcher } = recording();
    const first = batcher.intent({ accountingEntryId: 'a', attempt: 1 });
    const demanded = first.durable(true);
    await Promise.resolve(); // other items go on within this turn...
    const second = batcher.intent({ accountingEntryId: 'b', attempt: 1 });
    expect(calls).toEqual([]); // ...before anything is committed
    await demanded;
    await second.committed;
    expect(calls.map(ids)).toEqual([{ outcomes: [], intents: ['a', 'b'] }]);
  });

  it('flushes whatever is queued; a failed commit rejects every write in it', async () => {
    const { calls, batcher } = recording(new Error('lease lost'));
    const intent = batcher.intent({ accountingEntryId: 'a', attempt: 1 });
    const outcome = batcher.outcome('b', booked);
    await expect(outcome).rejects.toThrow('lease lost');
    await expect(intent.durable()).rejects.toThrow('lease lost');
    await batcher.flush();
    expect(calls).toHaveLength(1);
  });
});
