/**
 * A forged webhook costs no store read (issue 17, finding 4): headers and timestamp are checked
 * before anything else, and the signing secrets are held in memory. A secret `subscribe` writes
 * later (another process) is picked up with one marker read, rate limited.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { parseWebhookSecret, saveWebhookSecret, signWebhook } from '../../src/server/index.js';
import { createScanBudget, FULL_SCANS_PER_SECOND } from '../../src/server/secrets.js';
import type { Store } from '../../src/store/index.js';
import { post, startWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const COMPANY_SECRET = `whsec_${Buffer.from('a company subscription secret!!!').toString('base64')}`;
const FORGER_SECRET = `whsec_${Buffer.from('not the secret of anybody here!!').toString('base64')}`;

/** The store, counting the server's reads. */
function spy(store: Store): { store: Store; reads: () => number; reset: () => void } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (key === 'getValue' || key === 'rememberWebhook') reads += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, reads: () => reads, reset: () => (reads = 0) };
}

function headers(
  w: World,
  secret: string,
  id: string,
  body: string,
  offsetSeconds = 0,
): Record<string, string> {
  const ts = Math.floor(w.now() / 1000) + offsetSeconds;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(parseWebhookSecret(secret, 'test'), id, ts, body),
  };
}

const BODY = JSON.stringify({ payload: { eventType: 'v1.export-job.created', data: {} } });

describe('forged webhooks are cheap', () => {
  it('a stale or malformed forged webhook does no store read; a fresh forged one at most one per period', async () => {
    world = await startWorld({ companies: 3 });
    const w = world;
    for (const c of w.companies.slice(0, 2)) await saveWebhookSecret(w.store, c.id, COMPANY_SECRET);
    const counted = spy(w.store);
    const server = await w.start({ store: counted.store });
    await server.whenIdle();
    const url = `${server.url}/webhooks/pleo`;

    counted.reset();
    for (let i = 0; i < 20; i += 1) {
      const stale = await post(url, BODY, headers(w, FORGER_SECRET, `msg_stale_${i}`, BODY, -3600));
      expect(stale).toEqual({ status: 401, body: { error: 'stale' } });
      const noSignature = await post(url, BODY, { 'webhook-id': `msg_${i}`, 'webhook-timestamp': '1' });
      expect(noSignature.status).toBe(400);
      const badTimestamp = await post(url, BODY, {
        ...headers(w, FORGER_SECRET, `msg_bad_${i}`, BODY),
        'webhook-timestamp': 'soon',
      });
      expect(badTimestamp.status).toBe(400);
    }
    expect(counted.reads()).toBe(0);

    for (let i = 0; i < 20; i += 1) {
      const forged = await post(url, BODY, headers(w, FORGER_SECRET, `msg_forged_${i}`, BODY));
      expect(forged).toEqual({ status: 401, body: { error: 'bad_signature' } });
    }
    // One read of the secrets' generation marker (did `subscribe` write a new one?), not one per
    // request and not one per company.
    expect(counted.reads()).toBe(1);
  });

  it('verifies with the secrets held in memory, and picks up a secret subscribe writes later', async () => {
    world = await startWorld({ companies: 2 });
    const w = world;
    const [a, b] = w.companies;
    await saveWebhookSecret(w.store, a!.id, COMPANY_SECRET);
    const counted = spy(w.store);
    const server = await w.start({ store: counted.store });
    await server.whenIdle();
    const url = `${server.url}/webhooks/pleo`;

    counted.reset();
    const first = await post(url, BODY, headers(w, COMPANY_SECRET, 'msg_a1', BODY));
    expect(first).toEqual({ status: 202, body: { status: 'accepted', companies: [a!.id] } });
    expect(counted.reads()).toBe(1); // rememberWebhook only: the secret came from memory

    // `subscribe` (another process) writes company b's secret while the daemon runs.
    const secretB = `whsec_${Buffer.from('company b subscription secret!!!').toString('base64')}`;
    await saveWebhookSecret(w.store, b!.id, secretB);
    const second = await post(url, BODY, headers(w, secretB, 'msg_b1', BODY));
    expect(second).toEqual({ status: 202, body: { status: 'accepted', companies: [b!.id] } });
  });
});

describe('which secrets a message is tried against', () => {
  it("a company's secret verifies only messages naming that company (or naming none, within the scan budget)", async () => {
    world = await startWorld({ companies: 2 });
    const w = world;
    const [a, b] = w.companies;
    await saveWebhookSecret(w.store, a!.id, COMPANY_SECRET);
    const server = await w.start();
    await server.whenIdle();
    const url = `${server.url}/webhooks/pleo`;
    const naming = (companyId: string): string =>
      JSON.stringify({ payload: { eventType: 'v1.export-job.created', data: { companyId } } });
    const forB = naming(b!.id);
    expect(await post(url, forB, headers(w, COMPANY_SECRET, 'msg_x1', forB))).toEqual({
      status: 401,
      body: { error: 'bad_signature' },
    });
    const forA = naming(a!.id.toUpperCase());
    expect(await post(url, forA, headers(w, COMPANY_SECRET, 'msg_x2', forA))).toEqual({
      status: 202,
      body: { status: 'accepted', companies: [a!.id] },
    });
    expect(await post(url, BODY, headers(w, COMPANY_SECRET, 'msg_x3', BODY))).toEqual({
      status: 202,
      body: { status: 'accepted', companies: [a!.id] },
    });
  });

  it('the full-scan budget: FULL_SCANS_PER_SECOND at once, then refilled with time', () => {
    let t = 0;
    const budget = createScanBudget(() => t);
    const taken = Array.from({ length: FULL_SCANS_PER_SECOND + 2 }, () => budget.take());
    expect(taken.filter(Boolean)).toHaveLength(FULL_SCANS_PER_SECOND);
    t += 1000 / FULL_SCANS_PER_SECOND;
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
  });
});
