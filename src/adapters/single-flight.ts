/**
 * One call per key at a time: a second `record` for an entry that is being written joins the first
 * call's promise instead of writing again (adapters must be safe against a retried or duplicated
 * call while the first still runs). `settled` lets `close` wait for the calls still running.
 */
export interface KeyedSingleFlight<T> {
  run(key: string, start: () => Promise<T>): Promise<T>;
  settled(): Promise<void>;
}

export function keyedSingleFlight<T>(): KeyedSingleFlight<T> {
  const running = new Map<string, Promise<T>>();
  return {
    run(key, start) {
      const existing = running.get(key);
      if (existing) return existing;
      const promise = start().finally(() => running.delete(key));
      running.set(key, promise);
      return promise;
    },
    async settled() {
      await Promise.allSettled([...running.values()]);
    },
  };
}
