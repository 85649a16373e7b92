/**
 * The workloads of issue 8, their sizes in the full and the quick run, and the contenders each
 * one compares. Sizes of the quick run only keep the harness working (CI); they measure nothing.
 * The full run's default set is sized to finish in about half an hour on 2 cores (issue 20), so
 * that every change can be measured again in the same session; workload 4 (a million items,
 * about an hour per repetition) runs only when `--only` names it.
 */
import { DEFAULT_DOWNLOAD_CONCURRENCY } from '../src/engine/index.js';
import type { ContenderSpec, WorldSpec } from './world.js';

export type WorkloadId = 'w1' | 'w2' | 'w3' | 'w4' | 'w5' | 'w6';
export const WORKLOAD_IDS: readonly WorkloadId[] = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];

export type WorldShape = Omit<WorldSpec, 'seed' | 'pageSize'>;

export interface ThroughputWorkload {
  kind: 'throughput';
  id: WorkloadId;
  title: string;
  world: WorldShape;
  contenders: ContenderSpec[];
  /** The baseline is run once; if it cannot finish, later repetitions run the engine only. */
  baselineMayFail?: boolean;
  /** Too long for the default set: run only when `--only` names it (why, for the report). */
  optIn?: string;
}

export interface ResumeWorkload {
  kind: 'resume';
  id: WorkloadId;
  title: string;
  world: WorldShape;
  contender: ContenderSpec;
  /** Share of the items whose outcome is recorded before the engine is killed. */
  killAt: number;
}

export interface ScaleOutWorkload {
  kind: 'scale-out';
  id: WorkloadId;
  title: string;
  companies: number;
  itemsPerJob: number;
  latencyMs: number;
  asLatencyMs: number;
  workers: number[];
}

export type Workload = ThroughputWorkload | ResumeWorkload | ScaleOutWorkload;

/** The engine's download concurrency: the shipped default (`engine.downloadConcurrency`). */
export { DEFAULT_DOWNLOAD_CONCURRENCY };

export const BASELINE: ContenderSpec = {
  key: 'baseline',
  label: 'baseline (Pleo docs)',
  kind: 'baseline',
  concurrency: 1,
  downloadConcurrency: 0,
  receipts: false,
};

function engine(concurrency: number, receipts = true): ContenderSpec {
  return {
    key: `engine-c${concurrency}${receipts ? '' : '-noreceipts'}`,
    label: `engine, concurrency ${concurrency}${receipts ? '' : ', receipts off'}`,
    kind: 'engine',
    concurrency,
    downloadConcurrency: DEFAULT_DOWNLOAD_CONCURRENCY,
    receipts,
  };
}

/**
 * Workloads 1 and 2 show what receipts cost (the engine with and without them); workloads 3-5
 * measure size and resumption with the baseline's work (receipts off), so the figures compare like
 * with like and a run of a million items fits in an afternoon.
 *
 * Full sizes (issue 20: the default set within 40 minutes; earlier reports used larger ones):
 * workload 2 books 2,000 entries at 40 ms instead of 10,000 (the baseline's 400 s per repetition
 * showed nothing 80 s does not), workloads 3 and 5 run one job of 25,000 items instead of 100,000
 * (one large job, many pages; workload 4 is the size test), workload 6 drains 8,000 items with 1, 2
 * and 4 workers (its aim compares 4 with 1; 8 workers on 2 cores only showed the cores).
 */
export function workloads(quick: boolean): Workload[] {
  const latencyMs = quick ? 5 : 25;
  const hledger = (jobs: number, itemsPerJob: number): WorldShape => ({
    jobs,
    itemsPerJob,
    latencyMs,
    adapter: 'hledger',
    asLatencyMs: 0,
  });
  return [
    {
      kind: 'throughput',
      id: 'w1',
      title: quick ? '2 jobs × 150 items, hledger' : '10 jobs × 1,000 items, hledger',
      world: hledger(quick ? 2 : 10, quick ? 150 : 1000),
      contenders: [BASELINE, engine(1), engine(1, false), engine(8), engine(8, false)],
    },
    {
      kind: 'throughput',
      id: 'w2',
      title: quick
        ? '2 jobs × 100 items, HTTP adapter, accounting system 5 ms'
        : '4 jobs × 500 items, HTTP adapter, accounting system 40 ms',
      world: {
        jobs: quick ? 2 : 4,
        itemsPerJob: quick ? 100 : 500,
        latencyMs,
        adapter: 'http',
        asLatencyMs: quick ? 5 : 40,
      },
      contenders: [BASELINE, engine(1), engine(8), engine(8, false)],
    },
    {
      kind: 'throughput',
      id: 'w3',
      title: quick ? '1 job × 400 items, hledger' : '1 job × 25,000 items, hledger',
      world: hledger(1, quick ? 400 : 25_000),
      contenders: [BASELINE, engine(1, false)],
    },
    {
      kind: 'throughput',
      id: 'w4',
      title: quick ? '1 job × 1,000 items, hledger' : '1 job × 1,000,000 items, hledger',
      world: hledger(1, quick ? 1000 : 1_000_000),
      contenders: [BASELINE, engine(1, false)],
      baselineMayFail: true,
      optIn: 'in a full run a million items, about an hour per repetition for both contenders',
    },
    {
      kind: 'resume',
      id: 'w5',
      title: quick
        ? 'resume: 1 job × 400 items, engine killed at 90 %'
        : 'resume: 1 job × 25,000 items, engine killed at 90 %',
      world: hledger(1, quick ? 400 : 25_000),
      contender: engine(1, false),
      killAt: 0.9,
    },
    {
      kind: 'scale-out',
      id: 'w6',
      title: quick
        ? 'scale-out: 4 companies × 1 job × 50 items, 1 and 2 workers'
        : 'scale-out: 40 companies × 1 job × 200 items, 1, 2 and 4 workers',
      companies: quick ? 4 : 40,
      itemsPerJob: quick ? 50 : 200,
      latencyMs,
      asLatencyMs: 0,
      workers: quick ? [1, 2] : [1, 2, 4],
    },
  ];
}
