/** Turns the runs of a workload into the figures of the report: medians, spreads, floors. */
import { pagesPerJob, receiptsBoundMs, resumeFloor, throughputFloor, type Floor } from './floor.js';
import type { ResumeMeasurement, ThroughputMeasurement, FailedRun } from './measure.js';
import type { MicrobenchResult } from './microbench.js';
import { median, stat, type Stat } from './stats.js';
import type { ContenderSpec, RunRecord } from './world.js';

export const API_OPERATIONS = [
  'listJobs',
  'getJob',
  'sendJobEvent',
  'listJobItems',
  'listExportItems',
  'updateJobItems',
] as const;

export interface ContenderSummary {
  spec: ContenderSpec;
  runs: number;
  items: number;
  wallMs: Stat;
  itemsPerSec: number;
  cpuSec: Stat;
  maxRssBytes: Stat;
  /** CPU of the simulator + receiver process ÷ wall time (1.0 = one core busy). */
  worldCpuShare: number;
  requestsPerItem: Record<string, number>;
  apiPerItem: number;
  downloadsPerItem: number;
  asCallsPerItem: number;
  uploadsPerItem: number;
  booked: number;
  failed: number;
  floor: Floor;
  /** median wall ÷ floor */
  ratio: number;
  receiptsBoundMs: number;
  verified: boolean;
  problems: string[];
  digests: string[];
  failures: FailedRun[];
  /** Engine: median time of its phases (summed over jobs). */
  phases: { listing: number; fetching: number; booking: number } | null;
}

export interface ThroughputSummary {
  measurement: ThroughputMeasurement;
  contenders: ContenderSummary[];
  /** Every contender left the same per-item outcomes at Pleo (null: not compared). */
  sameOutcomes: boolean | null;
  /**
   * Set when the runs come from several runs of the harness (`--extend`): which run measured how
   * many of them, oldest first. Absent: all from the run that wrote the results.
   */
  parts?: MeasuredPart[];
}

/** Runs of a workload measured by one run of the harness. */
export interface MeasuredPart {
  startedAt: string;
  commit: string;
  dirty: boolean;
  /** Runs that finished, and runs that did not (a peer out of memory). */
  runs: number;
  failures: number;
  /** The processor of the machine that measured them (absent in raw results from before it was kept). */
  cpuModel?: string;
}

function perItem(runs: readonly RunRecord[], items: number, pick: (run: RunRecord) => number): number {
  return median(runs.map(pick)) / items;
}

function apiCalls(run: RunRecord): number {
  return API_OPERATIONS.reduce((sum, op) => sum + (run.requests[op] ?? 0), 0);
}

export function summariseThroughput(m: ThroughputMeasurement, micro: MicrobenchResult, pageSize: number) {
  const w = m.workload.world;
  const items = w.jobs * w.itemsPerJob;
  const contenders: ContenderSummary[] = [];
  for (const spec of m.workload.contenders) {
    const runs = m.runs.filter((r) => r.contender === spec.key);
    const failures = m.failures.filter((f) => f.contender === spec.key);
    if (runs.length === 0 && failures.length === 0) continue;
    const results = runs.map((r) => r.child.result!);
    const wallMs = stat(results.map((r) => r.wallMs));
    const booked = median(runs.map((r) => r.verification?.booked ?? 0));
    const floor = throughputFloor({ world: w, pageSize, concurrency: spec.concurrency, booked, micro });
    const requestsPerItem: Record<string, number> = {};
    for (const op of [...API_OPERATIONS, 'downloadFile']) {
      requestsPerItem[op] = perItem(runs, items, (r) => r.requests[op] ?? 0);
    }
    const downloads = median(runs.map((r) => r.requests['downloadFile'] ?? 0));
    const uploads = median(runs.map((r) => r.asReceiptUploads ?? 0));
    const asCalls = (r: RunRecord): number => {
      const calls = r.child.result!.adapterCalls;
      return (
        r.asRequests ??
        calls.validate + (calls.stageAttachments ?? 0) + calls.record + (calls.recordBatch ?? 0)
      );
    };
    const problems = [...new Set(runs.flatMap((r) => r.verification?.problems ?? []))];
    contenders.push({
      spec,
      runs: runs.length,
      items,
      wallMs,
      itemsPerSec: items / (wallMs.median / 1000),
      cpuSec: stat(results.map((r) => (r.cpuUserMs + r.cpuSystemMs) / 1000)),
      maxRssBytes: stat(results.map((r) => r.maxRssBytes)),
      worldCpuShare: median(runs.map((r) => r.worldCpuMs / r.child.result!.wallMs)),
      requestsPerItem,
      apiPerItem: perItem(runs, items, apiCalls),
      downloadsPerItem: downloads / items,
      asCallsPerItem: perItem(runs, items, asCalls),
      uploadsPerItem: uploads / items,
      booked,
      failed: median(runs.map((r) => r.verification?.failed ?? 0)),
      floor,
      ratio: wallMs.median / floor.ms,
      receiptsBoundMs: spec.receipts
        ? receiptsBoundMs(w, downloads, spec.downloadConcurrency, uploads, spec.concurrency, booked)
        : 0,
      verified: runs.length > 0 && runs.every((r) => r.verification?.ok === true),
      problems,
      digests: [...new Set(runs.map((r) => r.verification?.outcomeDigest ?? '').filter((d) => d !== ''))],
      failures,
      phases:
        results.every((r) => r.phases !== null) && results.length > 0
          ? {
              listing: median(results.map((r) => r.phases!.listing)),
              fetching: median(results.map((r) => r.phases!.fetching)),
              booking: median(results.map((r) => r.phases!.booking)),
            }
          : null,
    });
  }
  const digests = new Set(contenders.flatMap((c) => c.digests));
  const compared = contenders.filter((c) => c.digests.length > 0).length;
  return {
    measurement: m,
    contenders,
    sameOutcomes: compared >= 2 ? digests.size === 1 : null,
  } satisfies ThroughputSummary;
}

export interface ResumeSummary {
  measurement: ResumeMeasurement;
  items: number;
  remaining: number;
  wallMs: Stat;
  /** Time the first run took to record the killed-at share (from its samples). */
  firstRunMs: Stat;
  requests: Record<string, number>;
  relistingPages: number;
  /** Estimate of "the remaining work plus one re-listing": see `resumeBudgetMs`. */
  budgetMs: number;
  floor: Floor;
  ratio: number;
  verified: boolean;
  problems: string[];
  bookedTwice: number;
  reportedTwice: number;
}

/**
 * "The remaining work plus one re-listing", measured on the first run: its booking phase's pace
 * (ms per outcome, from its last progress sample) × the remaining items, plus the time its
 * listing phase took.
 */
function resumeBudgetMs(rep: ResumeMeasurement['reps'][number], remaining: number): number {
  const samples = rep.firstRun.samples.filter((s) => s.phases !== null && s.phases.booking > 0);
  const last = samples[samples.length - 1];
  if (!last?.phases) return Number.NaN;
  const bookedBefore = samples.length > 0 ? last.outcomes : 0;
  const pace = bookedBefore > 0 ? last.phases.booking / bookedBefore : Number.NaN;
  return remaining * pace + last.phases.listing;
}

export function summariseResume(m: ResumeMeasurement, micro: MicrobenchResult, pageSize: number) {
  const w = m.workload.world;
  const items = w.jobs * w.itemsPerJob;
  const rep0 = m.reps[0];
  const remaining = items - (rep0?.killedAfter ?? 0);
  const wallMs = stat(m.reps.map((r) => r.resumed.child.result!.wallMs));
  const budgets = m.reps.map((r) => resumeBudgetMs(r, remaining));
  const requests: Record<string, number> = {};
  for (const op of [...API_OPERATIONS, 'downloadFile']) {
    requests[op] = median(m.reps.map((r) => r.resumed.requests[op] ?? 0));
  }
  const booked = median(m.reps.map((r) => r.resumed.verification?.booked ?? 0));
  const floor = resumeFloor({ world: w, pageSize, concurrency: 1, booked, micro, remaining });
  const problems = [...new Set(m.reps.flatMap((r) => r.resumed.verification?.problems ?? []))];
  return {
    measurement: m,
    items,
    remaining,
    wallMs,
    firstRunMs: stat(m.reps.map((r) => r.firstRun.samples[r.firstRun.samples.length - 1]?.t ?? 0)),
    requests,
    relistingPages: pagesPerJob(w.itemsPerJob, pageSize),
    budgetMs: median(budgets),
    floor,
    ratio: wallMs.median / floor.ms,
    verified: m.reps.every((r) => r.resumed.verification?.ok === true),
    problems,
    bookedTwice: Math.max(0, ...m.reps.map((r) => r.resumed.verification?.bookedTwice ?? 0)),
    reportedTwice: Math.max(0, ...m.reps.map((r) => r.resumed.verification?.itemsUpdatedMoreThanOnce ?? 0)),
  } satisfies ResumeSummary;
}
