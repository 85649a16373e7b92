/**
 * Graceful shutdown: the first SIGINT/SIGTERM aborts the returned signal (the engine stops taking
 * work, finishes or checkpoints in-flight items and reports them); after `graceMs` or on a second
 * signal the process exits at once with 130 — safe, because every step is committed in the store.
 */
export function shutdownSignal(
  graceMs: number,
  onFirst?: (signal: string) => void,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const handler = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`${name} again: exiting now (the local state is consistent; rerun to resume)\n`);
      process.exit(130);
    }
    onFirst?.(name);
    controller.abort(new Error(`received ${name}`));
    timer = setTimeout(() => {
      process.stderr.write(`shutdown took longer than ${graceMs} ms: exiting (rerun to resume)\n`);
      process.exit(130);
    }, graceMs);
    timer.unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      if (timer) clearTimeout(timer);
    },
  };
}
