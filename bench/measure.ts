/**
 * Runs the throughput and resume workloads: fresh world per run, contenders alternately, each
 * measurement repeated.
 */
import { join } from 'node:path';

import type { ContenderResult, ContenderSample } from './protocol.js';
import type { ResumeWorkload, ThroughputWorkload } from './workloads.js';
import {
  contenderConfig,
  requestCounters,
  runChild,
  startWorld,
  subtractCounters,
  verify,
  type ChildRun,
  type ContenderSpec,
  type RunRecord,
  type WorldSpec,
} from './world.js';

export interface HarnessContext {
  seed: number;
  pageSize: number;
  repeat: number;
  workDir: string;
  childScript: string;
  nodeArgs: string[];
  log: (line: string) => void;
}

export interface FailedRun {
  contender: string;
  reason: string;
  /** Peak RSS and progress seen in the samples before it ended. */
  peakRssBytes: number;
  records: number;
  afterMs: number;
}

export interface ThroughputMeasurement {
  workload: ThroughputWorkload;
  runs: RunRecord[];
  failures: FailedRun[];
}

export interface ResumeRep {
  firstRun: ChildRun;
  killedAfter: number;
  /** Pleo requests of the first (killed) run and of the resumed run. */
  firstRequests: Record<string, number>;
  resumed: RunRecord;
}

export interface ResumeMeasurement {
  workload: ResumeWorkload;
  reps: ResumeRep[];
}

function worldSpec(ctx: HarnessContext, shape: ThroughputWorkload['world']): WorldSpec {
  return { ...shape, seed: ctx.seed, pageSize: ctx.pageSize };
}

function describeExit(child: ChildRun): string {
  const tail = child.stderrTail.split('\n').filter((l) => l.trim() !== '');
  const oom = tail.find((l) => /heap out of memory|Allocation failed/i.test(l));
  const how = child.exit.signal ? `killed by ${child.exit.signal}` : `exit code ${String(child.exit.code)}`;
  return oom ? `${how}: ${oom.trim()}` : `${how}${tail.length ? `: ${tail.slice(-3).join(' | ')}` : ''}`;
}

function peak(samples: readonly ContenderSample[]): { rss: number; records: number; t: number } {
  let rss = 0;
  for (const s of samples) rss = Math.max(rss, s.rssBytes);
  const last = samples[samples.length - 1];
  return { rss, records: last?.records ?? 0, t: last?.t ?? 0 };
}

function progress(ctx: HarnessContext, prefix: string, total: number) {
  let last = 0;
  return (sample: ContenderSample): void => {
    if (sample.t - last < 30_000) return;
    last = sample.t;
    ctx.log(
      `${prefix} … ${Math.round(sample.t / 1000)} s, ${sample.records}/${total} recorded, rss ${Math.round(sample.rssBytes / 2 ** 20)} MB`,
    );
  };
}

async function measureOnce(
  ctx: HarnessContext,
  spec: WorldSpec,
  contender: ContenderSpec,
  label: string,
): Promise<RunRecord> {
  const world = await startWorld(spec, join(ctx.workDir, contender.key));
  try {
    const before = requestCounters(world);
    const cpuBefore = process.cpuUsage();
    const child = await runChild(contenderConfig(world, contender), {
      childScript: ctx.childScript,
      nodeArgs: ctx.nodeArgs,
      onSample: progress(ctx, label, spec.jobs * spec.itemsPerJob),
    });
    const cpu = process.cpuUsage(cpuBefore);
    const requests = subtractCounters(requestCounters(world), before);
    const stats = world.receiver?.stats();
    return {
      contender: contender.key,
      child,
      requests,
      asRequests: stats ? stats.requests : null,
      asReceiptUploads: stats ? stats.attachments : null,
      worldCpuMs: (cpu.user + cpu.system) / 1000,
      verification: child.result ? await verify(world) : null,
    };
  } finally {
    await world.close();
  }
}

/**
 * Measures `ctx.repeat` repetitions of a throughput workload. `earlier` (from `--extend`) holds runs
 * of an earlier measurement of the same workload: the new ones are added to them, and a peer that
 * already could not finish is not run again. `onRun` sees the measurement after every run, so that
 * a long workload stopped part-way keeps the runs it finished.
 */
export async function measureThroughput(
  ctx: HarnessContext,
  workload: ThroughputWorkload,
  options: {
    earlier?: Pick<ThroughputMeasurement, 'runs' | 'failures'>;
    onRun?: (soFar: ThroughputMeasurement) => Promise<void>;
  } = {},
): Promise<ThroughputMeasurement> {
  const spec = worldSpec(ctx, workload.world);
  const runs: RunRecord[] = [...(options.earlier?.runs ?? [])];
  const failures: FailedRun[] = [...(options.earlier?.failures ?? [])];
  const gaveUp = new Set<string>(
    workload.baselineMayFail === true
      ? workload.contenders
          .filter((c) => c.kind === 'baseline' && failures.some((f) => f.contender === c.key))
          .map((c) => c.key)
      : [],
  );
  for (const key of gaveUp)
    ctx.log(`[${workload.id}] ${key}: did not finish in the earlier run; not run again`);
  const extra = options.earlier ? ` (after ${options.earlier.runs.length} earlier run(s))` : '';
  for (let rep = 1; rep <= ctx.repeat; rep++) {
    for (const contender of workload.contenders) {
      if (gaveUp.has(contender.key)) continue;
      const label = `[${workload.id}] ${rep}/${ctx.repeat}${extra} ${contender.label}`;
      ctx.log(`${label} …`);
      const run = await measureOnce(ctx, spec, contender, label);
      const result: ContenderResult | null = run.child.result;
      if (!result) {
        const p = peak(run.child.samples);
        const reason = describeExit(run.child);
        failures.push({
          contender: contender.key,
          reason,
          peakRssBytes: p.rss,
          records: p.records,
          afterMs: p.t,
        });
        ctx.log(`${label}: did not finish (${reason})`);
        // A peer that cannot finish (out of memory) is not run again; the report says why.
        if (workload.baselineMayFail === true && contender.kind === 'baseline') gaveUp.add(contender.key);
        await options.onRun?.({ workload, runs, failures });
        continue;
      }
      const v = run.verification;
      const ph = result.phases;
      ctx.log(
        `${label}: ${(result.wallMs / 1000).toFixed(2)} s${
          ph
            ? ` (listing ${(ph.listing / 1000).toFixed(2)} s, fetching ${(ph.fetching / 1000).toFixed(2)} s, booking ${(ph.booking / 1000).toFixed(2)} s)`
            : ''
        }, rss ${Math.round(result.maxRssBytes / 2 ** 20)} MB, ${
          v?.ok === true ? 'verified' : `NOT VERIFIED: ${v?.problems.join('; ') ?? 'no verification'}`
        }`,
      );
      runs.push(run);
      await options.onRun?.({ workload, runs, failures });
    }
  }
  return { workload, runs, failures };
}

export async function measureResume(
  ctx: HarnessContext,
  workload: ResumeWorkload,
): Promise<ResumeMeasurement> {
  const spec = worldSpec(ctx, workload.world);
  const items = spec.jobs * spec.itemsPerJob;
  const killedAfter = Math.round(items * workload.killAt);
  const reps: ResumeRep[] = [];
  for (let rep = 1; rep <= ctx.repeat; rep++) {
    const label = `[${workload.id}] ${rep}/${ctx.repeat}`;
    const world = await startWorld(spec, join(ctx.workDir, 'resume'));
    try {
      ctx.log(`${label} first run, killed after ${killedAfter} outcomes …`);
      const config = contenderConfig(world, workload.contender);
      const firstRun = await runChild(
        { ...config, killAfterOutcomes: killedAfter, sampleMs: 200 },
        {
          childScript: ctx.childScript,
          nodeArgs: ctx.nodeArgs,
          onSample: progress(ctx, `${label} first run`, items),
        },
      );
      if (firstRun.exit.signal !== 'SIGKILL') {
        throw new Error(`${label}: the first run was not killed (${describeExit(firstRun)})`);
      }
      const firstRequests = requestCounters(world);
      ctx.log(`${label} resumed run …`);
      const cpuBefore = process.cpuUsage();
      const child = await runChild(config, {
        childScript: ctx.childScript,
        nodeArgs: ctx.nodeArgs,
        onSample: progress(ctx, `${label} resumed run`, items),
      });
      const cpu = process.cpuUsage(cpuBefore);
      if (!child.result) throw new Error(`${label}: the resumed run did not finish (${describeExit(child)})`);
      const resumed: RunRecord = {
        contender: workload.contender.key,
        child,
        requests: subtractCounters(requestCounters(world), firstRequests),
        asRequests: null,
        asReceiptUploads: null,
        worldCpuMs: (cpu.user + cpu.system) / 1000,
        verification: await verify(world),
      };
      const v = resumed.verification;
      ctx.log(
        `${label} resumed: ${(child.result.wallMs / 1000).toFixed(2)} s, ${
          v?.ok === true ? 'verified' : `NOT VERIFIED: ${v?.problems.join('; ') ?? ''}`
        }`,
      );
      reps.push({ firstRun, killedAfter, firstRequests, resumed });
    } finally {
      await world.close();
    }
  }
  return { workload, reps };
}
