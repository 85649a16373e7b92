/**
 * `pleo-export demo`: no configuration, a real result. Starts the embedded Pleo simulator with a
 * seeded company and three export jobs (every item type; some items designed to fail: unknown
 * vendor, unknown or missing account, unknown tax code or tag, closed period), runs the whole
 * workflow into an accounting system in `./pleo-export-demo/` and prints a summary. The target is
 * an hledger journal by default; `--target <type>` picks any registered adapter that offers a
 * throwaway demo target (`AdapterDescriptor.demo`, e.g. `http` runs the reference receiver).
 *
 * Running it again exports the same expenses again (new export jobs with the same entries, as
 * when a bookkeeper re-exports): nothing is booked twice; the summary shows the entries as
 * already booked.
 *
 * With `--console`, it then serves the web console over the demo's state (and keeps the simulator
 * up, so preview and retry work) until Ctrl-C: the books, the failures and each entry's audit
 * trail in a browser.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';

import { Command, Option } from 'commander';

import type { AccountingConfig } from '../../accounting/index.js';
import { adapterDescriptors, requireAdapter } from '../../adapters/index.js';
import { loadConfig } from '../../config/index.js';
import { ConfigError } from '../../errors/index.js';
import { openEmbeddedStore } from '../../runtime/index.js';
import { startSimulator } from '../../simulator/index.js';
import { intArg } from '../context.js';
import { shutdownSignal } from '../signals.js';
import { serveConsole } from './console.js';
import { simulatorAccountingConfig } from '../demo/catalog-config.js';
import { json, type Io } from '../output.js';
import { summaryTable } from '../progress.js';
import { runAllOnce } from './run.js';

const JOBS = [
  { items: 240, vendorBasedBookkeeping: false },
  { items: 180, vendorBasedBookkeeping: true },
  { items: 120, vendorBasedBookkeeping: false },
] as const;

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The adapter types `demo --target` offers: those whose descriptor sets up a demo target. */
export function demoTargets(): string[] {
  return adapterDescriptors()
    .filter((d) => d.demo !== undefined)
    .map((d) => d.type);
}

export function demoCommand(io: Io): Command {
  return new Command('demo')
    .description(
      'run the whole workflow against the embedded Pleo simulator into an accounting system (default: an hledger journal; no configuration)',
    )
    .option('--dir <dir>', 'where the books, receipts and local state go', './pleo-export-demo')
    .addOption(
      new Option('--target <type>', 'the accounting system to book into')
        .choices(demoTargets())
        .default('hledger'),
    )
    .option('--seed <n>', 'data seed', intArg('--seed', 0, 2 ** 31 - 1), 42)
    .option('--no-progress', 'no progress output')
    .option('--json', 'print the results as JSON')
    .option('--console', 'then serve the web console over the demo (until Ctrl-C)')
    .option(
      '--console-port <port>',
      'port of the console, 0 = any free port',
      intArg('--console-port', 0, 65535),
      8090,
    )
    .action(
      async (options: {
        dir: string;
        target: string;
        seed: number;
        progress: boolean;
        json?: boolean;
        console?: boolean;
        consolePort: number;
      }) => {
        const dir = resolve(options.dir);
        mkdirSync(dir, { recursive: true });
        const descriptor = requireAdapter(options.target);
        const setUp = descriptor.demo?.bind(descriptor);
        if (setUp === undefined)
          throw new ConfigError(
            `The ${descriptor.type} adapter has no demo target: use --target ${demoTargets().join(' or ')}`,
          );
        const store = openEmbeddedStore(dir);
        await store.migrate();
        const sim = await startSimulator({ seed: options.seed, companies: 1, jobsPerCompany: 0 });
        const accounting = demoAccounting(simulatorAccountingConfig(options.seed), sim.url);
        const currency = sim.admin.state({ items: false }).companies[0]?.walletCurrency ?? 'EUR';
        const target = await setUp(dir, { accounting, currency }).catch(async (error: unknown) => {
          await sim.close();
          await store.close();
          throw error;
        });
        try {
          const company = sim.companies[0]!;
          const run = Number((await store.getValue('demo:runs')) ?? '0') + 1;
          const firstIds = JSON.parse((await store.getValue('demo:jobs')) ?? '[]') as string[];
          const created: string[] = [];
          for (const [n, plan] of JOBS.entries()) {
            const earlier = firstIds[n];
            const job = sim.admin.createJob(company.id, {
              itemCount: plan.items,
              vendorBasedBookkeeping: plan.vendorBasedBookkeeping,
              ...(run > 1 && earlier
                ? { id: uuidFrom(`demo:${options.seed}:${run}:${n}`), dataKey: earlier }
                : {}),
            });
            created.push(job.id);
            sim.admin.advanceClock(60_000);
          }
          if (run === 1) await store.setValue('demo:jobs', JSON.stringify(created));
          const config = loadConfig({
            env: {},
            raw: {
              dataDir: dir,
              pleo: { url: sim.url, requestsPerSecond: 1000 },
              companies: [
                {
                  id: company.id,
                  name: 'Demo company',
                  apiKey: company.apiKey,
                  adapter: target.config,
                  accounting,
                },
              ],
            },
          });
          if (options.json !== true) {
            const where = isAbsolute(target.location)
              ? relative(process.cwd(), target.location) || target.location
              : target.location;
            io.out(
              `pleo-export demo (run ${run}): a simulated Pleo company with ${JOBS.length} export jobs, ` +
                `${JOBS.reduce((n, j) => n + j.items, 0)} expenses, into ${descriptor.type}: ${where}\n`,
            );
          }
          const results = await runAllOnce(config, store, io, {
            progress: options.progress && options.json !== true,
          });
          await store.setValue('demo:runs', String(run));
          const report = await target.report();
          const printSummary = (): void => {
            io.out('');
            io.out(summaryTable(results));
            const rel = (p: string): string => relative(process.cwd(), p) || p;
            io.out('');
            for (const line of report.lines) io.out(line);
            io.out(`Receipts:    ${rel(join(dir, 'receipts'))}`);
            // Run through npm (`npm run demo` in a checkout) the bin is not on PATH: say how to call it.
            const cli =
              process.env['npm_lifecycle_event'] === undefined ? 'pleo-export' : 'npm run -s pleo-export --';
            io.out(`Local state: ${rel(join(dir, 'state.db'))}  (${cli} jobs --data-dir ${rel(dir)})`);
            if (run > 1)
              io.out(`\nRun ${run}: the same expenses were exported again; nothing was booked twice.`);
          };
          if (options.json === true) {
            io.out(
              json({
                run,
                target: descriptor.type,
                ...report.json,
                state: join(dir, 'state.db'),
                results,
                checked: report.ok,
              }),
            );
          } else {
            printSummary();
          }
          if (options.console === true) {
            const shutdown = shutdownSignal(config.server.shutdownGraceMs);
            try {
              const handle = await serveConsole(config, store, {
                host: '127.0.0.1',
                port: options.consolePort,
              });
              io.out(
                `\nWeb console: ${handle.server.url}  (the jobs, the failures and each entry's audit trail; Ctrl-C to stop)`,
              );
              if (!shutdown.signal.aborted) await once(shutdown.signal, 'abort');
              await handle.close();
            } finally {
              shutdown.dispose();
            }
          }
        } finally {
          await target.close();
          await sim.close();
          await store.close();
        }
      },
    );
}

/**
 * The simulator serves receipts from its own loopback origin over plain http: allow exactly that
 * host and port (downloads go only to allowed hosts; see `attachments.allowInsecureHosts`).
 */
function demoAccounting(accounting: AccountingConfig, simulatorUrl: string): AccountingConfig {
  return {
    ...accounting,
    attachments: { ...accounting.attachments, allowInsecureHosts: [new URL(simulatorUrl).host] },
  };
}
