/**
 * Read-ahead over a paginated listing: while the consumer stores page k, the request for page k+1
 * is already on the wire, so each page costs max(round trip, local work) instead of their sum.
 *
 * Pages are pulled from the source one after another (the next page needs this page's cursor
 * anyway; `next()` is never called concurrently on the source), up to `depth` pages ahead of the
 * consumer: 1 while a phase runs, more for the export items read while the job's items are still
 * being listed (data-layer.ts). What the consumer commits is unchanged: a page is committed with its
 * own cursor after the previous one, so a crash re-reads at most the pages that were read ahead.
 * A page that failed is handed to the consumer in its place, after the pages before it; nothing is
 * pulled after it. When the consumer stops early (error, break, {@link ReadAhead.return}), the
 * requests in flight are stopped (`stop`, when given) and awaited, their failures swallowed, before
 * the source is closed, so nothing is left running.
 *
 * Measured (benchmark workload 3, 1,000 pages of 100, Pleo latency 25 ms): see BENCHMARKS.md.
 */
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export class ReadAhead<T> implements AsyncIterableIterator<T, undefined, undefined> {
  readonly #iterator: AsyncIterator<T>;
  readonly #depth: number;
  readonly #stop: (() => void) | undefined;
  /** Pulls handed out in order to the consumer, settled or not. */
  readonly #queue: Promise<IteratorResult<T>>[] = [];
  /** The latest pull: the next one starts once it has settled. */
  #last: Promise<unknown> = Promise.resolve();
  /** The source ended or failed, or the consumer stopped: pull nothing more. */
  #ended = false;
  /** The source ended or failed: it need not be closed. */
  #finished = false;
  #closing: Promise<void> | null = null;

  /**
   * Starts reading at once. `stop` aborts the requests in flight (the signal the source's requests
   * were given); without it, stopping early waits for them.
   */
  constructor(source: AsyncIterable<T>, depth: number, stop?: () => void) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError('ReadAhead: depth must be ≥ 1');
    this.#iterator = source[Symbol.asyncIterator]();
    this.#depth = depth;
    this.#stop = stop;
    this.#fill();
  }

  #fill(): void {
    while (!this.#ended && this.#queue.length < this.#depth) {
      const step = (): Promise<IteratorResult<T>> | IteratorResult<T> => {
        if (this.#ended) return DONE;
        // Marked inside the chain, before this pull settles: the next pull sees the end.
        return this.#iterator.next().then(
          (result) => {
            if (result.done === true) this.#ended = this.#finished = true;
            return result;
          },
          (error: unknown) => {
            this.#ended = this.#finished = true;
            throw error;
          },
        );
      };
      const pull = this.#last.then(step, step);
      pull.catch(() => undefined); // a failure counts as handled until the consumer reaches it
      this.#last = pull;
      this.#queue.push(pull);
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const head = this.#queue.shift();
    if (head === undefined) return Promise.resolve(DONE);
    this.#fill(); // keep `depth` pages coming while this one is consumed
    return head;
  }

  /** Stops reading: requests in flight are stopped and awaited, then the source is closed. */
  async return(): Promise<IteratorResult<T, undefined>> {
    this.#closing ??= this.#close();
    await this.#closing;
    return DONE;
  }

  async #close(): Promise<void> {
    this.#ended = true;
    this.#queue.length = 0;
    this.#stop?.();
    await this.#last.catch(() => undefined);
    if (!this.#finished) await this.#iterator.return?.();
  }
}

/** A read-ahead of one page, for a `for await` loop. */
export function readAhead<T>(source: AsyncIterable<T>): ReadAhead<T> {
  return new ReadAhead(source, 1);
}
