/**
 * `npm run bench`: runs the workloads of issue 8 against the simulator and writes BENCHMARKS.md
 * (tables) and BENCHMARKS.svg (chart) from this fresh run.
 *
 *   (no flags)         the default set, w1-w3, w5, w6, 3 repetitions: about half an hour on 2 cores
 *   --quick            tiny sizes, 1 repetition, a few minutes; report in .bench-tmp/quick/
 *   --only w1,w3       run some workloads (w1 … w6; 1 … 6 work too); w4 (a million items) runs
 *                      only when named here
 *   --repeat N         repetitions per measurement (default 3; quick: 1)
 *   --out FILE         report path (the chart is written beside it, same name, .svg)
 *   --profile          pass --cpu-prof to every contender (profiles in .bench-tmp/profiles/)
 *   --seed N           simulator seed (default 1)
 *   --rerender FILE    write the report again from a run's raw results (BENCHMARKS.json, written
 *                      beside the report), without measuring
 *   --merge FILE       keep, from an earlier run's raw results (same mode and seed), the workloads
 *                      this run does not measure; the report says where each comes from
 *   --extend           with --merge: add this run's repetitions of the selected workloads (1 … 4)
 *                      to the earlier run's instead of replacing them (a workload too long for
 *                      one sitting, measured in parts)
 *   --postgres URL     PostgreSQL server for workload 6, without a database (default
 *                      postgres://postgres@127.0.0.1:5432); each run creates and drops its own
 *   --webhooks         only the forged-webhook load test (issue 17): forged webhooks per second
 *                      and /healthz latency with 1 and 1,000 companies (5 s each; quick: 2 s);
 *                      prints the figures and writes them to .bench-tmp/webhooks.json, no report
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { load, machine } from './machine.js';
import {
  measureResume,
  measureThroughput,
  type HarnessContext,
  type ThroughputMeasurement,
} from './measure.js';
import type { MicrobenchResult } from './microbench.js';
import { RESULT_PREFIX } from './protocol.js';
import { readRaw, writeRaw, writeReport } from './output.js';
import type { CarriedWorkloads, ReportInput } from './report.js';
import { measureScaleOut, type ScaleOutMeasurement } from './scale-out.js';
import {
  summariseResume,
  summariseThroughput,
  type MeasuredPart,
  type ResumeSummary,
  type ThroughputSummary,
} from './summary.js';
import { stat } from './stats.js';
import { WORKLOAD_IDS, workloads, type Workload, type WorkloadId } from './workloads.js';
import {
  describeWebhookLoad,
  measureWebhookLoad,
  WEBHOOK_LOAD_DEFAULTS,
  webhookWorkDir,
} from './webhooks.js';

const here = dirname(fileURLToPath(import.meta.url));
const PAGE_SIZE = 100;

/** The workloads of `--only`, or the default set: every workload but the opt-in ones (w4). */
function parseOnly(value: string | undefined, all: readonly Workload[]): WorkloadId[] {
  if (value === undefined)
    return all.filter((w) => w.kind !== 'throughput' || w.optIn === undefined).map((w) => w.id);
  return value.split(',').map((raw) => {
    const id = (/^\d$/.test(raw.trim()) ? `w${raw.trim()}` : raw.trim().toLowerCase()) as WorkloadId;
    if (!WORKLOAD_IDS.includes(id)) throw new Error(`--only: unknown workload ${raw} (w1 … w6)`);
    return id;
  });
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

async function microbench(seed: number, quick: boolean, nodeArgs: string[]): Promise<MicrobenchResult> {
  log(`microbenchmarks (mapping, hledger writes) …`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '--expose-gc', join(here, 'microbench.js')], {
      env: {
        ...process.env,
        BENCH_SEED: String(seed),
        BENCH_ITEMS: quick ? '200' : '2000',
        BENCH_ROUNDS: quick ? '1' : '3',
        BENCH_HEAP_COPIES: quick ? '2' : '10',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) return reject(new Error(`microbenchmark failed (exit ${String(code)})`));
      resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as MicrobenchResult);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      repeat: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
      rerender: { type: 'string' },
      merge: { type: 'string' },
      extend: { type: 'boolean', default: false },
      webhooks: { type: 'boolean', default: false },
      contender: { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (values.webhooks) {
    const root = process.cwd();
    const results = await measureWebhookLoad({
      ...WEBHOOK_LOAD_DEFAULTS,
      ...(values.quick ? { durationMs: 2000, idleProbes: 50 } : {}),
      workDir: webhookWorkDir(root),
      serverScript: join(here, 'webhook-server.js'),
      log,
    });
    const file = join(root, '.bench-tmp', 'webhooks.json');
    await writeFile(
      file,
      `${JSON.stringify({ startedAt: new Date().toISOString(), machine: machine(), load: load(), results }, null, 2)}\n`,
    );
    process.stdout.write(`${results.map(describeWebhookLoad).join('\n')}\n`);
    log(`wrote ${relative(root, file)}`);
    if (results.some((r) => Object.keys(r.statuses).some((status) => status !== '401'))) process.exitCode = 1;
    return;
  }
  if (values.rerender !== undefined) {
    const input = await readRaw(resolve(values.rerender));
    const target = resolve(
      values.out ?? (input.mode === 'quick' ? join('.bench-tmp', 'quick', 'BENCHMARKS.md') : 'BENCHMARKS.md'),
    );
    const chart = await writeReport(input, target);
    log(
      `wrote ${relative(process.cwd(), target)} and ${relative(process.cwd(), chart)} from ${values.rerender}`,
    );
    return;
  }
  const quick = values.quick === true;
  const repeat = Number(values.repeat ?? (quick ? 1 : 3));
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a whole number ≥ 1');
  const seed = Number(values.seed);
  const all = workloads(quick);
  const only = parseOnly(values.only, all);
  const root = process.cwd();
  const out = resolve(
    values.out ??
      (quick
        ? join(root, '.bench-tmp', 'quick', 'BENCHMARKS.md')
        : values.contender !== undefined
          ? join(root, '.bench-tmp', 'partial', 'BENCHMARKS.md')
          : join(root, 'BENCHMARKS.md')),
  );
  const workDir = join(root, '.bench-tmp', quick ? 'work-quick' : 'work', String(process.pid));
  const nodeArgs = values.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${join(root, '.bench-tmp', 'profiles')}`]
    : [];
  const startedAt = new Date();
  const started = performance.now();
  const box = machine();
  const loads: number[] = [load()];
  // Workload 6's worker processes are its own load: no samples while it runs nor in the minute
  // after (the 1-minute average still holds them), so the figure keeps meaning "someone else".
  let ownLoadUntil = 0;
  const loadSampler = setInterval(() => {
    if (performance.now() >= ownLoadUntil) loads.push(load());
  }, 10_000);
  loadSampler.unref();
  // In the order given: the longest workloads can go last.
  let selected = only.flatMap((id) => all.filter((w) => w.id === id));
  // `--contender LABEL` (repeatable): only those contenders, to measure one change quickly; the
  // report then lacks what it compares them with, so it is written under .bench-tmp unless --out says.
  const wanted = values.contender;
  if (wanted !== undefined) {
    const labels = new Set(
      all.flatMap((w) => (w.kind === 'throughput' ? w.contenders.map((c) => c.label) : [])),
    );
    for (const label of wanted)
      if (!labels.has(label))
        throw new Error(`--contender: no contender is called "${label}"; known: ${[...labels].join('; ')}`);
    selected = selected.flatMap((w): Workload[] => {
      if (w.kind !== 'throughput') return [w];
      const contenders = w.contenders.filter((c) => wanted.includes(c.label));
      return contenders.length === 0 ? [] : [{ ...w, contenders }];
    });
  }
  const earlier = values.merge === undefined ? null : await readRaw(resolve(values.merge));
  const extend = values.extend === true;
  if (extend) {
    if (earlier === null)
      throw new Error('--extend needs --merge FILE: the run whose repetitions it adds to');
    for (const w of selected) {
      if (w.kind !== 'throughput')
        throw new Error(`--extend: only workloads 1-4 can be measured in parts (not ${w.id})`);
      if (!earlier.throughput.has(w.id))
        throw new Error(`--extend: ${values.merge} has no results of ${w.id} to add to`);
    }
  }
  // Refused before anything is measured.
  if (earlier !== null && (earlier.mode !== (quick ? 'quick' : 'full') || earlier.seed !== seed))
    throw new Error(
      `--merge: ${values.merge} is a ${earlier.mode} run with seed ${earlier.seed}; this one is not`,
    );
  const needsMicro = selected.some((w) => w.kind !== 'scale-out');
  // Only the scale-out measured: the figures carried over keep the microbenchmarks they were made with.
  const micro = needsMicro ? await microbench(seed, quick, []) : (earlier?.micro ?? null);
  if (micro) {
    log(
      `map ${micro.mapUs.toFixed(1)} µs/item, hledger ${micro.hledgerSequentialUs.toFixed(0)} µs/entry (1 writer), ${micro.hledgerConcurrent8Us.toFixed(0)} µs/entry (8 writers)`,
    );
  }
  const ctx: HarnessContext = {
    seed,
    pageSize: PAGE_SIZE,
    repeat,
    workDir,
    childScript: join(here, 'child.js'),
    nodeArgs,
    log,
  };
  const throughput = new Map<WorkloadId, ThroughputSummary>();
  let resume: ResumeSummary | null = null;
  let scaleOut: ScaleOutMeasurement | null = null;
  const failed = new Map<WorkloadId, string>();
  const done: WorkloadId[] = [];
  // The raw results beside the report (BENCHMARKS.json): what --rerender and --merge read.
  const raw = out.replace(/\.md$/i, '') + '.json';
  const carried: CarriedWorkloads[] = [];
  /** The run of the harness that measured a workload of the earlier results. */
  const origin = (id: WorkloadId): CarriedWorkloads => {
    const before = earlier!.carried.find((c) => c.ids.includes(id));
    return (
      before ?? {
        ids: [],
        startedAt: earlier!.startedAt.toISOString(),
        commit: earlier!.machine.commit,
        dirty: earlier!.machine.dirty,
        repeat: earlier!.repeat,
        cpuModel: earlier!.machine.cpuModel,
      }
    );
  };
  if (earlier !== null) {
    const provenance = (id: WorkloadId): CarriedWorkloads => {
      const from = origin(id);
      let entry = carried.find((c) => c.startedAt === from.startedAt && c.commit === from.commit);
      if (entry === undefined) carried.push((entry = { ...from, ids: [] }));
      return entry;
    };
    for (const id of WORKLOAD_IDS) {
      if (selected.some((w) => w.id === id)) continue;
      const t = earlier.throughput.get(id);
      if (t) throughput.set(id, t);
      else if (id === 'w5' && earlier.resume) resume = earlier.resume;
      else if (id === 'w6' && earlier.scaleOut) scaleOut = earlier.scaleOut;
      else continue;
      provenance(id).ids.push(id);
      done.push(id);
    }
  }

  /** Writes the report (and chart) of what is measured so far: a long run never loses finished work. */
  const write = async (final: boolean): Promise<string> => {
    const input: Omit<ReportInput, 'chartFile'> = {
      mode: quick ? 'quick' : 'full',
      repeat,
      seed,
      pageSize: PAGE_SIZE,
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      startedAt,
      durationMs: performance.now() - started,
      complete: final,
      machine: box,
      load: stat(loads),
      loadSkipsScaleOut: selected.some((w) => w.kind === 'scale-out'),
      micro,
      workloads: all,
      throughput,
      resume,
      scaleOut,
      failed,
      // A workload still being measured shows the runs it has finished.
      skipped: all
        .filter((w) => !done.includes(w.id) && !failed.has(w.id) && !throughput.has(w.id))
        .map((w) => w.id),
      carried,
    };
    await writeRaw(input, raw);
    return writeReport(input, out);
  };

  for (const workload of selected) {
    try {
      if (workload.kind === 'throughput') {
        const before = extend ? earlier!.throughput.get(workload.id) : undefined;
        // An earlier run measured in one part says so only through its provenance.
        const partsBefore: MeasuredPart[] = [];
        if (before !== undefined) {
          const { ids: _ids, repeat: _repeat, ...where } = origin(workload.id);
          const { runs, failures } = before.measurement;
          partsBefore.push(...(before.parts ?? [{ ...where, runs: runs.length, failures: failures.length }]));
        }
        const summarise = (m: ThroughputMeasurement): ThroughputSummary => {
          const summary = summariseThroughput(m, micro!, PAGE_SIZE);
          if (before === undefined) return summary;
          const latest: MeasuredPart = {
            startedAt: startedAt.toISOString(),
            commit: box.commit,
            dirty: box.dirty,
            cpuModel: box.cpuModel,
            runs: m.runs.length - before.measurement.runs.length,
            failures: m.failures.length - before.measurement.failures.length,
          };
          return { ...summary, parts: [...partsBefore, latest] };
        };
        const measured = await measureThroughput(ctx, workload, {
          ...(before ? { earlier: before.measurement } : {}),
          // Every finished run is written at once: stopping a long workload keeps what it measured.
          onRun: async (soFar: ThroughputMeasurement) => {
            throughput.set(workload.id, summarise(soFar));
            await write(false);
          },
        });
        throughput.set(workload.id, summarise(measured));
      } else if (workload.kind === 'resume') {
        resume = summariseResume(await measureResume(ctx, workload), micro!, PAGE_SIZE);
      } else {
        ownLoadUntil = Number.POSITIVE_INFINITY;
        scaleOut = await measureScaleOut(
          {
            seed,
            repeat,
            workDir,
            cliScript: join(here, '..', 'src', 'cli', 'main.js'),
            queueModule: join(here, '..', 'src', 'queue', 'index.js'),
            postgresServer: values.postgres.replace(/\/+$/, ''),
            nodeArgs,
            log,
          },
          workload,
        ).finally(() => (ownLoadUntil = performance.now() + 60_000));
      }
      done.push(workload.id);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log(`[${workload.id}] failed: ${reason}`);
      failed.set(workload.id, reason);
    }
    await write(false);
  }
  clearInterval(loadSampler);
  const chartPath = await write(true);
  log(`wrote ${relative(root, out)}, ${relative(root, chartPath)} and ${relative(root, raw)}`);
  if (failed.size > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
