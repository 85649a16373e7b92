/** Small setups shared by the store tests of both dialects. */
import type { ExportItem } from '../../src/client/index.js';
import type { Fence, JobRef, Store } from '../../src/store/index.js';

/** Registers an `in_progress` job. */
export async function newJob(store: Store, jobRef: JobRef): Promise<void> {
  await store.upsertJob({
    ...jobRef,
    createdAt: '2026-01-01T00:00:00.000Z',
    pleoStatus: 'in_progress',
    vendorBasedBookkeeping: false,
    numberOfItems: 0,
  });
}

/** Lists and fetches `ids` (one page each) under `fence`: the job is planned, its items open. */
export async function planItems(store: Store, fence: Fence, ids: readonly string[]): Promise<void> {
  await store.saveListedPage(fence, {
    items: ids.map((id) => ({ accountingEntryId: id, status: 'pending' as const })),
    cursor: null,
    complete: true,
  });
  await store.saveFetchedPage(fence, {
    items: ids.map((id) => ({
      accountingEntryId: id,
      date: '2026-01-01T00:00:00.000Z',
      payload: { accountingEntryId: id } as unknown as ExportItem,
      attachments: [],
      prefailure: null,
    })),
    cursor: null,
    complete: true,
  });
}
