/**
 * What the harness (parent) and a contender process (child) exchange: the configuration goes in
 * through the `BENCH_CONFIG` environment variable; the child prints `BENCH_SAMPLE <json>` lines
 * while it works and one `BENCH_RESULT <json>` line when it is done.
 */

export type ContenderKind = 'engine' | 'baseline';

export type AdapterSpec = { kind: 'hledger'; journalPath: string } | { kind: 'http'; url: string };

export interface ContenderConfig {
  contender: ContenderKind;
  simUrl: string;
  apiKey: string;
  companyId: string;
  /** Seed of the simulator data: the accounting configuration matching it is derived from it. */
  seed: number;
  pageSize: number;
  adapter: AdapterSpec;
  /** The engine's data directory (SQLite state, receipts). */
  dataDir: string;
  /** Engine: accounting-system writes in flight. */
  concurrency: number;
  /** Engine: parallel receipt downloads. */
  downloadConcurrency: number;
  /** Engine: download receipts and attach them (Pleo requires it); false = the baseline's work. */
  receipts: boolean;
  /** Engine: SIGKILL itself once this many outcomes are recorded (the resume workload). */
  killAfterOutcomes?: number;
  /** Interval of `BENCH_SAMPLE` lines. */
  sampleMs: number;
}

export interface AdapterCalls {
  validate: number;
  /** Absent from raw results written before the harness passed staging through (none were made). */
  stageAttachments?: number;
  record: number;
  /** `recordBatch` calls (each one write of several entries), and the entries they carried. */
  recordBatch?: number;
  batchedEntries?: number;
  findExisting: number;
}

export interface JobOutcome {
  jobId: string;
  event: string | null;
  successful: number;
  failed: number;
}

export interface ContenderSample {
  /** ms since the measured work started. */
  t: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Accounting-adapter `record` calls so far (progress). */
  records: number;
  /** Engine: outcomes recorded so far. */
  outcomes: number;
  /** Engine: its phases so far. */
  phases: EnginePhases | null;
}

/** Where the engine's time went, summed over jobs (ms): from the events it emits. */
export interface EnginePhases {
  /** Claim until the last page of job items is stored. */
  listing: number;
  /** Until every export item is fetched and its receipts downloaded (the job is planned). */
  fetching: number;
  /** Until the job is completed: booking, reporting, final event. */
  booking: number;
}

export interface ContenderResult {
  /** The measured work: from the first Pleo call to the last answer (setup and imports excluded). */
  wallMs: number;
  /** CPU time of the child during the measured work. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Peak resident set size of the child process (`process.resourceUsage().maxRSS`). */
  maxRssBytes: number;
  adapterCalls: AdapterCalls;
  jobs: JobOutcome[];
  phases: EnginePhases | null;
}

export const SAMPLE_PREFIX = 'BENCH_SAMPLE ';
export const RESULT_PREFIX = 'BENCH_RESULT ';
