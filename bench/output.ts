/**
 * Writing a run's outputs: the report, its chart, and the raw results (everything the report is
 * made of, as JSON), from which `npm run bench -- --rerender FILE` writes the report again without
 * measuring (a full run takes hours; the prose may change after it).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';

import { renderChart, type ChartGroup } from './chart.js';
import { renderReport, type ReportInput } from './report.js';
import type { ResumeSummary, ThroughputSummary } from './summary.js';
import { WORKLOAD_IDS, workloads, type WorkloadId } from './workloads.js';

/** Workloads in their numbered order, whichever order a run (or `--merge`) measured them in. */
function inOrder<T>(m: ReadonlyMap<WorkloadId, T>): Map<WorkloadId, T> {
  return new Map(WORKLOAD_IDS.filter((id) => m.has(id)).map((id) => [id, m.get(id)!]));
}

function chartGroups(input: ReportInput): ChartGroup[] {
  const groups: ChartGroup[] = [];
  input.workloads.forEach((w, i) => {
    const s = input.throughput.get(w.id);
    if (s) {
      // The title the workload had when measured: sizes change, and --merge carries older runs.
      groups.push({
        title: `Workload ${i + 1}: ${s.measurement.workload.title}`,
        bars: s.contenders.map((c) => ({
          label: c.spec.label,
          medianMs: c.runs > 0 ? c.wallMs.median : 0,
          minMs: c.wallMs.min,
          maxMs: c.wallMs.max,
          floorMs: c.runs > 0 ? c.floor.ms : null,
          kind: c.spec.kind,
          note: c.failures[0] ? 'did not finish (see the report)' : 'not run',
        })),
      });
    } else if (w.kind === 'resume' && input.resume) {
      const r: ResumeSummary = input.resume;
      groups.push({
        title: `Workload ${i + 1}: ${r.measurement.workload.title} (resumed run)`,
        bars: [
          {
            label: 'engine, resumed',
            medianMs: r.wallMs.median,
            minMs: r.wallMs.min,
            maxMs: r.wallMs.max,
            floorMs: r.floor.ms,
            kind: 'engine',
          },
        ],
      });
    }
  });
  return groups;
}

/** Writes the report at `out` and its chart beside it (same name, `.svg`). */
export async function writeReport(input: Omit<ReportInput, 'chartFile'>, out: string): Promise<string> {
  const chartPath = out.replace(/\.md$/i, '') + '.svg';
  const full: ReportInput = {
    ...input,
    throughput: inOrder(input.throughput),
    chartFile: relative(dirname(out), chartPath) || basename(chartPath),
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(
    chartPath,
    renderChart(
      `pleo-export benchmarks (${input.mode === 'quick' ? 'quick run' : 'full run'})`,
      chartGroups(full),
    ),
  );
  await writeFile(out, renderReport(full));
  return chartPath;
}

type RawResults = Omit<
  ReportInput,
  'chartFile' | 'workloads' | 'throughput' | 'failed' | 'startedAt' | 'carried'
> & {
  startedAt: string;
  carried?: ReportInput['carried'];
  throughput: [WorkloadId, ThroughputSummary][];
  failed: [WorkloadId, string][];
};

export async function writeRaw(input: Omit<ReportInput, 'chartFile'>, path: string): Promise<void> {
  const { workloads: _workloads, ...rest } = input;
  const raw: RawResults = {
    ...rest,
    startedAt: input.startedAt.toISOString(),
    throughput: [...inOrder(input.throughput)],
    failed: [...input.failed],
  };
  await mkdir(dirname(path), { recursive: true });
  // Written beside and renamed into place: a run stopped mid-write leaves the previous results
  // whole, never a truncated file that --merge and --rerender cannot read.
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, JSON.stringify(raw));
  await rename(partial, path);
}

export async function readRaw(path: string): Promise<Omit<ReportInput, 'chartFile'>> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as RawResults;
  return {
    ...raw,
    startedAt: new Date(raw.startedAt),
    workloads: workloads(raw.mode === 'quick'),
    throughput: new Map(raw.throughput),
    failed: new Map(raw.failed),
    carried: raw.carried ?? [],
  };
}
