/**
 * Webhook verification (Standard Webhooks, as docs/decisions.md#w11 infers for Pleo) and the
 * reading of an export-job notification.
 *
 * A message carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64>`, possibly several separated by spaces while a secret is rotated). The signature
 * is HMAC-SHA256 over `"{id}.{timestamp}.{raw body}"`, keyed with the base64-decoded secret after
 * its `whsec_` prefix. We accept a message when one of its `v1` signatures matches one of the
 * secrets we hold (constant-time comparison), and its timestamp is within the tolerance either
 * way (default 5 minutes, as the standard's reference libraries do). Replays of a `webhook-id`
 * are caught by the caller, which remembers ids in the store.
 *
 * The body is parsed only after the signature matched, and only to learn the event type and the
 * company: the webhook is a trigger, its job snapshot is never trusted (docs/decisions.md#w12).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import { ConfigError } from '../errors/index.js';

/** The spellings of the export-job-created event across Pleo's pages (docs/decisions.md#c16). */
export const EXPORT_JOB_CREATED_EVENTS: readonly string[] = Object.freeze([
  'v1.export-job.created',
  'v1.export.job-created',
  'v2.export-job.created',
  'export-job.created',
  'export.job-created',
]);

/** Standard Webhooks' default: how far a message's timestamp may be from our clock. */
export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

/** A webhook signing secret, decoded once. `label` names it in logs (never the secret itself). */
export interface WebhookSecret {
  readonly label: string;
  /** The company whose subscription this secret belongs to, when known. */
  readonly companyId: string | null;
  readonly key: Buffer;
}

/** Decodes a `whsec_…` secret (the prefix is optional). Throws ConfigError when it is not base64. */
export function parseWebhookSecret(
  secret: string,
  label: string,
  companyId: string | null = null,
): WebhookSecret {
  const base64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(base64, 'base64');
  if (base64.length === 0 || key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new ConfigError(`${label}: expected a Standard Webhooks secret like whsec_<base64>`);
  }
  return Object.freeze({ label, companyId, key });
}

/** `v1,<base64>` for a message: what a sender puts in `webhook-signature`. */
export function signWebhook(
  secret: WebhookSecret,
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
): string {
  return `v1,${mac(secret.key, id, String(timestampSeconds), body).toString('base64')}`;
}

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type VerifyFailure = 'missing_headers' | 'bad_timestamp' | 'stale' | 'bad_signature';

export type VerifyResult = { ok: true; secret: WebhookSecret } | { ok: false; reason: VerifyFailure };

/** Longest `webhook-id` we accept (Standard Webhooks ids are short, e.g. `msg_<base32>`). */
const MAX_ID_LENGTH = 256;
/** Longest `webhook-signature` header: a handful of `v1,<44 base64 chars>` while secrets rotate. */
const MAX_SIGNATURE_LENGTH = 1024;

/**
 * The checks that cost nothing: the three headers present and well formed, and the timestamp
 * within the tolerance. Run before the body is read and before any secret is looked at, so a
 * forged or replayed-late message costs no store read and no HMAC (issue 17, finding 4).
 * `null` when the message may go on to the signature check.
 */
export function precheckWebhook(
  headers: WebhookHeaders,
  nowMs: number,
  toleranceMs: number = DEFAULT_TOLERANCE_MS,
): VerifyFailure | null {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing_headers';
  // Printable ASCII only: the id is stored (replay protection) and logged.
  if (id.length > MAX_ID_LENGTH || !/^[\x21-\x7e]+$/.test(id)) return 'missing_headers';
  if (signature.length > MAX_SIGNATURE_LENGTH || !signature.split(' ').some((p) => p.startsWith('v1,')))
    return 'bad_signature';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad_timestamp';
  if (Math.abs(nowMs - Number(timestamp) * 1000) > toleranceMs) return 'stale';
  return null;
}

/**
 * Checks a message against the secrets we hold: {@link precheckWebhook}, then the signature.
 *
 * @example
 * const result = verifyWebhook([parseWebhookSecret(config.server.webhookSecret!, 'server')], headers, body, Date.now());
 * if (!result.ok) reply(401, result.reason);
 */
export function verifyWebhook(
  secrets: readonly WebhookSecret[],
  headers: WebhookHeaders,
  body: Buffer,
  nowMs: number,
  toleranceMs: number = DEFAULT_TOLERANCE_MS,
): VerifyResult {
  const early = precheckWebhook(headers, nowMs, toleranceMs);
  if (early !== null) return { ok: false, reason: early };
  const id = headers.id ?? '';
  const timestamp = headers.timestamp ?? '';
  const candidates = (headers.signature ?? '')
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = mac(secret.key, id, timestamp, body);
    // Compare with every candidate (no early exit on the first): timing says nothing about which.
    let match = false;
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
    }
    if (match) return { ok: true, secret };
  }
  return { ok: false, reason: 'bad_signature' };
}

function mac(key: Buffer, id: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * The company a message's payload names (`payload.data.companyId`, lower case), read before the
 * signature is checked only to choose which secret to try: never trusted for anything else.
 */
export function companyHint(body: Buffer): string | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const companyId = field(field(field(value, 'payload'), 'data'), 'companyId');
  return typeof companyId === 'string' && companyId.length > 0 && companyId.length <= 64
    ? companyId.toLowerCase()
    : null;
}

/** What the daemon reads from a verified body. */
export type WebhookEvent =
  | { kind: 'export_job_created'; eventType: string; companyId: string | null }
  | { kind: 'other'; eventType: string };

/** Parses a verified body; `null` when it is not the documented envelope `{payload: {eventType, …}}`. */
export function parseWebhookEvent(body: Buffer): WebhookEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const payload = field(value, 'payload');
  const eventType = field(payload, 'eventType');
  if (typeof eventType !== 'string' || eventType.length === 0) return null;
  if (!EXPORT_JOB_CREATED_EVENTS.includes(eventType)) return { kind: 'other', eventType };
  const companyId = field(field(payload, 'data'), 'companyId');
  return {
    kind: 'export_job_created',
    eventType,
    companyId: typeof companyId === 'string' && companyId.length > 0 ? companyId.toLowerCase() : null,
  };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
