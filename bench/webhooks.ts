/**
 * The forged-webhook load test (issue 17, finding 4): how many forged webhooks per second the
 * daemon turns away with 1,000 configured companies, and what that does to `GET /healthz`.
 *
 * The daemon runs in a child process (`webhook-server.ts`); this process sends, over loopback only,
 * `concurrency` streams of well-formed webhooks with a fresh timestamp and a signature made with a
 * secret nobody configured (the most expensive forgery: it passes every cheap check), for
 * `durationMs` or `maxRequests`, whichever comes first. Beside them one sequential probe measures
 * `/healthz` latency; the same probe runs alone first, as the unloaded reference.
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';

import { RESULT_PREFIX } from './protocol.js';
import { stat } from './stats.js';

export interface WebhookScenario {
  companies: number;
  /** The forged payload names one of the configured companies (else none). */
  namesCompany: boolean;
}

export interface WebhookLoadOptions {
  scenarios: readonly WebhookScenario[];
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** `/healthz` probes before the load (the unloaded reference). */
  idleProbes: number;
  workDir: string;
  serverScript: string;
  log: (line: string) => void;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WebhookLoadResult {
  companies: number;
  namesCompany: boolean;
  concurrency: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Answers by status, e.g. `{ "401": 41234 }`: every forgery must be 401. */
  statuses: Record<string, number>;
  healthzIdle: LatencySummary;
  healthzUnderLoad: LatencySummary;
}

interface Answer {
  status: number;
  ms: number;
}

function send(
  agent: Agent,
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string,
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function summarise(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    count: sorted.length,
    p50Ms: round(stat(sorted).median),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;

function startDaemon(
  options: WebhookLoadOptions,
  companies: number,
): Promise<{ url: URL; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [options.serverScript], {
    env: { ...process.env, BENCH_DIR: options.workDir, BENCH_COMPANIES: String(companies) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.once('exit', (code) => reject(new Error(`the webhook daemon exited (${String(code)})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (!line) return;
      const { url } = JSON.parse(line.slice(RESULT_PREFIX.length)) as { url: string };
      resolve({
        url: new URL(url),
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

/**
 * Runs each scenario once and returns their figures. Loopback only; each bounded by `durationMs`
 * and `maxRequests`.
 */
export async function measureWebhookLoad(options: WebhookLoadOptions): Promise<WebhookLoadResult[]> {
  const results: WebhookLoadResult[] = [];
  for (const scenario of options.scenarios) results.push(await measureScenario(options, scenario));
  return results;
}

/** The id the bench daemon gives its company number `n` (webhook-server.ts). */
function companyId(n: number): string {
  return `cccccccc-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

async function measureScenario(
  options: WebhookLoadOptions,
  scenario: WebhookScenario,
): Promise<WebhookLoadResult> {
  await rm(options.workDir, { recursive: true, force: true });
  await mkdir(options.workDir, { recursive: true });
  options.log(`webhooks: starting a daemon with ${scenario.companies} companies …`);
  const daemon = await startDaemon(options, scenario.companies);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency + 1 });
  const healthz = new URL('/healthz', daemon.url);
  const webhook = new URL('/webhooks/pleo', daemon.url);
  try {
    const idle: number[] = [];
    for (let i = 0; i < options.idleProbes; i += 1) idle.push((await send(agent, healthz, 'GET', {}, '')).ms);

    const forger = randomBytes(32);
    const data = scenario.namesCompany ? { companyId: companyId(scenario.companies - 1) } : {};
    const body = JSON.stringify({ payload: { eventType: 'v1.export-job.created', data } });
    const statuses: Record<string, number> = {};
    let sent = 0;
    const started = performance.now();
    const deadline = started + options.durationMs;
    const more = (): boolean => performance.now() < deadline && sent < options.maxRequests;
    const stream = async (n: number): Promise<void> => {
      while (more()) {
        sent += 1;
        const id = `msg_forged_${n}_${sent}`;
        const ts = String(Math.floor(Date.now() / 1000));
        const mac = createHmac('sha256', forger).update(`${id}.${ts}.`).update(body).digest('base64');
        const answer = await send(
          agent,
          webhook,
          'POST',
          {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': ts,
            'webhook-signature': `v1,${mac}`,
          },
          body,
        );
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      }
    };
    const loaded: number[] = [];
    const probe = async (): Promise<void> => {
      while (more()) loaded.push((await send(agent, healthz, 'GET', {}, '')).ms);
    };
    options.log(
      `webhooks: ${options.concurrency} streams of forged webhooks for ${options.durationMs / 1000} s …`,
    );
    await Promise.all([...Array.from({ length: options.concurrency }, (_, n) => stream(n)), probe()]);
    const seconds = (performance.now() - started) / 1000;
    const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
    return {
      companies: scenario.companies,
      namesCompany: scenario.namesCompany,
      concurrency: options.concurrency,
      requests,
      seconds: round(seconds),
      requestsPerSecond: Math.round(requests / seconds),
      statuses,
      healthzIdle: summarise(idle),
      healthzUnderLoad: summarise(loaded),
    };
  } finally {
    agent.destroy();
    await daemon.stop();
    await rm(options.workDir, { recursive: true, force: true });
  }
}

/** The figures as a few lines for the terminal. */
export function describeWebhookLoad(r: WebhookLoadResult): string {
  const statuses = Object.entries(r.statuses)
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ');
  return [
    `Forged webhooks, ${r.companies} companies, payload ${r.namesCompany ? 'naming a configured company' : 'naming no company'}, ${r.concurrency} connections, loopback:`,
    `  ${r.requests} requests in ${r.seconds} s = ${r.requestsPerSecond} requests/s (${statuses})`,
    `  /healthz idle:       p50 ${r.healthzIdle.p50Ms} ms, p99 ${r.healthzIdle.p99Ms} ms, max ${r.healthzIdle.maxMs} ms (${r.healthzIdle.count} probes)`,
    `  /healthz under load: p50 ${r.healthzUnderLoad.p50Ms} ms, p99 ${r.healthzUnderLoad.p99Ms} ms, max ${r.healthzUnderLoad.maxMs} ms (${r.healthzUnderLoad.count} probes)`,
  ].join('\n');
}

export const WEBHOOK_LOAD_DEFAULTS = {
  scenarios: [
    { companies: 1, namesCompany: true },
    { companies: 1000, namesCompany: true },
    { companies: 1000, namesCompany: false },
  ],
  concurrency: 16,
  durationMs: 5_000,
  maxRequests: 200_000,
  idleProbes: 200,
} as const;

export function webhookWorkDir(root: string): string {
  return join(root, '.bench-tmp', 'webhooks', String(process.pid));
}
