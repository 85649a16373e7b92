/**
 * Read-ahead over a paginated listing: while the consumer stores page k, the request for page k+1
 * is already on the wire, so each page costs max(round trip, local work) instead of their sum.
 *
 * Only one request is ever in flight (the next page needs this page's cursor anyway) and
 * `next()` is never called concurrently on the source. What the consumer commits is unchanged:
 * a page is committed with its own cursor after the previous one, so a crash re-reads at most
 * the page that was read ahead. When the consumer stops early (error, break) the pending request
 * is awaited and its failure swallowed before the source is closed, so nothing is left running.
 *
 * Measured (benchmark workload 3, 1,000 pages of 100, Pleo latency 25 ms): see BENCHMARKS.md.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = iterator.next();
  try {
    for (;;) {
      const current: IteratorResult<T> = await pending;
      pending = null;
      if (current.done === true) return;
      pending = iterator.next();
      // A rejection of the read-ahead surfaces when the consumer asks for that page; until then
      // it must not count as unhandled.
      pending.catch(() => undefined);
      yield current.value;
    }
  } finally {
    if (pending !== null) {
      const last = await pending.catch(() => ({ done: true }) as IteratorResult<T>);
      if (last.done !== true) await iterator.return?.();
    }
  }
}
