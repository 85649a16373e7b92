import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { contract } from '../helpers/openapi.js';
import { Api, basic, start } from './helpers.js';

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver on port 0 answering with the given statuses in turn (then 200). */
async function receiver(
  statuses: number[] = [],
): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface SubscriptionResponse {
  data: { id: string; status: string; eventTypes: string[] };
}

describe('webhooks', () => {
  it('delivers v1.export-job.created signed so that the standardwebhooks package verifies it', async () => {
    const rx = await receiver();
    const h = await start({ jobsPerCompany: 0, webhookRetryDelaysMs: [] }, Date.now());
    const sub = await h.api.call<SubscriptionResponse>('POST', '/v1/subscriptions', {
      body: {
        endpointUrl: rx.url,
        eventTypes: ['v1.export-job.created'],
        customHeaders: { 'x-tenant': 'acme' },
      },
    });
    expect(sub.status).toBe(200);
    expect(sub.body.data).toMatchObject({ status: 'ACTIVE', eventTypes: ['v1.export-job.created'] });
    const secret = await h.api.call<{ data: { secretKey: string } }>(
      'GET',
      `/v1/subscriptions/${sub.body.data.id}/secret`,
    );
    expect(secret.body.data.secretKey).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect((await h.api.call('GET', `/v1/subscriptions/${sub.body.data.id}`)).status).toBe(200);

    const job = h.sim.admin.createJob(h.company.id, { itemCount: 3 });
    await h.sim.admin.flushWebhooks();
    expect(rx.received).toHaveLength(1);
    const msg = rx.received[0]!;
    expect(msg.headers['x-tenant']).toBe('acme');
    expect(msg.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    const payload = new Webhook(secret.body.data.secretKey).verify(msg.body, msg.headers) as {
      payload: { data: unknown; eventId: string; eventType: string };
    };
    expect(payload.payload.eventType).toBe('v1.export-job.created');
    expect(payload.payload.eventId).toBe(msg.headers['webhook-id']);
    expect(payload.payload.data).toMatchObject({ id: job.id, status: 'pending', numberOfItems: 3 });
    contract.assertSchema('ExportJobV3', payload.payload.data);
    expect(() => new Webhook(secret.body.data.secretKey).verify(`${msg.body} `, msg.headers)).toThrow();
    await rx.close();
  });

  it('retries failed deliveries, sends duplicates with the same webhook-id, and skips inactive or foreign subscriptions', async () => {
    const rx = await receiver([500, 503]);
    const other = await receiver();
    const h = await start(
      { jobsPerCompany: 0, companies: 2, webhookRetryDelaysMs: [0, 0, 0], webhookDuplicates: 1 },
      Date.now(),
    );
    await h.api.call('POST', '/v1/subscriptions', {
      body: { endpointUrl: rx.url, eventTypes: ['v1.export-job.created'] },
    });
    await h.api.call('POST', '/v1/subscriptions', {
      body: { endpointUrl: other.url, eventTypes: ['v1.export-job.created'], status: 'INACTIVE' },
    });
    const b = new Api(h.sim.url, basic(h.sim.companies[1]!.apiKey));
    await b.call('POST', '/v1/subscriptions', {
      body: { endpointUrl: other.url, eventTypes: ['v1.export-job.created'] },
    });

    const created = await h.api.call<{ data: { id: string } }>('POST', '/v3/export-jobs', {
      body: { companyId: h.company.id, accountingEntryIds: ['6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60'] },
    });
    expect(created.status).toBe(201);
    await h.sim.admin.flushWebhooks();
    expect(rx.received).toHaveLength(4); // 500, 503, 200, then the duplicate
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(other.received).toHaveLength(0);
    const attempts = h.sim.admin.webhookDeliveries();
    expect(attempts.map((a) => [a.copy, a.attempt, a.status])).toEqual([
      [0, 1, 500],
      [0, 2, 503],
      [0, 3, 200],
      [1, 1, 200],
    ]);
    await rx.close();
    await other.close();
  });

  it('validates subscription requests and scopes subscriptions to the company', async () => {
    const h = await start({ companies: 2 });
    const bad = await h.api.call('POST', '/v1/subscriptions', {
      body: { endpointUrl: 'not a url', eventTypes: [] },
    });
    expect(bad.status).toBe(400);
    const sub = await h.api.call<SubscriptionResponse>('POST', '/v1/subscriptions', {
      body: { endpointUrl: 'https://example.com/h', eventTypes: ['v1.export-job.created'] },
    });
    const b = new Api(h.sim.url, basic(h.sim.companies[1]!.apiKey));
    expect((await b.call('GET', `/v1/subscriptions/${sub.body.data.id}/secret`)).status).toBe(404);
    expect((await b.call('DELETE', `/v1/subscriptions/${sub.body.data.id}`)).status).toBe(404);
    expect((await h.api.call('DELETE', `/v1/subscriptions/${sub.body.data.id}`)).status).toBe(204);
    expect((await h.api.call('GET', `/v1/subscriptions/${sub.body.data.id}`)).status).toBe(404);
  });
});
