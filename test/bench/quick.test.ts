/**
 * Keeps the benchmark harness working: compiles `bench/` (as `npm run bench` does, into a
 * temporary folder), runs it in quick mode, and checks that the report has every section and
 * table and that the chart is an SVG; that a run stopped part-way keeps the runs it finished; and
 * that a baseline which ran out of memory in an earlier part is not run again. It checks the
 * shape, never the timings.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FailedRun } from '../../bench/measure.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pleo-bench-quick-'));
// Inside the repository, so that the build resolves the project's node_modules.
const build = join(ROOT, '.bench-tmp', `test-build-${process.pid}`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

type Ran = { code: number | null; output: string; killed: boolean };

/**
 * Runs `command` to its end, or, with `until`, until a line of its output matches it: then it and
 * every process it started (its own process group) are killed with SIGKILL, as a session that runs
 * out of time stops a run part-way.
 */
function run(command: string, args: string[], until?: RegExp): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: until !== undefined,
    });
    let output = '';
    let killed = false;
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      if (until !== undefined && !killed && until.test(output)) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, killed }));
  });
}

/** Runs the compiled harness with `args` (see `run` for `until`). */
function bench(args: string[], until?: RegExp): Promise<Ran> {
  return run(process.execPath, [join(build, 'bench', 'run.js'), ...args], until);
}

describe('npm run bench -- --quick', () => {
  beforeAll(async () => {
    const tsc = await run(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'bench', 'tsconfig.json'),
      '--outDir',
      build,
    ]);
    expect(tsc.code, tsc.output).toBe(0);
  }, 240_000);

  // Generous timeouts: the file shares the machine's 2 cores with another test file (and, on a
  // developer's machine, with other work); the harness's runs are CPU-bound there.
  it('writes a report with every table and a chart', { timeout: 480_000 }, async () => {
    const report = join(dir, 'BENCHMARKS.md');
    const full = await bench(['--quick', '--out', report]);
    expect(full.code, full.output).toBe(0);

    const text = readFileSync(report, 'utf8');
    expect(text.startsWith('# Benchmarks\n')).toBe(true);
    for (const heading of [
      '## Aims and where we are',
      '## What bounds each miss',
      '## Results',
      '## Method',
      '## Running it',
    ]) {
      expect(text).toContain(`\n${heading}\n`);
    }
    expect(text).toMatch(/\| cores \| CPU \| memory \| Node \| OS \|/);
    for (let n = 1; n <= 6; n++) expect(text).toMatch(new RegExp(`\\n### Workload ${n}: `));
    // Workloads 1-3: the figures table and the requests-by-endpoint table; workload 4 (a million
    // items in a full run) is opt-in: not in the default set, and the report says how to run it.
    expect(text.match(/\n\| contender \| wall time/g)).toHaveLength(3);
    expect(text.match(/\n\| contender \(requests per item\) \|/g)).toHaveLength(3);
    expect(text).toMatch(
      /\n### Workload 4: [^\n]*\n\n\*\*Not measured in this report\.\*\* `npm run bench -- --only w4 [^\n]* It is left out of the default set \([^)]+\): it runs only when `--only` names it\.\n/,
    );
    // The aims of issue 20, each judged on this run's figures.
    for (const aim of [
      "| Receipts off: ≥ 1.2× the baseline's speed on workloads 1 and 3 at concurrency 1 (baseline time ÷ engine time) | W1 engine, concurrency 1, receipts off: ",
      '| Receipts off: ≤ 1.3× the floor on workloads 1-3 (time ÷ floor) | W1 engine, concurrency 1, receipts off: ',
      "| Receipts on: ≥ 1.0× the baseline's speed on workload 1 at concurrency 1 | W1 engine, concurrency 1: ",
      '| Receipts on: ≤ 1.3× (floor + receipt floor) on workload 1 at concurrency 1 | W1 engine, concurrency 1: ',
    ])
      expect(text).toContain(`\n${aim}`);
    expect(text).toMatch(/receipt floor \d/);
    expect(text).toMatch(/\n\| resumed run \| wall time/);
    expect(text).toMatch(/\n\| requests of the resumed run \|/);
    expect(text).toMatch(/\n\| microbenchmark /);
    // The engine measured is the one shipped: it staged its receipts (the call-counting wrapper
    // around the adapter passes `stageAttachments` through), the baseline never does.
    const results = JSON.parse(readFileSync(join(dir, 'BENCHMARKS.json'), 'utf8')) as {
      throughput: [
        string,
        {
          measurement: {
            runs: { contender: string; child: { result: { adapterCalls: { stageAttachments?: number } } } }[];
          };
        },
      ][];
    };
    const w1Runs = results.throughput.find(([id]) => id === 'w1')![1].measurement.runs;
    const staged = (key: string): number[] =>
      w1Runs.filter((r) => r.contender === key).map((r) => r.child.result.adapterCalls.stageAttachments ?? 0);
    expect(staged('engine-c1')[0]).toBeGreaterThan(0);
    expect(staged('engine-c8')[0]).toBeGreaterThan(0);
    expect(staged('baseline')).toEqual([0]);

    // Workload 6's own workers are not counted as outside load.
    expect(text).toMatch(/\nLoad average during the run [^\n]*, not sampled while workload 6 ran/);

    // Scale-out: measured with its resources and floor, or said why not.
    const w6 = /### Workload 6: [^\n]*\n\n([^#]*)/.exec(text)?.[1] ?? '';
    if (!w6.startsWith('**Not run**: ')) {
      expect(w6).toContain(
        "\n| workers | wall time | items/s | speed-up over 1 worker | time ÷ floor | Pleo API requests/item | receipt downloads/item | accounting-system calls/item | peak RSS (largest worker) | workers' CPU s | machine busy | output verified |\n",
      );
      const raw = JSON.parse(readFileSync(join(dir, 'BENCHMARKS.json'), 'utf8')) as {
        scaleOut: { points: { workers: number; workerCpuSec: { median: number }; floorMs: number }[] };
      };
      expect(raw.scaleOut.points.map((p) => p.workers)).toEqual([1, 2]);
      for (const p of raw.scaleOut.points) {
        expect(p.workerCpuSec.median).toBeGreaterThan(0);
        expect(p.floorMs).toBeGreaterThan(0);
      }
    }
    // Every contender's output was checked, and every contender finished.
    expect(text).not.toMatch(/\*\*no\*\*:/);
    expect(text).not.toMatch(/did not finish/);
    expect(text).toContain('![Wall time per workload and contender, with the floor](BENCHMARKS.svg)');

    const svg = readFileSync(join(dir, 'BENCHMARKS.svg'), 'utf8');
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);

    // A partial run merged with the earlier one keeps the workloads it did not measure, and says so.
    const earlier = join(dir, 'results-earlier.json');
    copyFileSync(join(dir, 'BENCHMARKS.json'), earlier);
    const merged = join(dir, 'MERGED.md');
    const partial = await bench(['--quick', '--only', 'w1', '--merge', earlier, '--out', merged]);
    expect(partial.code, partial.output).toBe(0);
    const mergedText = readFileSync(merged, 'utf8');
    expect(mergedText).toMatch(
      // … with the commit and the processor that measured them.
      /Carried over from an earlier run \(`--merge`\): w2, w3, w5, w6, measured on [^\n]+ at commit \w+[^\n]* on [^\n]+, 1 repetition\(s\)\.\n/,
    );
    for (let n = 1; n <= 6; n++) expect(mergedText).toMatch(new RegExp(`\\n### Workload ${n}: `));
    expect(mergedText.match(/\n\| contender \| wall time/g)).toHaveLength(3);

    // --extend adds this run's repetitions of a workload to the earlier run's (a long workload in parts).
    const extended = join(dir, 'EXTENDED.md');
    const more = await bench(['--quick', '--only', 'w3', '--merge', earlier, '--extend', '--out', extended]);
    expect(more.code, more.output).toBe(0);
    type Raw = {
      throughput: [
        string,
        { measurement: { runs: { contender: string }[] }; parts?: { runs: number; failures: number }[] },
      ][];
    };
    const w3 = (file: string) =>
      (JSON.parse(readFileSync(file, 'utf8')) as Raw).throughput.find(([id]) => id === 'w3')![1];
    const before = w3(earlier);
    const after = w3(join(dir, 'EXTENDED.json'));
    expect(before.measurement.runs.map((r) => r.contender)).toEqual(['baseline', 'engine-c1-noreceipts']);
    expect(after.measurement.runs.map((r) => r.contender)).toEqual([
      'baseline',
      'engine-c1-noreceipts',
      'baseline',
      'engine-c1-noreceipts',
    ]);
    expect(after.parts?.map((p) => [p.runs, p.failures])).toEqual([
      [2, 0],
      [2, 0],
    ]);
    const extendedText = readFileSync(extended, 'utf8');
    expect(extendedText).toMatch(
      /\nMeasured in 2 parts \(`--extend`\): 2 run\(s\) on [^;]+ at commit \w+[^;]* on [^;]+; 2 run\(s\) on [^;]+ on [^;]+\. Medians /,
    );
    expect(extendedText).toMatch(/\n\| baseline \(Pleo docs\) \| [^|]+ ±\d+ % \|/);
    for (const [args, message] of [
      [['--only', 'w3', '--extend'], '--extend needs --merge FILE'],
      [['--only', 'w5', '--merge', earlier, '--extend'], '--extend: only workloads 1-4'],
    ] as const) {
      const bad = await bench(['--quick', ...args, '--out', join(dir, 'BAD.md')]);
      expect(bad.code).toBe(1);
      expect(bad.output).toContain(message);
      expect(bad.output).not.toMatch(/\n\s+at /);
    }

    // Without --merge, the workloads not run are said to be not measured, each with the command that would.
    const alone = join(dir, 'ALONE.md');
    const one = await bench(['--quick', '--only', 'w1', '--out', alone]);
    expect(one.code, one.output).toBe(0);
    const aloneText = readFileSync(alone, 'utf8');
    expect(
      aloneText.match(/\*\*Not measured in this report\.\*\* `npm run bench -- --only w\d/g),
    ).toHaveLength(5);
    expect(aloneText.match(/\n\| contender \| wall time/g)).toHaveLength(1);

    // Merging a run of another seed is refused with a clear message, not a stack trace.
    const refused = await bench([
      '--quick',
      '--only',
      'w1',
      '--seed',
      '2',
      '--merge',
      earlier,
      '--out',
      join(dir, 'REFUSED.md'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('--merge: ');
    expect(refused.output).not.toMatch(/\n\s+at /);
  });

  it('keeps the runs a stopped run finished', { timeout: 240_000 }, async () => {
    const report = join(dir, 'STOPPED.md');
    // Killed as the second repetition starts: the first repetition's two runs are finished.
    const stopped = await bench(
      ['--quick', '--only', 'w3', '--repeat', '2', '--out', report],
      /\[w3\] 2\/2 baseline/,
    );
    expect(stopped.killed, stopped.output).toBe(true);
    const raw = JSON.parse(readFileSync(join(dir, 'STOPPED.json'), 'utf8')) as {
      complete: boolean;
      throughput: [string, { measurement: { runs: { contender: string }[] } }][];
    };
    expect(raw.complete).toBe(false);
    expect(raw.throughput.map(([id]) => id)).toEqual(['w3']);
    expect(raw.throughput[0]![1].measurement.runs.map((r) => r.contender)).toEqual([
      'baseline',
      'engine-c1-noreceipts',
    ]);
    const text = readFileSync(report, 'utf8');
    expect(text).toContain('> **Partial run**: ');
    expect(text).toMatch(
      /\n### Workload 3: [^\n]*\n[^#]*\n\| engine, concurrency 1, receipts off \| [^|]+ \(1 run\) \|/,
    );
    // What was stopped can be rendered again and extended: the raw results are whole.
    const again = await bench(['--rerender', join(dir, 'STOPPED.json'), '--out', join(dir, 'AGAIN.md')]);
    expect(again.code, again.output).toBe(0);
    // The same report, but for the name of the chart beside it.
    expect(readFileSync(join(dir, 'AGAIN.md'), 'utf8').replace('(AGAIN.svg)', '(STOPPED.svg)')).toBe(text);
  });

  it(
    'does not run again a baseline that ran out of memory in an earlier part',
    { timeout: 240_000 },
    async () => {
      const first = await bench(['--quick', '--only', 'w4', '--out', join(dir, 'W4.md')]);
      expect(first.code, first.output).toBe(0);
      // The earlier part as it is when the baseline runs out of heap on a million items: its run is
      // a failure with the reason and how far it got, the engine's run is kept.
      const raw = JSON.parse(readFileSync(join(dir, 'W4.json'), 'utf8')) as {
        throughput: [string, { measurement: { runs: { contender: string }[]; failures: FailedRun[] } }][];
      };
      const m = raw.throughput.find(([id]) => id === 'w4')![1].measurement;
      expect(m.runs.map((r) => r.contender)).toEqual(['baseline', 'engine-c1-noreceipts']);
      m.runs = m.runs.filter((r) => r.contender !== 'baseline');
      m.failures = [
        {
          contender: 'baseline',
          reason:
            'exit code 134: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
          peakRssBytes: 4_300 * 2 ** 20,
          records: 840,
          afterMs: 1_200_000,
        },
      ];
      const earlier = join(dir, 'W4-oom.json');
      writeFileSync(earlier, JSON.stringify(raw));

      const extended = join(dir, 'W4-EXTENDED.md');
      const more = await bench([
        '--quick',
        '--only',
        'w4',
        '--merge',
        earlier,
        '--extend',
        '--out',
        extended,
      ]);
      expect(more.code, more.output).toBe(0);
      expect(more.output).toContain('[w4] baseline: did not finish in the earlier run; not run again');
      expect(more.output).not.toMatch(/\[w4\] 1\/1 \(after 1 earlier run\(s\)\) baseline/);
      const after = (
        JSON.parse(readFileSync(join(dir, 'W4-EXTENDED.json'), 'utf8')) as typeof raw
      ).throughput.find(([id]) => id === 'w4')![1].measurement;
      expect(after.runs.map((r) => r.contender)).toEqual(['engine-c1-noreceipts', 'engine-c1-noreceipts']);
      expect(after.failures).toEqual(m.failures);
      const text = readFileSync(extended, 'utf8');
      expect(text).toContain(
        '\n| baseline (Pleo docs) | did not finish: exit code 134: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory |',
      );
      expect(text).toMatch(
        /baseline \(Pleo docs\) did not finish: [^\n]*Before that it had recorded 840 of 1,000 items in 1200 s and reached 4,300 MB RSS\./,
      );
      expect(text).toMatch(
        /\nMeasured in 2 parts \(`--extend`\): 1 run\(s\) and 1 that did not finish on [^;]+; 1 run\(s\) on /,
      );
    },
  );

  it(
    'measures only the contenders named with --contender, and refuses an unknown name',
    { timeout: 240_000 },
    async () => {
      const unknown = await bench(['--quick', '--only', 'w3', '--contender', 'engine, concurrency 3']);
      expect(unknown.code).not.toBe(0);
      expect(unknown.output).toContain('--contender: no contender is called "engine, concurrency 3"');
      expect(unknown.output).not.toMatch(/\n\s+at /); // a message, not a stack trace
      const out = join(dir, 'ONE.md');
      const one = await bench([
        '--quick',
        '--only',
        'w3',
        '--contender',
        'engine, concurrency 1, receipts off',
        '--out',
        out,
      ]);
      expect(one.code, one.output).toBe(0);
      const raw = JSON.parse(readFileSync(join(dir, 'ONE.json'), 'utf8')) as {
        throughput: [string, { measurement: { runs: { contender: string }[] } }][];
      };
      expect(raw.throughput.map(([id]) => id)).toEqual(['w3']);
      expect(raw.throughput[0]![1].measurement.runs.map((r) => r.contender)).toEqual([
        'engine-c1-noreceipts',
      ]);
    },
  );
});
