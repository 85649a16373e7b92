/**
 * Cursor pagination as an async generator of pages (house style rule 8).
 *
 * Pleo's list endpoints answer `{data, pagination: {hasNextPage, endCursor, …}}`; the next page is
 * requested with `after = endCursor` until `hasNextPage` is false (docs/decisions.md#w3). Pages are
 * yielded whole, with their `pagination`, so the engine can commit `endCursor` together with the
 * page's items and resume later with `after`.
 *
 * A page is checked BEFORE it is yielded, so a caller never commits a cursor from a broken run.
 *
 * Validation overlaps the next request (issue 20): checking a page of 100 export items against
 * the OpenAPI schema costs ~6 ms of CPU, so as soon as page k has arrived and its cursor passed
 * the guards below, the request for page k+1 is sent, and page k is validated (`validatePage`)
 * while that request is on the wire: validation waits until the request has left (a few turns of
 * the event loop, see `TURNS_TO_LEAVE`), since a request still being written would wait for it. The order of pages and of errors is unchanged: page k is
 * yielded only once it is valid, and when it is not, its error is thrown, the request for page
 * k+1 is aborted and its answer (or failure) dropped — nothing after a malformed page is yielded.
 * Errors keep their precedence on one page: schema, then repeated item, then cursor guards.
 *
 * The guards (each a {@link PaginationError} with code `PAGINATION_STUCK`):
 * - `hasNextPage` is true but there is no `endCursor`;
 * - the `endCursor` was seen before in this run (equal to the cursor we sent, or a cycle);
 * - a page repeats an item already seen in this run (key per resource: job `id`, job item and
 *   export item `accountingEntryId`);
 * - too many consecutive empty pages that still claim a next page.
 *
 * Concurrent `next()` calls are safe: an async generator queues them, so pages are fetched one at a
 * time in order (at most one request in flight). `break`/`return()` runs the `finally` block, which
 * aborts and awaits a request sent ahead, then drops the run's state.
 */
import { PaginationError } from '../errors/index.js';
import { IdSet } from './compact-id.js';
import type { Page } from './types.js';

interface Request<T> {
  page: Promise<Page<T>>;
  abort: AbortController;
  /** True once the request is on the wire (or settled). */
  left: () => boolean;
}

function send<T>(fetchPage: PaginateOptions<T>['fetchPage'], after: string | undefined): Request<T> {
  const abort = new AbortController();
  let gone = false;
  const sent = (): void => {
    gone = true;
  };
  const page = fetchPage(after, abort.signal, sent);
  // A settled request has left too. This also keeps a rejection from counting as unhandled: it
  // surfaces when awaited, or is dropped after an abort.
  page.then(sent, sent);
  return { page, abort, left: () => gone };
}

/** One turn of the event loop (I/O callbacks included), without a timer. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Turns of the event loop a request sent ahead is given to leave before the page in hand is
 * validated. Node's fetch needs two on a kept-alive connection; a fetch that never says it has
 * sent (see `fetchPage`), or a request held by pacing, costs at most these turns, not a wait.
 */
export const TURNS_TO_LEAVE = 8;

/** Until `request` is on the wire, for at most {@link TURNS_TO_LEAVE} turns. */
async function untilLeft(request: Request<unknown>): Promise<void> {
  for (let turn = 0; turn < TURNS_TO_LEAVE && !request.left(); turn++) await nextTurn();
}

export interface PaginateOptions<T> {
  operation: string;
  method: string;
  path: string;
  /**
   * Fetches one page, its shape checked (`data` an array, `pagination` present) but not yet its
   * schema; `after` is undefined for the first page of a fresh run. `signal` aborts a request
   * sent ahead that is no longer wanted. `sent` is called, if the fetch can tell, once the
   * request is on the wire: validation of the page in hand waits for that (a few turns at most),
   * so that its CPU work does not hold the request back.
   */
  fetchPage: (after: string | undefined, signal: AbortSignal, sent: () => void) => Promise<Page<T>>;
  /**
   * Validates a fetched page (throws on a malformed one). Runs while the next page's request is
   * already in flight. @default no validation
   */
  validatePage?: (page: Page<T>) => void;
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

  /** The request for the next page, sent before the current page is validated. */
  let ahead: Request<T> | null = null;
  try {
    for (;;) {
      pageNumber += 1;
      // Sent ahead while the previous page was validated (always, but for the first page).
      const current: Request<T> = ahead ?? send(options.fetchPage, after);
      ahead = null;
      const page: Page<T> = await current.page;
      const { hasNextPage, endCursor } = page.pagination;
      // The cursor guards need only the page's shape: decide them first, so that the next request
      // can be sent before this page is validated; a problem is thrown after validation, to keep
      // the precedence of errors on one page.
      let cursorProblem: string | null = null;
      if (hasNextPage) {
        if (endCursor === undefined || endCursor === '')
          cursorProblem = 'hasNextPage is true but endCursor is missing';
        else if (seenCursors.has(endCursor))
          cursorProblem =
            endCursor === after
              ? `endCursor ${endCursor} equals the cursor that was sent (it does not advance)`
              : `endCursor ${endCursor} was already used in this run (the cursors cycle)`;
        else {
          emptyPages = page.data.length === 0 ? emptyPages + 1 : 0;
          if (emptyPages > maxEmptyPages)
            cursorProblem = `${emptyPages} empty pages in a row claim a next page`;
        }
        if (cursorProblem === null && endCursor !== undefined) {
          seenCursors.add(endCursor);
          ahead = send(options.fetchPage, endCursor);
          // Let the request leave (its pacing, authorisation and write are asynchronous steps
          // taking several turns) before the CPU-bound validation below holds the event loop,
          // and the consumer's work after it.
          await untilLeft(ahead);
        }
      }
      options.validatePage?.(page);
      for (const item of page.data) {
        const key = keyOf(item);
        if (!seenKeys.add(key)) throw stuck(`item ${key} was already returned by an earlier page`);
      }
      if (cursorProblem !== null) throw stuck(cursorProblem);
      yield page;
      if (!hasNextPage) return;
      after = endCursor;
    }
  } finally {
    if (ahead !== null) {
      // The consumer stopped (break, error) with a request sent ahead: nothing may go on running.
      ahead.abort.abort();
      await ahead.page.catch(() => undefined);
    }
    seenCursors.clear();
    seenKeys.clear();
  }
}
