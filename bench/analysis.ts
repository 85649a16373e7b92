/**
 * The prose of the report: the aims checked against this run's figures, what bounds each miss
 * (computed from the same figures), the method, and how to run the harness.
 */
import { seconds } from './chart.js';
import type { ReportInput } from './report.js';
import type { ContenderSummary, ThroughputSummary } from './summary.js';
import type { WorkloadId } from './workloads.js';

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function line(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

const NUMBER: Record<WorkloadId, number> = { w1: 1, w2: 2, w3: 3, w4: 4, w5: 5, w6: 6 };

function ran(s: ThroughputSummary | undefined): ContenderSummary[] {
  return s ? s.contenders.filter((c) => c.runs > 0) : [];
}

function baselineOf(s: ThroughputSummary | undefined): ContenderSummary | undefined {
  return ran(s).find((c) => c.spec.kind === 'baseline');
}

function verdict(ok: boolean | null): string {
  return ok === null ? 'not measured' : ok ? 'met' : '**missed**';
}

function aimsTable(input: ReportInput): string {
  const rows: string[][] = [];
  const t = input.throughput;

  // 1. Never slower than the baseline.
  const speedups: string[] = [];
  let never: boolean | null = null;
  for (const [id, s] of t) {
    const base = baselineOf(s);
    if (!base) continue;
    for (const c of ran(s).filter((x) => x.spec.kind === 'engine')) {
      const x = base.wallMs.median / c.wallMs.median;
      speedups.push(`W${NUMBER[id]} ${c.spec.label}: ${fmt(x)}×`);
      if (c.spec.receipts) never = (never ?? true) && x >= 1;
    }
  }
  rows.push([
    'Engine never slower than the baseline (baseline time ÷ engine time ≥ 1; engine with receipts)',
    speedups.join('<br>') || '–',
    verdict(never),
  ]);

  // 2. ≥ 5× on workload 2 at concurrency 8.
  const w2 = t.get('w2');
  const c8 = ran(w2).find((c) => c.spec.key === 'engine-c8');
  const b2 = baselineOf(w2);
  const x8 = c8 && b2 ? b2.wallMs.median / c8.wallMs.median : null;
  rows.push([
    '≥ 5× faster than the baseline on workload 2 at concurrency 8',
    x8 === null ? '–' : `${fmt(x8)}×`,
    verdict(x8 === null ? null : x8 >= 5),
  ]);

  // 3. Within 1.3× of the floor on workloads 1-3.
  const ratios: string[] = [];
  let within: boolean | null = null;
  for (const id of ['w1', 'w2', 'w3'] as const) {
    for (const c of ran(t.get(id)).filter((x) => x.spec.kind === 'engine')) {
      ratios.push(`W${NUMBER[id]} ${c.spec.label}: ${fmt(c.ratio)}×`);
      if (c.spec.receipts) within = (within ?? true) && c.ratio <= 1.3;
    }
  }
  rows.push([
    'Within 1.3× of the floor on workloads 1-3 (engine with receipts)',
    ratios.join('<br>') || '–',
    verdict(within),
  ]);

  // 4. Pleo API requests per item.
  const perItem: string[] = [];
  let worst: number | null = null;
  for (const [id, s] of t) {
    for (const c of ran(s).filter((x) => x.spec.kind === 'engine')) {
      perItem.push(`W${NUMBER[id]} ${c.spec.label}: ${fmt(c.apiPerItem, 4)}`);
      worst = Math.max(worst ?? 0, c.apiPerItem);
    }
  }
  rows.push([
    '≤ 0.035 Pleo API requests per item at page size 100 (receipt downloads counted apart)',
    perItem.join('<br>') || '–',
    verdict(worst === null ? null : worst <= 0.035),
  ]);

  // 5. Workload 4 RSS.
  const w4 = ran(t.get('w4')).find((c) => c.spec.kind === 'engine');
  const rss = w4 ? w4.maxRssBytes.median / 2 ** 20 : null;
  rows.push([
    'Workload 4 with peak RSS ≤ 300 MB',
    rss === null ? '–' : `${fmt(rss, 0)} MB`,
    verdict(rss === null ? null : rss <= 300),
  ]);

  // 6. Resume.
  const r = input.resume;
  if (r) {
    const onceListed = r.requests['listJobItems'] === r.relistingPages;
    const ok = r.wallMs.median <= r.budgetMs && onceListed && r.bookedTwice === 0 && r.reportedTwice === 0;
    rows.push([
      'Resume costs no more than the remaining work plus one re-listing, and books nothing twice',
      `${seconds(r.wallMs.median)} vs ${seconds(r.budgetMs)} estimated; ${r.requests['listJobItems'] ?? 0} job-item pages (one listing = ${r.relistingPages}); ${r.requests['listExportItems'] ?? 0} export-item pages; ${r.bookedTwice} booked twice, ${r.reportedTwice} reported twice`,
      verdict(ok),
    ]);
  } else rows.push(['Resume costs no more than the remaining work plus one re-listing', '–', 'not measured']);

  // 7. Scale-out.
  const so = input.scaleOut;
  if (so?.status === 'run') {
    const one = so.points.find((p) => p.workers === 1);
    const four = so.points.find((p) => p.workers === 4);
    const x = one && four ? one.wallMs.median / four.wallMs.median : null;
    rows.push([
      '4 workers ≥ 3× one worker on workload 6',
      x === null ? '–' : `${fmt(x)}×`,
      verdict(x === null ? null : x >= 3),
    ]);
  } else {
    rows.push([
      '4 workers ≥ 3× one worker on workload 6',
      so ? `not run: ${so.reason}` : '–',
      'not measured',
    ]);
  }
  return [line(['aim', 'this run', 'verdict']), line(['---', '---', '---']), ...rows.map(line)].join('\n');
}

function bounds(input: ReportInput): string {
  const out: string[] = [];
  for (const [id, s] of input.throughput) {
    const base = baselineOf(s);
    for (const c of ran(s).filter((x) => x.spec.kind === 'engine')) {
      const notes: string[] = [];
      if (c.receiptsBoundMs > 0) {
        notes.push(
          `receipts: ${fmt(c.downloadsPerItem * c.items, 0)} downloads × ${s.measurement.workload.world.latencyMs} ms ÷ ${c.spec.downloadConcurrency} in parallel` +
            (c.uploadsPerItem > 0
              ? ` + ${fmt(c.uploadsPerItem * c.items, 0)} uploads × ${s.measurement.workload.world.asLatencyMs} ms ÷ ${c.spec.concurrency}`
              : '') +
            ` ≥ ${seconds(c.receiptsBoundMs)}; floor + receipts = ${seconds(c.floor.ms + c.receiptsBoundMs)}, the engine is at ${fmt(c.wallMs.median / (c.floor.ms + c.receiptsBoundMs))}× that`,
        );
      }
      const slower = base ? c.wallMs.median > base.wallMs.median : false;
      if (c.ratio > 1.3 || slower) {
        out.push(
          `- **W${NUMBER[id]}, ${c.spec.label}** (${fmt(c.ratio)}× floor${base ? `, ${fmt(base.wallMs.median / c.wallMs.median)}× the baseline's speed` : ''}): ${notes.join('; ') || 'see the profile notes below'}.`,
        );
      }
    }
  }
  for (const note of PROFILE_NOTES) out.push(`- ${note}`);
  return out.join('\n');
}

/**
 * What profiling found (`npm run bench -- --only w1 --profile`, then the .cpuprofile files in
 * .bench-tmp/profiles/). Kept by hand: update it when a profile changes.
 */
const PROFILE_NOTES: string[] = [];

function method(input: ReportInput): string {
  return [
    `- **World.** Per run a fresh simulator (seed ${input.seed}, \`maxPageSize\` 1,000, latency added to every request, API calls and receipt files alike) runs in the harness process, with the reference receiver for the HTTP adapter. Each contender runs in its own Node process; contenders alternate within each repetition. The simulator's CPU per run is reported (*simulator CPU*, share of one core) to show it is not the bottleneck.`,
    `- **Engine.** \`createEngine\` with the SQLite store in a fresh data directory, the Pleo client without client-side pacing (\`rateLimit: false\`: pacing protects the real Pleo and would only measure itself here), page size ${input.pageSize}, the download concurrency the configuration ships with (8), concurrency as stated, receipts downloaded and attached unless the row says *receipts off*.`,
    "- **Baseline.** `bench/baseline/`: the docs' pseudo-code (workflow doc §16) with `fetch`, everything in memory, same page size, same mapping (`mapExportItem` with the accounting configuration matching the simulator data) and the same adapter. As in the pseudo-code it neither downloads nor attaches receipts: rows *receipts off* give the engine the same work.",
    "- **Wall time** is measured inside the contender process from its first Pleo call to the end of its work (process start and module loading excluded, for both). **CPU s** is the process's user + system time over the same span; **peak RSS** is `process.resourceUsage().maxRSS`.",
    "- **Pleo requests** come from the simulator's counters by operation, divided by items; receipt downloads (`downloadFile`) are counted apart from the API calls. **Accounting-system calls**: every request the reference receiver saw (entries, receipt uploads, validations) or, for hledger, `validate` + `record` calls on the adapter.",
    '- **Verified** means: every job final at Pleo with the right event, every item final and reported exactly once, and exactly one entry per successful item in the journal or the receiver (nothing booked twice). Contenders of a workload must leave the same status on every item.',
    "- **Floor** (see `bench/floor.ts`): the Pleo calls that must follow one another × latency, plus local work measured by the microbenchmarks below (mapping every item; writing every booked entry in hledger at the contender's concurrency), plus, over HTTP, one validation per job and one write per booked entry × latency ÷ allowed concurrency. Receipts are outside the floor; their lower bound is given apart.",
    `- **Median and spread**: each figure is the median of the repetitions; "±" is half the range (max − min) as a share of the median.`,
  ].join('\n');
}

function howToRun(): string {
  return [
    '## Running it',
    '',
    '```sh',
    'npm run bench                      # full run, writes BENCHMARKS.md and BENCHMARKS.svg (takes hours)',
    'npm run bench -- --quick           # tiny sizes, 1 repetition, < 1 minute; writes .bench-tmp/quick/',
    'npm run bench -- --only w1,w3      # some workloads (w1 … w6)',
    'npm run bench -- --repeat 5        # repetitions per measurement (default 3)',
    'npm run bench -- --profile         # CPU profiles of every contender in .bench-tmp/profiles/',
    'npm run bench -- --out /tmp/b.md   # write the report (and its chart beside it) elsewhere',
    '```',
    '',
    'The harness compiles `bench/` with `bench/tsconfig.json` into `.bench-tmp/build/` (with the sources it imports) and runs from there. `test/bench/quick.test.ts` runs the quick mode in `npm test`, checking that every table is produced (not the timings).',
  ].join('\n');
}

export const analysis = { aimsTable, bounds, method, howToRun };
