/**
 * What metrics show about the scaled-out mode: the queue's depth (fleet-wide, from pg-boss's
 * counts) and this process's workers (runs, redeliveries, lease takeovers).
 *
 * `registerQueueMetrics` adds them to a prom-client registry, read at each scrape:
 *
 * | metric | type | |
 * |---|---|---|
 * | `pleo_export_queue_messages{state}` | gauge | `queued` (waiting, new or for a retry), `ready` (of those, runnable now), `active` (being run), `failed` (for good: should stay 0) — fleet-wide |
 * | `pleo_export_queue_worker_slots`, `pleo_export_queue_worker_busy` | gauge | companies this process can run at once / runs now |
 * | `pleo_export_queue_runs_total{result}` | counter | this process's company runs: `completed`, `failed` (retried with backoff), `interrupted` (shutdown, lost claim) |
 * | `pleo_export_queue_redeliveries_total` | counter | messages this process got again after an earlier run died or failed |
 * | `pleo_export_lease_takeovers_total` | counter | jobs this process acquired while another owner held their lease |
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import type { QueueWorkers, WorkerStats } from './workers.js';
import type { QueueDepth, WorkQueue } from './work-queue.js';

export interface QueueMetrics {
  queue: string;
  /** Fleet-wide, as of pg-boss's last monitor pass (at most one supervise interval old). */
  depth: QueueDepth;
  /** This process's workers; null in a process that only enqueues (`serve --workers 0`). */
  workers: WorkerStats | null;
}

/**
 * One reading. The depth is one cheap read of pg-boss's cached counts; it rejects when the
 * database cannot be reached.
 *
 * @example
 * const m = await queueMetrics(queue, workers);
 * console.log(`${m.depth.queued} companies waiting, ${m.workers?.takeovers ?? 0} takeovers here`);
 */
export async function queueMetrics(queue: WorkQueue, workers?: QueueWorkers | null): Promise<QueueMetrics> {
  return {
    queue: queue.name,
    depth: await queue.depth(),
    workers: workers ? workers.stats() : null,
  };
}

/** Adds the table above to `registry`; a scrape while the database is away keeps the last depth. */
export function registerQueueMetrics(
  registry: Registry,
  queue: WorkQueue,
  workers: QueueWorkers | null,
): void {
  const registers = [registry];
  new Gauge({
    name: 'pleo_export_queue_messages',
    help: 'Messages of the work queue by state (fleet-wide; pg-boss counts, one supervise interval old at most).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const depth = await queue.depth().catch(() => null);
      if (depth === null) return;
      for (const state of ['queued', 'ready', 'active', 'failed'] as const) this.set({ state }, depth[state]);
    },
  });
  if (workers === null) return;
  const stat = <K extends keyof WorkerStats>(key: K): WorkerStats[K] => workers.stats()[key];
  new Gauge({
    name: 'pleo_export_queue_worker_slots',
    help: 'Companies this process runs at once.',
    registers,
    collect() {
      this.set(stat('slots'));
    },
  });
  new Gauge({
    name: 'pleo_export_queue_worker_busy',
    help: 'Company runs under way in this process.',
    registers,
    collect() {
      this.set(stat('busy'));
    },
  });
  new Counter({
    name: 'pleo_export_queue_runs_total',
    help: "This process's company runs by result (failed and interrupted runs are retried).",
    labelNames: ['result'] as const,
    registers,
    collect() {
      this.reset();
      for (const result of ['completed', 'failed', 'interrupted'] as const)
        this.inc({ result }, stat(result));
    },
  });
  new Counter({
    name: 'pleo_export_queue_redeliveries_total',
    help: 'Messages this process received again after an earlier run of them died or failed.',
    registers,
    collect() {
      this.reset();
      this.inc(stat('redeliveries'));
    },
  });
  new Counter({
    name: 'pleo_export_lease_takeovers_total',
    help: 'Jobs this process acquired while another worker held their lease (it died or stalled).',
    registers,
    collect() {
      this.reset();
      this.inc(stat('takeovers'));
    },
  });
}
