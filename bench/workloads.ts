/**
 * The workloads of issue 8, their sizes in the full and the quick run, and the contenders each
 * one compares. Sizes of the quick run only keep the harness working (CI); they measure nothing.
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
        : '10 jobs × 1,000 items, HTTP adapter, accounting system 40 ms',
      world: {
        jobs: quick ? 2 : 10,
        itemsPerJob: quick ? 100 : 1000,
        latencyMs,
        adapter: 'http',
        asLatencyMs: quick ? 5 : 40,
      },
      contenders: [BASELINE, engine(1), engine(8), engine(8, false)],
    },
    {
      kind: 'throughput',
      id: 'w3',
      title: quick ? '1 job × 400 items, hledger' : '1 job × 100,000 items, hledger',
      world: hledger(1, quick ? 400 : 100_000),
      contenders: [BASELINE, engine(1, false)],
    },
    {
      kind: 'throughput',
      id: 'w4',
      title: quick ? '1 job × 1,000 items, hledger' : '1 job × 1,000,000 items, hledger',
      world: hledger(1, quick ? 1000 : 1_000_000),
      contenders: [BASELINE, engine(1, false)],
      baselineMayFail: true,
    },
    {
      kind: 'resume',
      id: 'w5',
      title: quick
        ? 'resume: 1 job × 400 items, engine killed at 90 %'
        : 'resume: 1 job × 100,000 items, engine killed at 90 %',
      world: hledger(1, quick ? 400 : 100_000),
      contender: engine(1, false),
      killAt: 0.9,
    },
    {
      kind: 'scale-out',
      id: 'w6',
      title: quick
        ? 'scale-out: 4 companies × 1 job × 50 items, 1 and 2 workers'
        : 'scale-out: 200 companies × 1 job × 500 items, 1, 2, 4 and 8 workers',
      companies: quick ? 4 : 200,
      itemsPerJob: quick ? 50 : 500,
      latencyMs,
      asLatencyMs: 0,
      workers: quick ? [1, 2] : [1, 2, 4, 8],
    },
  ];
}
