/**
 * Keeps the benchmark harness working: compiles `bench/` (as `npm run bench` does, into a
 * temporary folder), runs it in quick mode, and checks that the report has every section and
 * table and that the chart is an SVG. It checks the shape, never the timings.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pleo-bench-quick-'));
// Inside the repository, so that the build resolves the project's node_modules.
const build = join(ROOT, '.bench-tmp', `test-build-${process.pid}`);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Runs the compiled harness with `args`. */
function bench(args: string[]): Promise<{ code: number | null; output: string }> {
  return run(process.execPath, [join(build, 'bench', 'run.js'), ...args]);
}

describe('npm run bench -- --quick', () => {
  it('writes a report with every table and a chart', { timeout: 240_000 }, async () => {
    const tsc = await run(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'bench', 'tsconfig.json'),
      '--outDir',
      build,
    ]);
    expect(tsc.code, tsc.output).toBe(0);

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
    // Workloads 1-4: the figures table and the requests-by-endpoint table.
    expect(text.match(/\n\| contender \| wall time/g)).toHaveLength(4);
    expect(text.match(/\n\| contender \(requests per item\) \|/g)).toHaveLength(4);
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
      /Carried over from an earlier run \(`--merge`\): w2, w3, w4, w5, w6, measured on /,
    );
    for (let n = 1; n <= 6; n++) expect(mergedText).toMatch(new RegExp(`\\n### Workload ${n}: `));
    expect(mergedText.match(/\n\| contender \| wall time/g)).toHaveLength(4);

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
      /\nMeasured in 2 parts \(`--extend`\): 2 run\(s\) on [^;]+ at commit \w+[^;]*; 2 run\(s\) on /,
    );
    expect(extendedText).toMatch(/\n\| baseline \(docs §16\) \| [^|]+ ±\d+ % \|/);
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
});
