/**
 * Group commit in the accounting system: entries handed over in turn order are written in
 * batches, at most `slots` batches at once (the engine's concurrency), each batch taking what
 * queued while the previous one was written (no timer: a lone entry goes at once). At concurrency
 * 1 batches run one after another, so entries keep their order across batches as within one.
 *
 * The write function decides everything else (retries, the fence, stopping). Whatever it throws
 * ends the writes: every entry of its batch, every entry queued behind it and every entry submitted
 * later is rejected with that error, unwritten. So nothing is written after a batch that failed
 * (the run stops on that error; a later run looks those entries up and writes them in order).
 */
export class WriteBatches<In, Out> {
  private readonly queue: { input: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  private running = 0;
  private failed: { error: Error } | null = null;
  private readonly slots: number;
  private readonly maxBatch: number;
  private readonly write: (batch: In[]) => Promise<Out[]>;

  constructor(options: { slots: number; maxBatch: number; write: (batch: In[]) => Promise<Out[]> }) {
    if (!(options.slots >= 1) || !(options.maxBatch >= 1))
      throw new RangeError('WriteBatches needs at least one slot and one entry per batch');
    this.slots = options.slots;
    this.maxBatch = options.maxBatch;
    this.write = options.write;
  }

  /** Queues one entry; resolves with its own result when its batch is written. */
  submit(input: In): Promise<Out> {
    if (this.failed !== null) return Promise.reject(this.failed.error);
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.slots && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.running += 1;
      void this.run(batch);
    }
  }

  private async run(batch: typeof this.queue): Promise<void> {
    try {
      const results = await this.write(batch.map((b) => b.input));
      if (results.length !== batch.length)
        throw new Error(`a batch of ${batch.length} entries got ${results.length} results`);
      batch.forEach((b, i) => b.resolve(results[i] as Out));
    } catch (error) {
      this.failed ??= { error: error instanceof Error ? error : new Error(String(error)) };
      for (const b of batch) b.reject(error);
      for (const b of this.queue.splice(0)) b.reject(error);
    } finally {
      this.running -= 1;
      this.pump();
    }
  }
}
