/**
 * The floor: a lower bound on the wall time of a workload, whoever runs it.
 *
 * - Pleo: the calls that must happen one after another, × latency. One job listing; per job
 *   `started`, every page of job items (each page needs the previous page's cursor) beside every
 *   page of export items (the same, but reading the data layer needs nothing from the control
 *   layer, so the two chains can run side by side: the longer one counts), the last item update
 *   (earlier ones can overlap with booking; the last one needs the last outcome) and the final
 *   event. Receipt downloads are not in the floor: their
 *   number and concurrency are choices of the contender, and the baseline skips them.
 * - Local work: mapping every item and, with hledger, writing every booked entry, at the cost the
 *   microbenchmark measured for the contender's concurrency (1 writer = one fsync per entry;
 *   several writers share fsyncs).
 * - Accounting system over HTTP: one validation per job and one entry write per booked item,
 *   × its latency ÷ the allowed concurrency. Receipt uploads are not in the floor either.
 */
import type { MicrobenchResult } from './microbench.js';
import type { WorldShape } from './workloads.js';

export interface Floor {
  ms: number;
  pleoCalls: number;
  pleoMs: number;
  localMs: number;
  asMs: number;
}

export interface FloorInput {
  world: WorldShape;
  pageSize: number;
  concurrency: number;
  /** Items booked in the accounting system (successful at Pleo). */
  booked: number;
  micro: MicrobenchResult;
}

export function pagesPerJob(itemsPerJob: number, pageSize: number): number {
  return Math.max(1, Math.ceil(itemsPerJob / pageSize));
}

function writeUs(micro: MicrobenchResult, concurrency: number): number {
  return concurrency > 1 ? micro.hledgerConcurrent8Us : micro.hledgerSequentialUs;
}

export function throughputFloor(input: FloorInput): Floor {
  const { world, pageSize, concurrency, booked, micro } = input;
  const pages = pagesPerJob(world.itemsPerJob, pageSize);
  const pleoCalls = 1 + world.jobs * (pages + 3);
  const pleoMs = pleoCalls * world.latencyMs;
  const items = world.jobs * world.itemsPerJob;
  const localMs =
    (items * micro.mapUs + (world.adapter === 'hledger' ? booked * writeUs(micro, concurrency) : 0)) / 1000;
  const asMs =
    world.adapter === 'http' ? (world.jobs + booked / Math.max(1, concurrency)) * world.asLatencyMs : 0;
  return { ms: pleoMs + localMs + asMs, pleoCalls, pleoMs, localMs, asMs };
}

/**
 * Floor of a resumed run: list the jobs, re-list every page of the job's items once (to reconcile
 * with Pleo), book the remaining items, send the last update and the final event.
 */
export function resumeFloor(input: FloorInput & { remaining: number }): Floor {
  const { world, pageSize, booked, micro, remaining } = input;
  const pages = pagesPerJob(world.itemsPerJob, pageSize);
  const pleoCalls = 1 + pages + 2;
  const pleoMs = pleoCalls * world.latencyMs;
  const share = remaining / Math.max(1, world.itemsPerJob);
  const localMs = (remaining * micro.mapUs + booked * share * writeUs(micro, 1)) / 1000;
  return { ms: pleoMs + localMs, pleoCalls, pleoMs, localMs, asMs: 0 };
}

/**
 * The receipt floor: what receipts cost at least, beyond the floor, for a contender that handles
 * them (the aim for workload 1 with receipts is ≤ 1.3× floor + receipt floor): downloads ×
 * Pleo latency ÷ download concurrency, plus (HTTP adapter) what uploads add to the accounting
 * system's time. The engine stages an entry's receipts outside the write turn, so at most
 * `concurrency` entry writes and `2 × concurrency + 1` calls in all are in flight: the calls take
 * at least (entries + uploads) × latency ÷ (2 × concurrency + 1), of which the floor already counts
 * entries × latency ÷ concurrency.
 */
export function receiptsBoundMs(
  world: WorldShape,
  downloads: number,
  downloadConcurrency: number,
  uploads: number,
  concurrency: number,
  booked: number,
): number {
  const download = (downloads * world.latencyMs) / Math.max(1, downloadConcurrency);
  if (world.adapter !== 'http' || uploads === 0) return download;
  const c = Math.max(1, concurrency);
  const allCalls = ((booked + uploads) * world.asLatencyMs) / (2 * c + 1);
  const entryCalls = (booked * world.asLatencyMs) / c;
  return download + Math.max(0, allCalls - entryCalls);
}
