/**
 * `pleo-export simulate`: runs the simulator until SIGINT/SIGTERM.
 *
 * Contract: once ready, prints exactly one line of JSON on stdout,
 * `{"url":"http://127.0.0.1:PORT","companies":[{"id":"<uuid>","apiKey":"<key>"}]}`, and
 * nothing else there. A bad flag value → one line on stderr, exit code 2. Failing to start
 * (e.g. port in use) → one line on stderr, exit code 1.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { SimulatorOptions } from './options.js';
import { parseFaultRule, type FaultRule } from './faults.js';
import { parseRateLimit, type RateLimitConfig } from './rate-limit.js';
import { startSimulator } from './server.js';

export interface SimulateCommandIo {
  /** @default process.stdout */
  stdout?: { write(chunk: string): unknown };
  /** @default process.stderr */
  stderr?: { write(chunk: string): unknown };
  /** Ends the process; must not return. @default process.exit */
  exit?: (code: number) => never;
  /** Stops the server when aborted. @default the first SIGINT or SIGTERM */
  signal?: AbortSignal;
  /** Options the flags do not cover (tests: a clock, webhook fetch…). */
  startOptions?: SimulatorOptions;
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function decimal(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    }
    return n;
  };
}

interface Flags {
  port: number;
  seed: number;
  companies: number;
  jobs: number;
  items: number;
  latencyMs: number;
  faultRate: number;
  fault: FaultRule[];
  maxPageSize: number;
  rateLimit?: Required<RateLimitConfig>;
}

function rateLimit(value: string): Required<RateLimitConfig> {
  try {
    return parseRateLimit(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

function faultRule(value: string, previous: FaultRule[]): FaultRule[] {
  try {
    return [...previous, parseFaultRule(value)];
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second signal while closing ends the process at once.
      const force = (): never => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * The `simulate` command, ready to be added to the main program (`program.addCommand(...)`)
 * or parsed on its own.
 *
 * @example
 * await simulateCommand().parseAsync(['--port', '0', '--items', '1000'], { from: 'user' });
 */
export function simulateCommand(io: SimulateCommandIo = {}): Command {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const exit = io.exit ?? ((code: number): never => process.exit(code));
  const cmd = new Command('simulate')
    .description(
      "Run a simulator of Pleo's Export API v3 (with OAuth, webhooks, fault injection and an admin API)",
    )
    .option('--port <n>', 'port to listen on; 0 picks a free one', integer(0, 65535), 0)
    .option('--seed <n>', 'seed of the generated data, ids and faults', integer(0, 2 ** 32 - 1), 1)
    .option('--companies <n>', 'companies to create', integer(0, 10_000), 1)
    .option('--jobs <n>', 'pending export jobs per company', integer(0, 10_000), 1)
    .option('--items <n>', 'items per job', integer(0, 100_000_000), 100)
    .option('--latency-ms <n>', 'latency added to every request (ms)', decimal(0, 600_000), 0)
    .option('--fault-rate <f>', 'probability of a random fault per request (0..1)', decimal(0, 1), 0)
    .option(
      '--fault <rule>',
      'a fault rule, repeatable: OPERATION=KIND[:ARG][/times=N][/p=F], e.g. updateJobItems=emptyAck, listJobItems=endless, *=status:503/p=0.2',
      faultRule,
      [],
    )
    .option(
      '--rate-limit <rate>',
      'enforce a rate limit per company, e.g. 20/s, 600/min or 20/s,burst=5: past it, 429 with Retry-After',
      rateLimit,
    )
    .option(
      '--max-page-size <n>',
      'largest page served; larger limits are clamped',
      integer(1, 1_000_000),
      1000,
    )
    .allowExcessArguments(false)
    .configureOutput({
      writeOut: (s) => void stdout.write(s),
      writeErr: (s) => void stderr.write(s),
      outputError: (s, write) => write(`${s.split('\n')[0]!.trim()}\n`),
    })
    .exitOverride((err) => exit(err.exitCode === 0 ? 0 : 2))
    .action(async (flags: Flags) => {
      let sim: Awaited<ReturnType<typeof startSimulator>>;
      try {
        sim = await startSimulator({
          ...io.startOptions,
          port: flags.port,
          seed: flags.seed,
          companies: flags.companies,
          jobsPerCompany: flags.jobs,
          itemsPerJob: flags.items,
          latencyMs: flags.latencyMs,
          faultRate: flags.faultRate,
          faults: {
            ...io.startOptions?.faults,
            rules: [...(io.startOptions?.faults?.rules ?? []), ...flags.fault],
          },
          maxPageSize: flags.maxPageSize,
          ...(flags.rateLimit === undefined ? {} : { rateLimit: flags.rateLimit }),
        });
      } catch (err) {
        stderr.write(`pleo-export simulate: ${err instanceof Error ? err.message : String(err)}\n`);
        return exit(1);
      }
      stdout.write(`${JSON.stringify({ url: sim.url, companies: sim.companies })}\n`);
      await (io.signal ? untilAborted(io.signal) : untilSignal());
      await sim.close();
    });
  return cmd;
}
