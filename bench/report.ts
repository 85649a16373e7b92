/** Writes BENCHMARKS.md from the summaries of a fresh run. */
import { seconds } from './chart.js';
import type { Machine } from './machine.js';
import type { MicrobenchResult } from './microbench.js';
import { scaleOutCriticalCalls, type ScaleOutMeasurement, type ScaleOutPoint } from './scale-out.js';
import { spread, type Stat } from './stats.js';
import {
  API_OPERATIONS,
  type ContenderSummary,
  type MeasuredPart,
  type ResumeSummary,
  type ThroughputSummary,
} from './summary.js';
import type { Workload, WorkloadId } from './workloads.js';
import { analysis } from './analysis.js';

export interface ReportInput {
  mode: 'full' | 'quick';
  repeat: number;
  seed: number;
  pageSize: number;
  command: string;
  startedAt: Date;
  durationMs: number;
  /** False while the run is still going (the report is rewritten after each workload). */
  complete: boolean;
  machine: Machine;
  /** 1-minute load average sampled every 10 s during the run (not while workload 6 runs). */
  load: Stat;
  /**
   * Workload 6 ran in this run: its own worker processes load the machine, so the samples leave out
   * its time and the minute after it (absent in raw results from before this field).
   */
  loadSkipsScaleOut?: boolean;
  micro: MicrobenchResult | null;
  chartFile: string;
  workloads: Workload[];
  throughput: Map<WorkloadId, ThroughputSummary>;
  resume: ResumeSummary | null;
  scaleOut: ScaleOutMeasurement | null;
  /** Workloads that could not be measured, and why. */
  failed: ReadonlyMap<WorkloadId, string>;
  skipped: WorkloadId[];
  /** Workloads taken from earlier runs (`--merge`), with where they come from. */
  carried: CarriedWorkloads[];
}

/** Results of some workloads kept from an earlier run of the same mode and seed (`--merge`). */
export interface CarriedWorkloads {
  ids: WorkloadId[];
  startedAt: string;
  commit: string;
  dirty: boolean;
  repeat: number;
  /** The processor of the machine that measured them (absent in raw results from before it was kept). */
  cpuModel?: string;
}

const MB = 2 ** 20;

function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

function withSpread(s: Stat, render: (v: number) => string): string {
  if (s.n === 0) return '–';
  return s.n < 2 ? `${render(s.median)} (1 run)` : `${render(s.median)} ±${(spread(s) * 100).toFixed(0)} %`;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function contenderRow(c: ContenderSummary): string[] {
  if (c.runs === 0) {
    const f = c.failures[0];
    return [
      c.spec.label,
      `did not finish: ${f?.reason ?? '?'}`,
      '–',
      '–',
      '–',
      '–',
      '–',
      f ? `≥ ${int(f.peakRssBytes / MB)} MB` : '–',
      '–',
      '–',
      'no',
    ];
  }
  return [
    c.spec.label,
    withSpread(c.wallMs, seconds),
    int(c.itemsPerSec),
    `${fmt(c.ratio)}×`,
    fmt(c.apiPerItem, 4),
    fmt(c.downloadsPerItem, 3),
    fmt(c.asCallsPerItem, 3),
    withSpread(c.maxRssBytes, (v) => `${int(v / MB)} MB`),
    withSpread(c.cpuSec, (v) => fmt(v, 1)),
    `${fmt(c.worldCpuShare * 100, 0)} %`,
    c.verified ? 'yes' : `**no**: ${c.problems.join('; ')}`,
  ];
}

const CONTENDER_HEAD = [
  'contender',
  'wall time (median ± half range)',
  'items/s',
  'time ÷ floor',
  'Pleo API requests/item',
  'receipt downloads/item',
  'accounting-system calls/item',
  'peak RSS',
  'CPU s',
  'simulator CPU',
  'output verified',
];

function endpointTable(contenders: readonly ContenderSummary[]): string {
  const ops = [...API_OPERATIONS, 'downloadFile'];
  return table(
    ['contender (requests per item)', ...ops],
    contenders
      .filter((c) => c.runs > 0)
      .map((c) => [
        c.spec.label,
        ...ops.map((op) => {
          const v = c.requestsPerItem[op] ?? 0;
          return v === 0 ? '0' : fmt(v, 4);
        }),
      ]),
  );
}

function floorText(s: ThroughputSummary, pageSize: number): string {
  const w = s.measurement.workload.world;
  const pages = Math.ceil(w.itemsPerJob / pageSize);
  const lines = s.contenders
    .filter((c) => c.runs > 0)
    .map(
      (c) =>
        `  - ${c.spec.label}: ${int(c.floor.pleoCalls)} calls × ${w.latencyMs} ms = ${seconds(c.floor.pleoMs)}` +
        ` + local work ${seconds(c.floor.localMs)}` +
        (w.adapter === 'http'
          ? ` + accounting system (${w.jobs} validations + ${int(c.booked)} entries ÷ ${c.spec.concurrency}) × ${w.asLatencyMs} ms = ${seconds(c.floor.asMs)}`
          : '') +
        ` → **${seconds(c.floor.ms)}**` +
        (c.receiptsBoundMs > 0
          ? `; receipt floor ${seconds(c.receiptsBoundMs)} (receipts are not in the floor)`
          : ''),
    );
  return [
    `Floor: Pleo calls in sequence = 1 job listing + ${w.jobs} × (started + ${pages} job-item pages beside ${pages} export-item pages (the two listings need nothing from each other) + last item update + final event) = ${int(1 + w.jobs * (pages + 3))}.`,
    ...lines,
  ].join('\n');
}

/** Where the runs of a workload measured in parts (`--extend`) come from. */
/** "DATE UTC at commit X (with uncommitted changes) on CPU": which run of the harness measured something. */
function measuredAt(p: Pick<MeasuredPart, 'startedAt' | 'commit' | 'dirty' | 'cpuModel'>): string {
  return `${p.startedAt.slice(0, 16).replace('T', ' ')} UTC at commit ${p.commit}${p.dirty ? ' (with uncommitted changes)' : ''}${p.cpuModel ? ` on ${p.cpuModel}` : ''}`;
}

function partsText(s: ThroughputSummary): string[] {
  if (s.parts === undefined || s.parts.length < 2) return [];
  const part = (p: MeasuredPart): string =>
    `${p.runs} run(s)${p.failures > 0 ? ` and ${p.failures} that did not finish` : ''} on ${measuredAt(p)}`;
  return [
    '',
    `Measured in ${s.parts.length} parts (\`--extend\`): ${s.parts.map(part).join('; ')}. Medians and spreads are over all the runs; the floor uses the latest part's microbenchmarks.`,
  ];
}

function throughputSection(index: number, s: ThroughputSummary, input: ReportInput): string {
  const w = s.measurement.workload.world;
  const out = [
    `### Workload ${index}: ${s.measurement.workload.title}`,
    '',
    `${w.jobs} job(s) × ${int(w.itemsPerJob)} items, Pleo latency ${w.latencyMs} ms per request, ` +
      (w.adapter === 'hledger'
        ? 'hledger journal adapter.'
        : `generic HTTP adapter against the reference receiver answering in ${w.asLatencyMs} ms.`),
    ...partsText(s),
    '',
    table(CONTENDER_HEAD, s.contenders.map(contenderRow)),
    '',
    endpointTable(s.contenders),
    '',
    floorText(s, input.pageSize),
    '',
    s.sameOutcomes === null
      ? 'Per-item outcomes were not compared between contenders (too many items or one contender did not finish).'
      : s.sameOutcomes
        ? 'Every contender left the same final status on every item at Pleo (digest of all item statuses).'
        : '**The contenders left different item statuses at Pleo.**',
  ];
  for (const c of s.contenders) {
    for (const f of c.failures) {
      out.push(
        '',
        `${c.spec.label} did not finish: ${f.reason}. Before that it had recorded ${int(f.records)} of ${int(c.items)} items in ${seconds(f.afterMs)} and reached ${int(f.peakRssBytes / MB)} MB RSS.`,
      );
    }
  }
  return out.join('\n');
}

function resumeSection(index: number, r: ResumeSummary): string {
  const w = r.measurement.workload.world;
  const ops = [...API_OPERATIONS, 'downloadFile'];
  return [
    `### Workload ${index}: ${r.measurement.workload.title}`,
    '',
    `The engine (concurrency ${r.measurement.workload.contender.concurrency}, receipts ${r.measurement.workload.contender.receipts ? 'on' : 'off'}) runs ${int(r.items)} items with Pleo latency ${w.latencyMs} ms and the hledger adapter; it SIGKILLs itself once ${int(r.items - r.remaining)} outcomes are recorded, then a new process resumes from the same data directory and journal. Figures are for the resumed run.`,
    '',
    table(
      [
        'resumed run',
        'wall time',
        'remaining work + one re-listing (estimate)',
        'floor',
        'time ÷ floor',
        'booked twice',
        'reported twice',
        'output verified',
      ],
      [
        [
          `${r.measurement.reps.length} repetition(s)`,
          withSpread(r.wallMs, seconds),
          seconds(r.budgetMs),
          seconds(r.floor.ms),
          `${fmt(r.ratio)}×`,
          int(r.bookedTwice),
          int(r.reportedTwice),
          r.verified ? 'yes' : `**no**: ${r.problems.join('; ')}`,
        ],
      ],
    ),
    '',
    table(
      ['requests of the resumed run', ...ops],
      [['median', ...ops.map((op) => int(r.requests[op] ?? 0))]],
    ),
    '',
    `One re-listing is ${r.relistingPages} pages of job items. The estimate of "the remaining work plus one re-listing" comes from the killed run itself: its booking pace (ms per recorded outcome) × the ${int(r.remaining)} remaining items, plus the time its own listing took. The floor is 1 job listing + ${r.relistingPages} re-listing pages + the last update + the final event (${int(r.floor.pleoCalls)} calls × ${w.latencyMs} ms = ${seconds(r.floor.pleoMs)}) + local work for the remaining items (${seconds(r.floor.localMs)}).`,
    '',
    'The baseline keeps no state: killed at 90 %, its restart starts the job over (its workload 3 time), and nothing it booked was reported to Pleo.',
  ].join('\n');
}

function scaleOutSection(index: number, s: ScaleOutMeasurement, cores: number): string {
  const head = [`### Workload ${index}: ${s.workload.title}`, ''];
  if (s.status === 'not-run') return [...head, `**Not run**: ${s.reason}.`].join('\n');
  const one = s.points.find((p) => p.workers === 1);
  const w = s.workload;
  const { pages, calls } = scaleOutCriticalCalls(w);
  const optional = (v: Stat | undefined, render: (x: number) => string): string =>
    v === undefined ? '–' : withSpread(v, render);
  const api = (p: ScaleOutPoint): string =>
    p.requestsPerItem === undefined
      ? '–'
      : fmt(
          API_OPERATIONS.reduce((sum, op) => sum + (p.requestsPerItem?.[op] ?? 0), 0),
          4,
        );
  return [
    ...head,
    `${int(w.companies)} companies × 1 job × ${int(w.itemsPerJob)} items, Pleo latency ${w.latencyMs} ms, the generic HTTP adapter against the reference receiver (${w.asLatencyMs} ms), engine concurrency 1, one PostgreSQL database (store and queue) on this machine. Each worker is a \`pleo-export worker --workers 1\` process. *Workers' CPU* is the sum over the worker processes; *machine busy* is the share of all ${cores} cores in use over the run, whatever used them (workers, PostgreSQL, the simulator and receiver in the harness).`,
    '',
    table(
      [
        'workers',
        'wall time',
        'items/s',
        'speed-up over 1 worker',
        'time ÷ floor',
        'Pleo API requests/item',
        'receipt downloads/item',
        'accounting-system calls/item',
        'peak RSS (largest worker)',
        "workers' CPU s",
        'machine busy',
        'output verified',
      ],
      s.points.map((p) => [
        String(p.workers),
        withSpread(p.wallMs, seconds),
        int(p.itemsPerSec),
        one ? `${fmt(one.wallMs.median / p.wallMs.median)}×` : '–',
        p.floorMs === undefined ? '–' : `${fmt(p.wallMs.median / p.floorMs)}×`,
        api(p),
        p.requestsPerItem === undefined ? '–' : fmt(p.requestsPerItem['downloadFile'] ?? 0, 3),
        p.asCallsPerItem === undefined ? '–' : fmt(p.asCallsPerItem, 3),
        optional(p.workerMaxRssBytes, (v) => `${int(v / MB)} MB`),
        optional(p.workerCpuSec, (v) => fmt(v, 1)),
        optional(p.machineBusy, (v) => `${fmt(v * 100, 0)} %`),
        p.verified ? 'yes' : `**no**: ${p.problems.join('; ')}`,
      ]),
    ),
    '',
    `Floor: per company, the Pleo calls in sequence = list its jobs + started + ${pages} job-item pages beside ${pages} export-item pages + last item update + final event = ${calls} calls × ${w.latencyMs} ms, once per round of companies (⌈${w.companies} ÷ workers⌉ rounds). It leaves out local work, which the CPU columns show.`,
  ].join('\n');
}

export function renderReport(input: ReportInput): string {
  const m = input.machine;
  const sections: string[] = [];
  input.workloads.forEach((w, i) => {
    const n = i + 1;
    const failure = input.failed.get(w.id);
    if (failure !== undefined) {
      sections.push(`### Workload ${n}: ${w.title}\n\n**Not completed**: ${failure}`);
      return;
    }
    if (input.skipped.includes(w.id)) {
      sections.push(
        `### Workload ${n}: ${w.title}\n\n**Not measured in this report.** \`npm run bench -- --only ${w.id} --merge <copy of BENCHMARKS.json>\` measures it and keeps the rest.` +
          (w.kind === 'throughput' && w.optIn !== undefined
            ? ` It is left out of the default set (${w.optIn}): it runs only when \`--only\` names it.`
            : ''),
      );
      return;
    }
    if (w.kind === 'throughput') {
      const s = input.throughput.get(w.id);
      if (s) sections.push(throughputSection(n, s, input));
    } else if (w.kind === 'resume' && input.resume) sections.push(resumeSection(n, input.resume));
    else if (w.kind === 'scale-out' && input.scaleOut)
      sections.push(scaleOutSection(n, input.scaleOut, input.machine.cores));
  });
  const micro = input.micro;
  return [
    '# Benchmarks',
    '',
    `Generated by \`${input.command}\` on ${input.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC in ${seconds(input.durationMs)} ` +
      `(${input.mode} run, ${input.repeat} repetition(s) per measurement, seed ${input.seed}). ` +
      `Code: commit ${m.commit}${m.dirty ? ' with uncommitted changes in the working tree' : ''}. ` +
      'This file is written by the harness from a fresh run; do not edit it by hand.',
    '',
    ...input.carried.map(
      (c) =>
        `Carried over from an earlier run (\`--merge\`): ${c.ids.join(', ')}, measured on ${measuredAt(c)}, ${c.repeat} repetition(s).\n`,
    ),
    ...(input.complete
      ? []
      : [
          '> **Partial run**: the report is rewritten after each workload (workloads 1-4: after each run) while a run goes on; workloads marked *not measured* were not reached (still running, or the run was stopped), and a workload being measured shows the runs it had finished.',
          '',
        ]),
    table(
      ['cores', 'CPU', 'memory', 'Node', 'OS'],
      [[String(m.cores), m.cpuModel, `${fmt(m.memoryGiB, 1)} GiB`, m.node, m.os]],
    ),
    '',
    ...(input.carried.some((c) => c.cpuModel !== undefined && c.cpuModel !== m.cpuModel)
      ? [
          `This is the machine of this run. Workloads carried over were measured where their line above says, on machines of the same size but not always the same processor: compare figures across workloads with that in mind.`,
          '',
        ]
      : []),
    `Load average during the run (1 minute, sampled every 10 s): median ${fmt(input.load.median)}, max ${fmt(input.load.max)} on ${m.cores} cores` +
      loadNote(input),
    '',
    ...(input.mode === 'quick'
      ? [
          '> **Quick run**: tiny sizes and 1 repetition, to keep the harness working in CI. The figures mean nothing; run `npm run bench` for the real ones.',
          '',
        ]
      : []),
    '## Aims and where we are',
    '',
    analysis.aimsTable(input),
    '',
    `![Wall time per workload and contender, with the floor](${input.chartFile})`,
    '',
    '## What bounds each miss',
    '',
    analysis.bounds(input),
    '',
    '## Results',
    '',
    sections.join('\n\n'),
    '',
    '## Method',
    '',
    analysis.method(input),
    '',
    micro
      ? table(
          [
            `microbenchmark (${int(micro.items)} simulator items, ${micro.rounds} round(s))`,
            'µs per item, fastest round (used in the floor)',
            'median',
          ],
          [
            [
              '`mapExportItem` (export item → balanced entry)',
              fmt(micro.mapUs, 1),
              fmt(micro.mapMedianUs, 1),
            ],
            [
              'hledger `record`, one writer (one fsync per entry)',
              fmt(micro.hledgerSequentialUs, 1),
              fmt(micro.hledgerSequentialMedianUs, 1),
            ],
            [
              'hledger `record`, 8 writers (group commit)',
              fmt(micro.hledgerConcurrent8Us, 1),
              fmt(micro.hledgerConcurrent8MedianUs, 1),
            ],
          ],
        ) +
        // Absent from raw results written before the index left the heap (they measured the heap only).
        (typeof micro.hledgerIndexBytesPerEntry !== 'number'
          ? ''
          : `\n\nThe hledger adapter keeps an index of the journal in memory, in typed arrays outside the JavaScript heap: ${int(micro.hledgerIndexBytesPerEntry)} bytes per entry, heap and buffers together (after a full GC, ${int(micro.hledgerIndexEntries)} entries; the arrays double as they fill), so about ${int((micro.hledgerIndexBytesPerEntry * 1_000_000) / MB)} MB for a million entries.`)
      : '',
    '',
    analysis.howToRun(),
    '',
  ].join('\n');
}

/** What the load average says about the run: someone else's work, or workload 6's own workers. */
function loadNote(input: ReportInput): string {
  const scaleOutHere = input.scaleOut !== null && !input.carried.some((c) => c.ids.includes('w6'));
  if (input.loadSkipsScaleOut !== true && scaleOutHere) {
    // Raw results from before the sampler paused for workload 6: its workers are in the samples.
    return ', workload 6 included: its own worker processes (up to 8 at once, on purpose) are most of that load; the other workloads ran apart from them.';
  }
  const skipped =
    input.loadSkipsScaleOut === true
      ? ', not sampled while workload 6 ran nor in the minute after (its own worker processes are the load it measures: see its *machine busy* column)'
      : '';
  return (
    skipped +
    (input.load.median > input.machine.cores * 0.75
      ? ' — **other processes competed for the CPU and the disk**: absolute times are inflated and noisy; contenders ran alternately, so their ratios are fairer than their times.'
      : '.')
  );
}
