/**
 * Adaptive pacing against the simulator's enforced rate limit (issue 20), on virtual time: the
 * client starts unpaced, meets the limit, and settles just under it with a bounded number of 429s,
 * and every listing completes. Per company: one client's 429s do not slow another's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPleoClient,
  type FetchLike,
  type PleoClient,
  type RequestEvent,
} from '../../src/client/index.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { COMPANY_ID, fakeTime, page } from './helpers.js';
import { VirtualTime } from './virtual-time.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const LATENCY_MS = 15; // the fake Pleo

const running: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

interface Sent {
  at: number;
  status: number | undefined;
}

async function setUp(limit: number, burst: number, items: number) {
  const vt = new VirtualTime(T0);
  const sim = await startSimulator({
    clock: { now: () => vt.now },
    itemsPerJob: items,
    rateLimit: { requestsPerSecond: limit, burst },
    expiryMs: 0,
    sweepIntervalMs: 600_000,
  });
  running.push(sim);
  const company = sim.companies[0]!;
  const sent: Sent[] = [];
  const client = createPleoClient({
    baseUrl: sim.url,
    companyId: company.id,
    auth: { kind: 'apiKey', apiKey: company.apiKey },
    clock: vt.clock,
    sleep: vt.sleep,
    random: () => 0,
    fetch: vt.fetch((url, init) => fetch(url, init), LATENCY_MS),
    retry: { maxAttempts: 10, jitter: 0 },
    pageSize: 10,
    // rateLimit: the default (unpaced, 8 in flight, AIMD, no ceiling)
    onRequest: (event: RequestEvent) => {
      // Reported when the attempt ended; it left LATENCY_MS earlier (the server's arrival time).
      sent.push({ at: vt.now - LATENCY_MS, status: event.status });
    },
  });
  return { vt, sim, client, sent };
}

async function countAll(pages: AsyncIterable<{ data: unknown[] }>): Promise<number> {
  let n = 0;
  for await (const page of pages) n += page.data.length;
  return n;
}

/** Requests answered 2xx per whole simulated second since `from`. */
function perSecond(sent: Sent[], from: number, to: number): number[] {
  const buckets = new Array<number>(Math.floor((to - from) / 1000)).fill(0);
  for (const s of sent) {
    const i = Math.floor((s.at - from) / 1000);
    if (s.status === 200 && i >= 0 && i < buckets.length) buckets[i]!++;
  }
  return buckets;
}

describe('adaptive pacing against an enforced rate limit', () => {
  it('settles just under 20 requests/s with few 429s, and every page arrives', async () => {
    const limit = 20;
    const items = 1000;
    const burst = 2;
    const { vt, sim, client, sent } = await setUp(limit, burst, items);
    const job = await vt.run(firstJob(client));
    await vt.run(client.sendJobEvent({ jobId: job, event: 'started' }));
    const start = vt.now;

    // Four listings at once, 100 pages each: unpaced, four times 1/15 ms = 266 requests/s.
    const counts = await vt.run(
      Promise.all([
        countAll(client.listJobItems(job, {})),
        countAll(client.listJobItems(job, {})),
        countAll(client.listExportItems(job)),
        countAll(client.listExportItems(job)),
      ]),
    );
    expect(counts).toEqual([items, items, items, items]);

    const during = sent.filter((s) => s.at >= start);
    const refused = during.filter((s) => s.status === 429).length;
    const accepted = during.filter((s) => s.status === 200).length;
    expect(accepted).toBe(400);
    // What the simulator saw agrees with what the client reported.
    expect(sim.admin.state({ items: false }).requests.rejectedByReason['rate_limited']).toBe(refused);

    const elapsedS = (vt.now - start) / 1000;
    const rates = perSecond(sent, start, vt.now);
    const settled = rates.slice(5, -1); // after the first cuts, without the last partial second
    const report = { refused, elapsedS, rates };
    // Bounded 429s: the first wave meets the limit, then AIMD probes it every few seconds.
    expect(refused, JSON.stringify(report)).toBeLessThanOrEqual(12);
    // Never over the limit (burst included), and settled just under it. AIMD saw-tooths between
    // 0.7 and 1 × the limit, and each probe that meets it costs the 1 s pause its Retry-After asks
    // for: the steady-state throughput is at least 75 % of the limit (measured: about 83 %).
    for (const r of rates) expect(r, JSON.stringify(report)).toBeLessThanOrEqual(limit + burst);
    const mean = settled.reduce((a, b) => a + b, 0) / settled.length;
    expect(mean, JSON.stringify(report)).toBeGreaterThanOrEqual(0.75 * limit);
    expect(mean, JSON.stringify(report)).toBeLessThanOrEqual(limit);
    // 400 requests at 20/s cannot take less than 20 s; the start (one pause, a cut) adds a little.
    expect(elapsedS, JSON.stringify(report)).toBeGreaterThan(19);
    expect(elapsedS, JSON.stringify(report)).toBeLessThan(400 / (0.7 * limit));
  }, 60_000);

  it('without a limit, runs unpaced: no sleep at all, up to 8 requests in flight', async () => {
    const vt = new VirtualTime(T0);
    const sim = await startSimulator({ clock: { now: () => vt.now }, itemsPerJob: 200, expiryMs: 0 });
    running.push(sim);
    const company = sim.companies[0]!;
    let inFlight = 0;
    let peak = 0;
    const counting: FetchLike = async (url, init) => {
      peak = Math.max(peak, ++inFlight);
      try {
        return await vt.fetch((u, i) => fetch(u, i), LATENCY_MS)(url, init);
      } finally {
        inFlight--;
      }
    };
    const client = createPleoClient({
      baseUrl: sim.url,
      companyId: company.id,
      auth: { kind: 'apiKey', apiKey: company.apiKey },
      clock: vt.clock,
      sleep: vt.sleep,
      fetch: counting,
      pageSize: 10,
    });
    const job = await vt.run(firstJob(client));
    const start = vt.now;
    await vt.run(Promise.all(Array.from({ length: 12 }, () => countAll(client.listJobItems(job, {})))));
    // 12 listings × 20 pages, 8 at a time, 15 ms each: 30 rounds of 15 ms.
    expect(peak).toBe(8);
    expect(vt.now - start).toBe(30 * LATENCY_MS);
  }, 60_000);
});

describe('pacing is per company', () => {
  it("one company's 429s do not slow another company's client", async () => {
    const a = fakeTime();
    const b = fakeTime();
    const jobs = JSON.stringify(page([]));
    const limited: FetchLike = () =>
      Promise.resolve(
        new Response(JSON.stringify({ type: 'rate_limited', message: 'slow down' }), {
          status: 429,
          headers: { 'retry-after': '5', 'content-type': 'application/json' },
        }),
      );
    const fine: FetchLike = () =>
      Promise.resolve(new Response(jobs, { status: 200, headers: { 'content-type': 'application/json' } }));
    const make = (time: typeof a, fetchLike: FetchLike, companyId: string): PleoClient =>
      createPleoClient({
        baseUrl: 'https://external.pleo.io',
        companyId,
        auth: { kind: 'apiKey', apiKey: 'k' },
        clock: time.clock,
        sleep: time.sleep,
        random: () => 0,
        fetch: fetchLike,
        retry: { maxAttempts: 3, jitter: 0 },
      });
    const clientA = make(a, limited, COMPANY_ID);
    const clientB = make(b, fine, '1b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b');
    await expect(countAll(clientA.listJobs({}))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    for (let i = 0; i < 20; i++) await countAll(clientB.listJobs({}));
    expect(a.time.delays.length).toBeGreaterThan(0);
    expect(b.time.delays).toEqual([]);
  });
});

async function firstJob(client: PleoClient): Promise<string> {
  for await (const page of client.listJobs({ statuses: ['pending'] })) {
    const job = page.data[0];
    if (job !== undefined) return job.id;
  }
  throw new Error('no pending job');
}
