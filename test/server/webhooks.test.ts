import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

import {
  EXPORT_JOB_CREATED_EVENTS,
  parseWebhookSecret,
  signWebhook,
  verifyWebhook,
} from '../../src/server/index.js';
import { parseWebhookEvent } from '../../src/server/webhooks.js';
import { signWebhook as simulatorSign } from '../../src/simulator/index.js';
import { WEBHOOK_SECRET } from './helpers.js';

const NOW = Date.parse('2026-06-01T09:00:00.000Z');
const TS = Math.floor(NOW / 1000);
const ID = 'msg_2Lq4bJ4Yp1c8';
const BODY = JSON.stringify({
  payload: {
    data: { id: 'c3f1e1d2-0000-4000-8000-000000000001', companyId: 'AB12CD34-0000-4000-8000-000000000002' },
    eventId: ID,
    eventType: 'v1.export-job.created',
  },
});
const secret = parseWebhookSecret(WEBHOOK_SECRET, 'test');
const other = parseWebhookSecret(
  `whsec_${Buffer.from('another secret, thirty-two bytes').toString('base64')}`,
  'other',
);

function headers(signature: string, id = ID, timestamp = String(TS)) {
  return { id, timestamp, signature };
}

describe('webhook signatures (Standard Webhooks)', () => {
  it('accepts what the standardwebhooks package signs, and the package accepts what we sign', () => {
    const theirs = new Webhook(WEBHOOK_SECRET).sign(ID, new Date(NOW), BODY);
    expect(verifyWebhook([secret], headers(theirs), Buffer.from(BODY), NOW)).toMatchObject({ ok: true });

    // The package checks the timestamp against the real clock: sign "now" for its side.
    const ts = Math.floor(Date.now() / 1000);
    const ours = signWebhook(secret, ID, ts, BODY);
    expect(ours).toBe(new Webhook(WEBHOOK_SECRET).sign(ID, new Date(ts * 1000), BODY));
    expect(
      new Webhook(WEBHOOK_SECRET).verify(BODY, {
        'webhook-id': ID,
        'webhook-timestamp': String(ts),
        'webhook-signature': ours,
      }),
    ).toMatchObject({ payload: { eventType: 'v1.export-job.created' } });
    // …and the simulator signs the same way.
    expect(simulatorSign(WEBHOOK_SECRET, ID, TS, BODY)).toBe(signWebhook(secret, ID, TS, BODY));
  });

  it('rejects a wrong secret, a changed body, id or timestamp, exactly when the package does', () => {
    const good = signWebhook(secret, ID, TS, BODY);
    const cases: [string, ReturnType<typeof headers>, string][] = [
      ['body', headers(good), `${BODY} `],
      ['id', headers(good, 'msg_other'), BODY],
      ['timestamp', headers(good, ID, String(TS + 1)), BODY],
      ['secret', headers(signWebhook(other, ID, TS, BODY)), BODY],
      ['scheme', headers(good.replace('v1,', 'v2,')), BODY],
      ['garbage', headers('v1,not-base64!!'), BODY],
    ];
    for (const [what, h, body] of cases) {
      expect(verifyWebhook([secret], h, Buffer.from(body), NOW), what).toEqual({
        ok: false,
        reason: 'bad_signature',
      });
      const pkgHeaders = {
        'webhook-id': h.id,
        'webhook-timestamp': h.timestamp,
        'webhook-signature': h.signature,
      };
      expect(() => new Webhook(WEBHOOK_SECRET).verify(body, pkgHeaders), what).toThrow();
    }
  });

  it('accepts one matching signature among several (secret rotation) and any of our secrets', () => {
    const sig = `v1,${Buffer.alloc(32).toString('base64')} ${signWebhook(other, ID, TS, BODY)} v1a,xyz`;
    expect(verifyWebhook([secret], headers(sig), Buffer.from(BODY), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const result = verifyWebhook([secret, other], headers(sig), Buffer.from(BODY), NOW);
    expect(result.ok && result.secret.label).toBe('other');
  });

  it('rejects stale and future timestamps beyond 5 minutes, and malformed or missing headers', () => {
    const at = (offsetSeconds: number) => {
      const ts = TS + offsetSeconds;
      return verifyWebhook(
        [secret],
        headers(signWebhook(secret, ID, ts, BODY), ID, String(ts)),
        Buffer.from(BODY),
        NOW,
      );
    };
    expect(at(-299)).toMatchObject({ ok: true });
    expect(at(299)).toMatchObject({ ok: true });
    expect(at(-301)).toEqual({ ok: false, reason: 'stale' });
    expect(at(301)).toEqual({ ok: false, reason: 'stale' });
    const sig = signWebhook(secret, ID, TS, BODY);
    expect(verifyWebhook([secret], headers(sig, ID, '17e8'), Buffer.from(BODY), NOW)).toEqual({
      ok: false,
      reason: 'bad_timestamp',
    });
    for (const missing of ['id', 'timestamp', 'signature'] as const) {
      const h = { ...headers(sig), [missing]: undefined };
      expect(verifyWebhook([secret], h, Buffer.from(BODY), NOW)).toEqual({
        ok: false,
        reason: 'missing_headers',
      });
    }
    expect(verifyWebhook([], headers(sig), Buffer.from(BODY), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a secret that is not base64', () => {
    expect(() => parseWebhookSecret('whsec_', 'server.webhookSecret')).toThrow(/server.webhookSecret/);
    expect(() => parseWebhookSecret('whsec_not base64!', 'server.webhookSecret')).toThrow(/whsec_/);
  });
});

describe('webhook bodies', () => {
  it('recognises every spelling of the export-job-created event and reads the company', () => {
    expect(EXPORT_JOB_CREATED_EVENTS).toHaveLength(5);
    for (const eventType of EXPORT_JOB_CREATED_EVENTS) {
      const body = Buffer.from(JSON.stringify({ payload: { eventType, data: { companyId: 'ABC' } } }));
      expect(parseWebhookEvent(body)).toEqual({ kind: 'export_job_created', eventType, companyId: 'abc' });
    }
    expect(
      parseWebhookEvent(Buffer.from(JSON.stringify({ payload: { eventType: 'v1.export-job.created' } }))),
    ).toEqual({ kind: 'export_job_created', eventType: 'v1.export-job.created', companyId: null });
  });

  it('tells other events apart and refuses malformed bodies', () => {
    expect(parseWebhookEvent(Buffer.from('{"payload":{"eventType":"v1.vendor.created","data":{}}}'))).toEqual(
      {
        kind: 'other',
        eventType: 'v1.vendor.created',
      },
    );
    for (const body of ['', 'not json', '[]', '{}', '{"payload":[]}', '{"payload":{"eventType":42}}']) {
      expect(parseWebhookEvent(Buffer.from(body)), body).toBeNull();
    }
  });
});
