/**
 * POST /webhooks/pleo over real HTTP: accept and reject, replay, size limit, and a real
 * simulator subscription whose webhook gets a job processed end to end.
 */
import { request } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import {
  parseWebhookSecret,
  saveWebhookSecret,
  signWebhook,
  type RunningServer,
} from '../../src/server/index.js';
import { sample, post, startWorld, WEBHOOK_SECRET, withServer, type World } from './helpers.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const secret = parseWebhookSecret(WEBHOOK_SECRET, 'test');

function envelope(companyId: string | null, eventType = 'v1.export-job.created'): string {
  return JSON.stringify({
    payload: {
      data: {
        id: '5c3c8a52-1111-4111-8111-111111111111',
        ...(companyId ? { companyId } : {}),
        status: 'pending',
      },
      eventId: 'evt',
      eventType,
    },
  });
}

function signed(w: World, body: string, id: string, offsetSeconds = 0): Record<string, string> {
  const ts = Math.floor(w.now() / 1000) + offsetSeconds;
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signWebhook(secret, id, ts, body),
  };
}

async function metrics(server: RunningServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

describe('POST /webhooks/pleo', () => {
  it('accepts a signed notification at once and polls the named company, and only that one', async () => {
    world = await startWorld({ companies: 2 });
    const w = world;
    const server = await w.start({ config: withServer(w.config, { webhookSecret: WEBHOOK_SECRET }) });
    await server.whenIdle();
    const [a, b] = w.companies;
    const job = w.sim.admin.createJob(b!.id, { itemCount: 4, profile: { failureRatio: 0 } });
    const listings = (companyId: string) =>
      w.sim.admin.requestLog().filter((r) => r.operation === 'listJobs' && r.companyId === companyId).length;
    const before = [listings(a!.id), listings(b!.id)];
    const body = envelope(b!.id.toUpperCase());
    const res = await post(server.webhookUrl, body, signed(w, body, 'msg_1'));
    expect(res).toEqual({ status: 202, body: { status: 'accepted', companies: [b!.id] } });
    await server.whenIdle();
    expect(listings(a!.id)).toBe(before[0]);
    expect(listings(b!.id)).toBeGreaterThan(before[1]!);
    expect(w.sim.admin.job(job.id)!.job.status).toBe('completed');
    expect(w.adapters.get(b!.id)!.bookings()).toHaveLength(4);
    const text = await metrics(server);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'webhook' })).toBe(1);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'accepted' })).toBe(1);
    expect(w.adapters.get(a!.id)!.bookings()).toHaveLength(0);

    // A company we do not serve, or none at all: every company is polled (never trust the payload).
    for (const [id, companyId] of [
      ['msg_2', '00000000-0000-4000-8000-000000000000'],
      ['msg_3', null],
    ] as const) {
      const other = envelope(companyId);
      expect((await post(server.webhookUrl, other, signed(w, other, id))).body['companies']).toEqual([
        a!.id,
        b!.id,
      ]);
    }
    await server.whenIdle();
    // Another event type is acknowledged and ignored.
    const vendor = envelope(a!.id, 'v1.vendor.created');
    expect(await post(server.webhookUrl, vendor, signed(w, vendor, 'msg_4'))).toMatchObject({
      status: 202,
      body: { status: 'ignored' },
    });
  });

  it('rejects a wrong secret, a stale timestamp, missing headers and a malformed body; a replay is not acted on', async () => {
    world = await startWorld();
    const w = world;
    const server = await w.start({ config: withServer(w.config, { webhookSecret: WEBHOOK_SECRET }) });
    await server.whenIdle();
    const companyId = w.companies[0]!.id;
    const body = envelope(companyId);
    const wrong = parseWebhookSecret(
      `whsec_${Buffer.from('not the secret we configured....').toString('base64')}`,
      'x',
    );
    const ts = String(Math.floor(w.now() / 1000));
    const cases: [string, Record<string, string>, string, number, string][] = [
      [
        'wrong secret',
        {
          'webhook-id': 'm1',
          'webhook-timestamp': ts,
          'webhook-signature': signWebhook(wrong, 'm1', Number(ts), body),
        },
        body,
        401,
        'bad_signature',
      ],
      ['stale', signed(w, body, 'm2', -301), body, 401, 'stale'],
      ['from the future', signed(w, body, 'm3', 301), body, 401, 'stale'],
      ['no signature', { 'webhook-id': 'm4', 'webhook-timestamp': ts }, body, 400, 'missing_headers'],
      ['no headers', {}, body, 400, 'missing_headers'],
      ['tampered', signed(w, body, 'm5'), body.replace('pending', 'completed'), 401, 'bad_signature'],
      ['malformed', signed(w, '{"payload":', 'm6'), '{"payload":', 400, 'malformed_body'],
    ];
    for (const [what, headers, sent, status, error] of cases) {
      expect(await post(server.webhookUrl, sent, headers), what).toEqual({ status, body: { error } });
    }
    // The malformed one burnt no id: once fixed, the same id is accepted.
    expect((await post(server.webhookUrl, body, signed(w, body, 'm6'))).status).toBe(202);
    // A replay of an accepted message is acknowledged (the sender may stop) but polls nothing.
    await server.whenIdle();
    const replay = await post(server.webhookUrl, body, signed(w, body, 'm6'));
    expect(replay).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(await w.store.rememberWebhook('m6', new Date().toISOString())).toBe(false);
    await server.whenIdle();
    const text = await metrics(server);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'webhook' })).toBe(1);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'duplicate' })).toBe(1);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'bad_signature' })).toBe(2);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'stale' })).toBe(2);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'missing_headers' })).toBe(2);
    expect(sample(text, 'pleo_export_webhooks_total', { result: 'malformed' })).toBe(1);
  });

  it('answers 413 to a body over server.maxWebhookBytes, declared or streamed, and stays up', async () => {
    world = await startWorld({ server: { maxWebhookBytes: 1024 } });
    const w = world;
    const server = await w.start({ config: withServer(w.config, { webhookSecret: WEBHOOK_SECRET }) });
    const big = JSON.stringify({ payload: { eventType: 'v1.export-job.created', pad: 'x'.repeat(5000) } });
    expect(await post(server.webhookUrl, big, signed(w, big, 'big'))).toEqual({
      status: 413,
      body: { error: 'payload_too_large', maxBytes: 1024 },
    });
    // Chunked, without content-length: cut off while streaming.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(server.webhookUrl, { method: 'POST', headers: signed(w, big, 'big2') }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 5; i++) req.write('x'.repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
    expect(sample(await metrics(server), 'pleo_export_webhooks_total', { result: 'too_large' })).toBe(2);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('without any secret, refuses every webhook (polling still works)', async () => {
    world = await startWorld();
    const w = world;
    const server = await w.start();
    const body = envelope(null);
    expect(await post(server.webhookUrl, body, signed(w, body, 'x'))).toEqual({
      status: 401,
      body: { error: 'bad_signature' },
    });
    expect(w.logs.some((l) => l.level === 'warn' && /no webhook secret/.test(l.msg ?? ''))).toBe(true);
  });
});

describe('a real simulator subscription', () => {
  it('registers the endpoint, keeps the subscription secret, and the delivered webhook gets a job processed end to end', async () => {
    world = await startWorld();
    const w = world;
    const { id: companyId, apiKey } = w.companies[0]!;
    const server = await w.start();
    await server.whenIdle(); // the startup poll found nothing
    const auth = { authorization: `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}` };
    const created = await post(
      `${w.sim.url}/v1/subscriptions`,
      JSON.stringify({ endpointUrl: server.webhookUrl, eventTypes: ['v1.export-job.created'] }),
      auth,
    );
    expect(created.status).toBe(200);
    const subscriptionId = (created.body['data'] as { id: string }).id;
    const res = await fetch(`${w.sim.url}/v1/subscriptions/${subscriptionId}/secret`, { headers: auth });
    const { data } = (await res.json()) as { data: { secretKey: string } };
    await saveWebhookSecret(w.store, companyId, data.secretKey);

    const job = w.sim.admin.createJob(companyId, { itemCount: 12, profile: { failureRatio: 0 } });
    await w.sim.admin.flushWebhooks();
    expect(w.sim.admin.webhookDeliveries().map((d) => [d.eventType, d.status])).toEqual([
      ['v1.export-job.created', 202],
    ]);
    await server.whenIdle();

    const snap = w.sim.admin.job(job.id, { items: true })!;
    expect(snap.job.status).toBe('completed');
    expect(snap.items!.every((i) => i.updateCount === 1)).toBe(true);
    const adapter = w.adapters.get(companyId)!;
    expect(adapter.bookings()).toHaveLength(12);
    expect(adapter.bookings().every((b) => adapter.recordCalls(b.key) === 1)).toBe(true);
    expect(w.timers.fireAll()).toBe(1); // the poll timer never fired before: the webhook did it
    await server.whenIdle();
    const text = await metrics(server);
    expect(sample(text, 'pleo_export_polls_total', { trigger: 'webhook', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'pleo_export_jobs_total', { outcome: 'completed' })).toBe(1);
    // The secret never reaches the logs.
    expect(JSON.stringify(w.logs)).not.toContain(data.secretKey.slice(6));
  });
});
