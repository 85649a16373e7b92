/**
 * Webhook subscriptions (`POST /v1/subscriptions`, `GET /v1/subscriptions/{id}`,
 * `DELETE /v1/subscriptions/{id}`, `GET /v1/subscriptions/{id}/secret`) and delivery of
 * `v1.export-job.created` when a job is created (through the API or the admin API).
 *
 * Signing follows Standard Webhooks, as docs/decisions.md#w11 infers for Pleo: headers
 * `webhook-id` (the event id; equal across retries and duplicates), `webhook-timestamp` (unix
 * seconds of the attempt, from the simulator clock) and `webhook-signature`
 * = `v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the base64-decoded
 * secret after `whsec_`. `customHeaders` are added to every delivery; `endpointAuth` BASIC adds
 * an `Authorization: Basic` header.
 *
 * Delivery policy (Pleo documents none; "at least once, maybe never"): an attempt succeeds on
 * any 2xx within `timeoutMs`; otherwise it is retried after each of `retryDelaysMs` (real time),
 * then given up. `duplicates` re-sends each event that many extra times (same `webhook-id`);
 * `delayMs` waits before each send. Every attempt is recorded for the admin API.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { iso } from './clock.js';
import type { Clock } from './clock.js';
import { deterministicUuid } from './ids.js';
import type { Job } from './job.js';
import type { SubscriptionBody } from './validate.js';

export const EXPORT_JOB_CREATED = 'v1.export-job.created';

export interface WebhookConfig {
  /** Per-attempt timeout. @default 5000 */
  timeoutMs: number;
  /** Pauses between attempts; its length is the number of retries. @default [100, 1000, 5000] */
  retryDelaysMs: number[];
  /** Extra copies of every delivery (same webhook-id). @default 0 */
  duplicates: number;
  /** Wait before every send, in real ms. @default 0 */
  delayMs: number;
  /** @default globalThis.fetch */
  fetch: typeof fetch;
}

export interface Subscription {
  id: string;
  companyId: string;
  endpointUrl: string;
  eventTypes: string[];
  customHeaders?: Record<string, string>;
  endpointAuth?: SubscriptionBody['endpointAuth'];
  status: 'ACTIVE' | 'INACTIVE';
  createdAt: string;
  updatedAt: string;
  secret: string;
}

export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  subscriptionId: string;
  url: string;
  copy: number;
  attempt: number;
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
}

/** `v1,<signature>` for a Standard Webhooks message. */
export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

const MAX_RECORDED = 10_000;

export class Webhooks {
  readonly subscriptions = new Map<string, Subscription>();
  readonly attempts: DeliveryAttempt[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #n = 0;

  private readonly clock: Clock;
  private readonly config: WebhookConfig;
  private readonly seed: number;
  constructor(clock: Clock, config: WebhookConfig, seed: number) {
    this.clock = clock;
    this.config = config;
    this.seed = seed;
  }

  create(companyId: string, body: SubscriptionBody): Subscription {
    const now = iso(this.clock.now());
    const sub: Subscription = {
      id: deterministicUuid('subscription', this.seed, ++this.#n),
      companyId,
      endpointUrl: body.endpointUrl,
      eventTypes: body.eventTypes,
      status: body.status,
      createdAt: now,
      updatedAt: now,
      secret: `whsec_${randomBytes(24).toString('base64')}`,
    };
    if (body.customHeaders) sub.customHeaders = body.customHeaders;
    if (body.endpointAuth) sub.endpointAuth = body.endpointAuth;
    this.subscriptions.set(sub.id, sub);
    return sub;
  }

  /** The spec's `SubscriptionModel`. */
  static toModel(sub: Subscription): Record<string, unknown> {
    const { secret: _secret, companyId: _company, ...model } = sub;
    return model;
  }

  /** Sends `v1.export-job.created` for a new job to every matching subscription. */
  jobCreated(job: Job): void {
    const now = this.clock.now();
    const eventId = deterministicUuid('event', job.id, EXPORT_JOB_CREATED);
    const body = JSON.stringify({
      payload: { data: job.toJson(now), eventId, eventType: EXPORT_JOB_CREATED },
    });
    for (const sub of this.subscriptions.values()) {
      if (sub.companyId !== job.companyId || sub.status !== 'ACTIVE') continue;
      if (!sub.eventTypes.includes(EXPORT_JOB_CREATED)) continue;
      const task = this.#deliver(sub, eventId, EXPORT_JOB_CREATED, body).finally(() =>
        this.#inFlight.delete(task),
      );
      this.#inFlight.add(task);
    }
  }

  async #deliver(sub: Subscription, eventId: string, eventType: string, body: string): Promise<void> {
    const signal = this.#abort.signal;
    try {
      for (let copy = 0; copy <= this.config.duplicates; copy++) {
        for (let attempt = 0; ; attempt++) {
          if (this.config.delayMs > 0) await sleep(this.config.delayMs, undefined, { signal });
          const ok = await this.#attempt(sub, eventId, eventType, body, copy, attempt + 1);
          if (ok || attempt >= this.config.retryDelaysMs.length) break;
          await sleep(this.config.retryDelaysMs[attempt], undefined, { signal });
        }
      }
    } catch {
      // Only the close() abort interrupts a sleep; #attempt records every other failure.
    }
  }

  async #attempt(
    sub: Subscription,
    eventId: string,
    eventType: string,
    body: string,
    copy: number,
    attempt: number,
  ): Promise<boolean> {
    const now = this.clock.now();
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      ...sub.customHeaders,
      'content-type': 'application/json',
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(sub.secret, eventId, timestamp, body),
    };
    const creds = sub.endpointAuth?.credentials;
    if (sub.endpointAuth?.type === 'BASIC' && creds) {
      headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
    }
    const record: DeliveryAttempt = {
      eventId,
      eventType,
      subscriptionId: sub.id,
      url: sub.endpointUrl,
      copy,
      attempt,
      at: iso(now),
      ok: false,
    };
    try {
      const res = await this.config.fetch(sub.endpointUrl, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      record.ok = res.ok;
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    this.attempts.push(record);
    if (this.attempts.length > MAX_RECORDED) this.attempts.splice(0, this.attempts.length - MAX_RECORDED);
    return record.ok;
  }

  /** Resolves once every delivery started so far has finished (including retries). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Cancels pending retries and in-flight requests. */
  close(): void {
    this.#abort.abort();
  }
}
