/**
 * What the daemon's metrics endpoint shows about the scaled-out mode: the queue's depth (fleet-wide,
 * from pg-boss's counts) and this process's workers (runs, redeliveries, lease takeovers).
 *
 * Suggested Prometheus names: `pleo_export_queue_messages{state="queued|ready|active|failed"}`
 * (gauge), `pleo_export_queue_worker_slots` / `_busy` (gauges), and the counters
 * `pleo_export_queue_runs_total{result="completed|failed|interrupted"}`,
 * `pleo_export_queue_redeliveries_total` and `pleo_export_lease_takeovers_total`.
 */
import type { WorkerStats, QueueWorkers } from './workers.js';
import type { QueueDepth, WorkQueue } from './work-queue.js';

export interface QueueMetrics {
  queue: string;
  /** Fleet-wide, as of pg-boss's last monitor pass (at most one supervise interval old). */
  depth: QueueDepth;
  /** This process's workers; null in a process that only enqueues (`serve --workers 0`). */
  workers: WorkerStats | null;
}

/**
 * One reading for a metrics scrape. The depth is one cheap read of pg-boss's cached counts; it
 * rejects when the database cannot be reached (keep the last reading then).
 *
 * @example
 * const m = await queueMetrics(queue, workers);
 * gauge.set({ state: 'queued' }, m.depth.queued);
 */
export async function queueMetrics(queue: WorkQueue, workers?: QueueWorkers | null): Promise<QueueMetrics> {
  return {
    queue: queue.name,
    depth: await queue.depth(),
    workers: workers ? workers.stats() : null,
  };
}
