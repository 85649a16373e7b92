/**
 * Cursor pagination as an async generator of pages (house style rule 8).
 *
 * Pleo's list endpoints answer `{data, pagination: {hasNextPage, endCursor, …}}`; the next page is
 * requested with `after = endCursor` until `hasNextPage` is false (docs/decisions.md#w3). Pages are
 * yielded whole, with their `pagination`, so the engine can commit `endCursor` together with the
 * page's items and resume later with `after`.
 *
 * A page is checked BEFORE it is yielded, so a caller never commits a cursor from a broken run.
 * The guards (each a {@link PaginationError} with code `PAGINATION_STUCK`):
 * - `hasNextPage` is true but there is no `endCursor`;
 * - the `endCursor` was seen before in this run (equal to the cursor we sent, or a cycle);
 * - a page repeats an item already seen in this run (key per resource: job `id`, job item and
 *   export item `accountingEntryId`);
 * - too many consecutive empty pages that still claim a next page.
 *
 * Concurrent `next()` calls are safe: an async generator queues them, so pages are fetched one at a
 * time in order. `break`/`return()` runs the `finally` block, which drops the run's state.
 */
import { PaginationError } from '../errors/index.js';
import { IdSet } from './compact-id.js';
import type { Page } from './types.js';

export interface PaginateOptions<T> {
  operation: string;
  method: string;
  path: string;
  /** Fetches one page; `after` is undefined for the first page of a fresh run. */
  fetchPage: (after: string | undefined) => Promise<Page<T>>;
  /** The identity of an item, for the repeated-item guard. */
  keyOf: (item: T) => string;
  /** Resume after this cursor (a previously committed `endCursor`). */
  startAfter?: string | undefined;
  /** Consecutive empty pages with `hasNextPage: true` tolerated before giving up. @default 3 */
  maxEmptyPages?: number;
}

export async function* paginate<T>(options: PaginateOptions<T>): AsyncGenerator<Page<T>, void, undefined> {
  const { operation, method, path, keyOf } = options;
  const maxEmptyPages = options.maxEmptyPages ?? 3;
  const seenCursors = new Set<string>();
  const seenKeys = new IdSet(); // every item of the run: off the heap, a million ids take ~24 MB
  let after = options.startAfter;
  if (after !== undefined) seenCursors.add(after);
  let emptyPages = 0;
  let pageNumber = 0;

  const stuck = (why: string): PaginationError =>
    new PaginationError(
      `${method} ${path} (${operation}) pagination is stuck on page ${pageNumber}: ${why}`,
      {
        code: 'PAGINATION_STUCK',
        // Asking again will return the same pages: a person (or the server's owner) must look.
        retryable: false,
        method,
        path,
      },
    );

  try {
    for (;;) {
      pageNumber += 1;
      const page = await options.fetchPage(after);
      for (const item of page.data) {
        const key = keyOf(item);
        if (!seenKeys.add(key)) throw stuck(`item ${key} was already returned by an earlier page`);
      }
      const { hasNextPage, endCursor } = page.pagination;
      if (!hasNextPage) {
        yield page;
        return;
      }
      if (endCursor === undefined || endCursor === '')
        throw stuck('hasNextPage is true but endCursor is missing');
      if (seenCursors.has(endCursor)) {
        throw stuck(
          endCursor === after
            ? `endCursor ${endCursor} equals the cursor that was sent (it does not advance)`
            : `endCursor ${endCursor} was already used in this run (the cursors cycle)`,
        );
      }
      emptyPages = page.data.length === 0 ? emptyPages + 1 : 0;
      if (emptyPages > maxEmptyPages) throw stuck(`${emptyPages} empty pages in a row claim a next page`);
      seenCursors.add(endCursor);
      yield page;
      after = endCursor;
    }
  } finally {
    seenCursors.clear();
    seenKeys.clear();
  }
}
