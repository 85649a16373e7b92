/**
 * The webhook signing secrets the daemon verifies with, held in memory (issue 17, finding 4: a
 * store read per configured company on every webhook let forged requests cut the daemon's
 * throughput several-fold at 1,000 companies).
 *
 * Secrets live in the store (`webhook-secret:<company>`, written by `subscribe`, possibly from
 * another process or machine) and in `server.webhookSecret`. They are all read once at startup.
 * Every write of a company secret also writes a new generation marker ({@link SECRETS_GENERATION_KEY}),
 * so the daemon notices a new secret with one read of that marker, and reloads only then:
 *
 * - when a well-formed, timely message matches none of the secrets held (a delivery signed with
 *   a secret `subscribe` just wrote): at most once per {@link RECHECK_AFTER_MISS_MS}, whatever
 *   the number of such messages, so forged traffic costs at most one store read per period;
 * - when the marker was last read more than {@link RECHECK_EVERY_MS} ago (a rotated-out secret
 *   stops being accepted within that time).
 *
 * Concurrent checks share one read (single flight).
 *
 * Each company's secret is tried first only for messages whose payload names that company (a
 * delivery of company X's subscription is about X): a forged message costs one or two HMACs, not
 * one per configured company (which costs milliseconds of CPU at 1,000 companies). A message that
 * names no configured company is tried against every secret only within a small budget
 * ({@link FULL_SCANS_PER_SECOND}); past it, it is refused as unsigned.
 */
import { randomUUID } from 'node:crypto';

import type { EngineLogger } from '../engine/index.js';
import { describeError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { parseWebhookSecret, type WebhookSecret } from './webhooks.js';

/** The store key whose value changes whenever a company's webhook secret is written. */
export const SECRETS_GENERATION_KEY = 'webhook-secrets:generation';
/** Least time between two marker reads caused by unmatched signatures. */
export const RECHECK_AFTER_MISS_MS = 5_000;
/** Longest time the held secrets go without a marker read (on the next webhook after it). */
export const RECHECK_EVERY_MS = 60_000;

/** Messages per second that may be tried against every secret (they name no configured company). */
export const FULL_SCANS_PER_SECOND = 5;

/**
 * A token bucket of full scans: `take()` is true when one may run now. Burst of one second's
 * worth; refilled continuously from the injected clock.
 */
export function createScanBudget(now: () => number, perSecond = FULL_SCANS_PER_SECOND): { take(): boolean } {
  let tokens = perSecond;
  let at = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(perSecond, tokens + ((t - at) / 1000) * perSecond);
      at = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** The store key of a company's webhook secret (the subscription's `whsec_…`). */
export function webhookSecretKey(companyId: string): string {
  return `webhook-secret:${companyId.toLowerCase()}`;
}

/**
 * Remembers the signing secret of a company's subscription (`GET /v1/subscriptions/{id}/secret`),
 * and bumps the generation marker so a running daemon picks it up.
 */
export async function saveWebhookSecret(
  store: Store,
  companyId: string,
  secret: string | null,
): Promise<void> {
  if (secret !== null) parseWebhookSecret(secret, 'webhook secret');
  await store.setValue(webhookSecretKey(companyId), secret);
  await store.setValue(SECRETS_GENERATION_KEY, randomUUID());
}

export interface SecretCache {
  /** The secrets held now (no I/O). */
  current(): readonly WebhookSecret[];
  /**
   * The secrets worth trying for a message whose payload names `companyId`: the configured
   * `server.webhookSecret` and that company's own secret. One or two HMACs, not one per company.
   */
  candidates(companyId: string | null): readonly WebhookSecret[];
  /** Reads every secret (startup). */
  load(): Promise<void>;
  /**
   * Called when a message matched no secret held: reloads if the marker changed (rate limited).
   * Resolves `true` when the secrets were reloaded (verify again), `false` otherwise.
   */
  afterMiss(): Promise<boolean>;
  /** Called on every verified-or-not webhook: reads the marker when it is older than RECHECK_EVERY_MS. */
  maybeRefresh(): Promise<void>;
}

export function createSecretCache(options: {
  store: Store;
  companyIds: readonly string[];
  configured: WebhookSecret | null;
  logger: EngineLogger;
  now: () => number;
}): SecretCache {
  const { store, companyIds, configured, logger, now } = options;
  let secrets: readonly WebhookSecret[] = configured ? [configured] : [];
  let byCompany = new Map<string, WebhookSecret>();
  let generation: string | null = null;
  let lastCheck = Number.NEGATIVE_INFINITY;
  let lastMissCheck = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<boolean> | undefined;

  const loadAll = async (): Promise<void> => {
    // The marker first: a secret written after this read bumps it again, so nothing is missed.
    generation = await store.getValue(SECRETS_GENERATION_KEY);
    const out: WebhookSecret[] = configured ? [configured] : [];
    for (const companyId of companyIds) {
      const value = await store.getValue(webhookSecretKey(companyId));
      if (value === null) continue;
      try {
        out.push(parseWebhookSecret(value, `webhook secret of ${companyId}`, companyId));
      } catch (error) {
        logger.warn(
          { companyId, error: describeError(error) },
          'ignoring an unreadable stored webhook secret',
        );
      }
    }
    secrets = Object.freeze(out);
    byCompany = new Map(out.flatMap((s) => (s.companyId === null ? [] : [[s.companyId, s] as const])));
  };

  /** One marker read; reloads everything when it changed. Single flight. */
  const check = (): Promise<boolean> =>
    (inFlight ??= (async () => {
      try {
        lastCheck = now();
        const marker = await store.getValue(SECRETS_GENERATION_KEY);
        if (marker === generation) return false;
        await loadAll();
        logger.info({ secrets: secrets.length }, 'webhook secrets reloaded');
        return true;
      } finally {
        inFlight = undefined;
      }
    })());

  return {
    current: () => secrets,
    candidates: (companyId) => {
      const own = companyId === null ? undefined : byCompany.get(companyId);
      return [...(configured ? [configured] : []), ...(own ? [own] : [])];
    },
    load: async () => {
      lastCheck = now();
      await loadAll();
    },
    afterMiss: async () => {
      if (inFlight) return inFlight;
      if (now() - lastMissCheck < RECHECK_AFTER_MISS_MS) return false;
      lastMissCheck = now();
      return check();
    },
    maybeRefresh: async () => {
      if (now() - lastCheck < RECHECK_EVERY_MS) return;
      await check();
    },
  };
}
