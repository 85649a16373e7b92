/**
 * The daemon under the webhook load test (`npm run bench -- --webhooks`), in its own process so
 * the load generator does not share its CPU: `startServer` over a SQLite store in `BENCH_DIR`
 * with `BENCH_COMPANIES` configured companies, each with a stored subscription secret (the
 * situation of issue 17, finding 4). Polling is stubbed out (an engine that finds nothing), so
 * only the HTTP endpoints work. Prints `BENCH_RESULT {"url": …}` once listening; stops on SIGTERM.
 */
import { once } from 'node:events';
import { join } from 'node:path';

import { loadConfig } from '../src/config/index.js';
import type { EngineLogger } from '../src/engine/index.js';
import type { CompanyRuntime } from '../src/runtime/index.js';
import { saveWebhookSecret, startServer, type CreateRuntime } from '../src/server/index.js';
import { createSqliteStore } from '../src/store/index.js';
import { RESULT_PREFIX } from './protocol.js';

process.removeAllListeners('warning');

const dir = process.env['BENCH_DIR'] ?? '.';
const count = Number(process.env['BENCH_COMPANIES'] ?? '1000');

/** A deterministic company id (uuid v4 layout). */
function companyId(n: number): string {
  return `cccccccc-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const quiet: EngineLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function main(): Promise<void> {
  const store = createSqliteStore({ path: join(dir, 'state.db') });
  await store.migrate();
  const companies = Array.from({ length: count }, (_, n) => ({ id: companyId(n), apiKey: `key-${n}` }));
  for (const [n, c] of companies.entries()) {
    const key = Buffer.alloc(32, n % 251).toString('base64');
    await saveWebhookSecret(store, c.id, `whsec_${key}`);
  }
  const config = loadConfig({
    env: {},
    raw: {
      dataDir: dir,
      companies,
      server: { host: '127.0.0.1', port: 0, pollIntervalMs: 24 * 60 * 60 * 1000, maxConcurrentCompanies: 4 },
    },
  });
  const createRuntime: CreateRuntime = (company) =>
    Promise.resolve({
      company,
      engine: { runOnce: () => Promise.resolve([]) },
      close: () => Promise.resolve(),
    } as unknown as CompanyRuntime);
  const server = await startServer({ config, store, logger: quiet, createRuntime });
  await server.whenIdle();
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ url: server.url, companies: count })}\n`);
  await once(process, 'SIGTERM');
  await server.close();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`webhook server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
