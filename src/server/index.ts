/**
 * @module server
 * The daemon (`pleo-export serve`): webhooks, scheduled polling, a manual trigger, health,
 * readiness and Prometheus metrics. When and how often a company is polled is the runtime's
 * company pool; what a poll does is the {@link CompanyPoller} port it is given — run the company's
 * jobs in this process (the default), or enqueue a run for the workers (the scaled-out mode).
 *
 * Endpoints
 * - `POST /webhooks/pleo`: Standard Webhooks–signed export-job notifications (see `webhooks.ts`).
 *   Verified, de-duplicated by `webhook-id` in the store, answered 202 at once; the poll runs after.
 * - `POST /trigger[?company=ID]`: poll now. Bearer `server.triggerToken` when configured, else
 *   loopback callers only; a token is required (or the daemon does not start) when it listens on
 *   a non-loopback address or `server.publicUrl` is set (see `access.ts`).
 * - `GET /healthz` (the process answers), `GET /readyz` (store answers, not shutting down),
 *   `GET /metrics` (Prometheus text format).
 * - `/console/…`: the web console (`src/console/`), unless `server.console.enabled` is false. It
 *   needs `server.console.token` unless the server listens on a loopback address.
 *
 * The audit trail is pruned at start and after polls, at most once an hour, down to
 * `audit.retentionDays`.
 *
 * The server knows the {@link Store} only through its interface, so it runs over whichever store
 * it is given.
 */
import type { Registry } from 'prom-client';

import type { CompiledConfig } from '../config/index.js';
import { createWebConsole, isLoopbackHost, type ConsoleActions, type WebConsole } from '../console/index.js';
import type { EngineLogger } from '../engine/index.js';
import { describeError } from '../errors/index.js';
import {
  createCompanyPool,
  createCompanyRuntime,
  createInProcessPoller,
  type CompanyPoller,
  type CreateRuntime,
  type RuntimeHooks,
  type SetTimeoutLike,
} from '../runtime/index.js';
import type { Store } from '../store/index.js';
import { bearerMatches, isLoopback, requireTriggerToken } from './access.js';
import {
  BodyTooLargeError,
  reply,
  startHttpServer,
  type HttpReply,
  type HttpRequest,
  type Mount,
} from './http.js';
import { createServerMetrics, type WebhookResult } from './metrics.js';
import { createScanBudget, createSecretCache } from './secrets.js';
import {
  companyHint,
  parseWebhookEvent,
  parseWebhookSecret,
  precheckWebhook,
  type VerifyFailure,
  verifyWebhook,
} from './webhooks.js';

export {
  EXPORT_JOB_CREATED_EVENTS,
  parseWebhookSecret,
  signWebhook,
  verifyWebhook,
  type WebhookSecret,
} from './webhooks.js';
export { SECRETS_GENERATION_KEY, saveWebhookSecret, webhookSecretKey } from './secrets.js';
export { isLoopbackHost, requireTriggerToken } from './access.js';
export type {
  CompanyPoller,
  CreateRuntime,
  JobOutcome,
  PollTrigger,
  SetTimeoutLike,
  WorkerState,
} from '../runtime/index.js';

/** The path Pleo delivers webhooks to (append it to `server.publicUrl` when subscribing). */
export const WEBHOOK_PATH = '/webhooks/pleo';

export interface ServerHooks {
  /** Passed to every company's Pleo client. @default globalThis.fetch */
  fetch?: RuntimeHooks['fetch'];
  /** Clock of the webhook timestamp check. @default Date.now */
  now?: () => number;
  /** The poll timers (inject a fake one in tests). @default node's setTimeout, unref'd */
  setTimeout?: SetTimeoutLike;
  /** Jitter source, in [0, 1). @default Math.random */
  random?: () => number;
}

export interface ServerOptions {
  config: CompiledConfig;
  store: Store;
  logger: EngineLogger;
  hooks?: ServerHooks;
  /**
   * What a poll of a company does (the scaled-out mode passes one that enqueues a run for the
   * workers). @default the runtime's in-process poller: the company's jobs run in this process,
   * with `createRuntime`, feeding this server's metrics and logs
   */
  poller?: CompanyPoller;
  /**
   * Builds a company's client, adapter and engine for the default in-process poller; it gets the
   * hooks that feed the metrics and logs. @default the runtime's `createCompanyRuntime` over
   * `config` and `store`
   */
  createRuntime?: CreateRuntime;
  /**
   * What the console may do besides reading the store (preview, retry); given `trigger`, which
   * asks for a poll of a company now. @default none: the console only reads
   */
  consoleActions?: (trigger: (companyId: string) => void) => ConsoleActions;
}

export interface RunningServer {
  /** Where the server listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  /** The URL to register at Pleo: `server.publicUrl` (or `url`) + {@link WEBHOOK_PATH}. */
  readonly webhookUrl: string;
  /** The web console's address, or null when it is off. */
  readonly consoleUrl: string | null;
  /** This server's own metrics registry. */
  readonly metrics: Registry;
  /**
   * Polls one company (or all) now. Resolves when a poll that started after the call finished;
   * rejects for a company that is not configured.
   */
  trigger(companyId?: string): Promise<void>;
  /** Resolves when no poll is running or waiting. */
  whenIdle(): Promise<void>;
  /**
   * Stops taking work (no new polls; webhooks and triggers answered 503; `/readyz` 503), aborts
   * the engines' signal so they finish or checkpoint their in-flight items, and waits for them.
   * The HTTP server keeps answering until {@link close}.
   */
  drain(): Promise<void>;
  /** Drains, stops the HTTP server and closes the companies' adapters. The store stays open. */
  close(): Promise<void>;
}

/**
 * Starts the daemon: the HTTP endpoints, and a first poll of every company (which also resumes
 * jobs an earlier process left unfinished), then polls on timers, webhooks and triggers.
 *
 * @example
 * const store = await openStore(config);
 * const server = await startServer({ config, store, logger: createLogger('info') });
 * process.once('SIGTERM', () => void server.close());
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, store, logger } = options;
  requireTriggerToken(config.server);
  const hooks = options.hooks ?? {};
  const now = hooks.now ?? Date.now;
  const companyIds = config.companies.map((c) => c.id);
  const configuredSecret =
    config.server.webhookSecret === undefined
      ? null
      : parseWebhookSecret(config.server.webhookSecret, 'server.webhookSecret');
  const createRuntime: CreateRuntime =
    options.createRuntime ??
    ((company, runtimeHooks) => createCompanyRuntime(config, company, store, runtimeHooks));

  const lastPolls = new Map<string, { at: string; trigger: string; outcome: string }>();
  // The audit trail's retention, applied at most once an hour (a failure is logged and retried then).
  let prunedAt = -Infinity;
  const pruneAudit = async (): Promise<void> => {
    if (now() - prunedAt < 60 * 60 * 1000) return;
    prunedAt = now();
    const before = new Date(now() - config.audit.retentionDays * 24 * 60 * 60 * 1000).toISOString();
    try {
      const pruned = await store.pruneAudit(before);
      if (pruned > 0) logger.info({ pruned, before }, 'audit trail pruned');
    } catch (error) {
      logger.warn({ error: describeError(error) }, 'pruning the audit trail failed');
    }
  };

  // The gauges read the pool and the poller at scrape time (both exist by then).
  const metrics = createServerMetrics({
    queueDepth: () => sched.queueDepth(),
    runningJobs: () => poller.runningJobs(),
  });
  const poller: CompanyPoller =
    options.poller ??
    createInProcessPoller({
      companies: config.companies,
      createRuntime,
      metrics,
      logger,
      now,
      ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
    });
  const sched = createCompanyPool({
    companyIds,
    maxConcurrent: config.server.maxConcurrentCompanies,
    pollIntervalMs: config.server.pollIntervalMs,
    poll: async (companyId, trigger, signal) => {
      const outcome = await poller.poll(companyId, trigger, signal);
      metrics.pollFinished(trigger, outcome);
      lastPolls.set(companyId, { at: new Date(now()).toISOString(), trigger, outcome });
      void pruneAudit();
    },
    ...(hooks.setTimeout ? { setTimeout: hooks.setTimeout } : {}),
    ...(hooks.random ? { random: hooks.random } : {}),
  });

  const secrets = createSecretCache({ store, companyIds, configured: configuredSecret, logger, now });
  await secrets.load();
  const scans = createScanBudget(now);

  const webhookReply = (result: WebhookResult, status: number, json: unknown): HttpReply => {
    metrics.webhook(result);
    if (status >= 400) logger.warn({ result, status }, 'webhook rejected');
    return reply(status, json);
  };

  const onWebhook = async (req: HttpRequest): Promise<HttpReply> => {
    if (sched.stopping) return webhookReply('unavailable', 503, { error: 'shutting_down' });
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(' ') : value;
    };
    const headers = {
      id: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
    };
    // Cheap checks first (issue 17, finding 4): headers and timestamp before the body is read,
    // and the secrets are held in memory, so a forged or late message costs no store read.
    const early = precheckWebhook(headers, now());
    if (early !== null) return webhookReply(early, statusOf(early), { error: early });
    let body: Buffer;
    try {
      body = await req.body(config.server.maxWebhookBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) metrics.webhook('too_large');
      throw error;
    }
    await secrets.maybeRefresh();
    // The payload's company only chooses which secret to try (see secrets.ts); nothing else.
    const hint = companyHint(body);
    const named = hint !== null && sched.has(hint);
    const verify = (): ReturnType<typeof verifyWebhook> => {
      const first = verifyWebhook(secrets.candidates(named ? hint : null), headers, body, now());
      if (first.ok || named || !scans.take()) return first;
      return verifyWebhook(secrets.current(), headers, body, now());
    };
    let verified = verify();
    // No secret held matches: maybe `subscribe` just wrote a new one (one marker read, rate limited).
    if (!verified.ok && (await secrets.afterMiss())) verified = verify();
    if (!verified.ok)
      return webhookReply(verified.reason, statusOf(verified.reason), { error: verified.reason });
    const id = headers.id;
    const event = parseWebhookEvent(body);
    if (event === null) return webhookReply('malformed', 400, { error: 'malformed_body' });
    // Remembered only once verified and well-formed, so forged or broken deliveries burn no id.
    if (!(await store.rememberWebhook(id ?? '', new Date(now()).toISOString()))) {
      // A re-delivery of a message we already took: acknowledged so the sender stops, not acted on.
      return webhookReply('duplicate', 200, { status: 'duplicate' });
    }
    if (event.kind === 'other')
      return webhookReply('ignored', 202, { status: 'ignored', eventType: event.eventType });
    // Never trust the payload more than needed: a company-bound secret names the company itself;
    // otherwise the payload's companyId only narrows the poll, and an unknown one polls everyone.
    const target =
      verified.secret.companyId ??
      (event.companyId !== null && sched.has(event.companyId) ? event.companyId : null);
    const companies = target === null ? companyIds : [target];
    for (const companyId of companies) void sched.trigger(companyId, 'webhook');
    logger.info({ webhookId: id, eventType: event.eventType, companies }, 'webhook: poll scheduled');
    return webhookReply('accepted', 202, { status: 'accepted', companies });
  };

  const onTrigger = (req: HttpRequest): Promise<HttpReply> => {
    const token = config.server.triggerToken;
    if (token !== undefined) {
      if (!bearerMatches(req.headers.authorization, token))
        return Promise.resolve(reply(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' }));
    } else if (!isLoopback(req.remoteAddress)) {
      return Promise.resolve(
        reply(403, { error: 'forbidden: set server.triggerToken to allow remote triggers' }),
      );
    }
    if (sched.stopping) return Promise.resolve(reply(503, { error: 'shutting_down' }));
    const requested = req.query.get('company');
    const companyId = requested === null || requested === '' ? null : requested.toLowerCase();
    if (companyId !== null && !sched.has(companyId))
      return Promise.resolve(reply(404, { error: 'unknown_company', company: requested }));
    const companies = companyId === null ? companyIds : [companyId];
    for (const id of companies) void sched.trigger(id, 'manual');
    logger.info({ companies }, 'trigger: poll scheduled');
    return Promise.resolve(reply(202, { status: 'accepted', companies }));
  };

  const onReady = async (): Promise<HttpReply> => {
    if (sched.stopping) return reply(503, { status: 'shutting_down' });
    try {
      await store.getValue('readyz');
      return reply(200, { status: 'ready' });
    } catch (error) {
      logger.warn({ error: describeError(error) }, 'readiness: the store does not answer');
      return reply(503, { status: 'store_unavailable' });
    }
  };

  let web: WebConsole | null = null;
  const mounts: Mount[] = [];
  if (config.server.console.enabled) {
    const loopback = isLoopbackHost(config.server.host);
    if (!loopback && config.server.console.token === undefined) {
      logger.warn(
        { host: config.server.host },
        'web console off: set server.console.token to serve it on an address other machines can reach',
      );
    } else {
      web = createWebConsole({
        store,
        companies: config.companies.map((c) => ({ id: c.id, name: c.name })),
        token: config.server.console.token,
        loopback,
        refreshMs: config.server.console.refreshMs,
        ...(config.server.publicUrl ? { publicUrl: config.server.publicUrl } : {}),
        ...(options.consoleActions
          ? { actions: options.consoleActions((companyId) => void sched.trigger(companyId, 'manual')) }
          : {}),
        health: () =>
          Promise.resolve({
            mode: config.postgres.url === undefined ? ('embedded' as const) : ('scaled-out' as const),
            companies: config.companies.map((c) => ({
              id: c.id,
              name: c.name,
              lastPoll: lastPolls.get(c.id) ?? null,
              state: sched.state(c.id),
            })),
            metrics: metrics.registry,
          }),
        now,
        logger,
      });
      mounts.push({ prefix: '/console', handle: (req, res) => web!.handle(req, res) });
    }
  }

  const http = await startHttpServer({
    host: config.server.host,
    port: config.server.port,
    mounts,
    onError: (error, req) => logger.error({ ...req, error: describeError(error) }, 'request failed'),
    routes: [
      { method: 'GET', path: '/healthz', handler: () => Promise.resolve(reply(200, { status: 'ok' })) },
      { method: 'GET', path: '/readyz', handler: onReady },
      {
        method: 'GET',
        path: '/metrics',
        handler: async () => ({
          status: 200,
          text: await metrics.registry.metrics(),
          contentType: metrics.registry.contentType,
        }),
      },
      { method: 'POST', path: WEBHOOK_PATH, handler: onWebhook },
      { method: 'POST', path: '/trigger', handler: onTrigger },
    ],
  });

  if (secrets.current().length === 0) {
    logger.warn({}, 'no webhook secret (server.webhookSecret): webhooks are refused, polling only');
  }
  sched.start();
  void pruneAudit();

  let drained: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  const drain = (): Promise<void> => (drained ??= sched.stop());
  const base = config.server.publicUrl ?? http.url;
  return {
    url: http.url,
    port: http.port,
    webhookUrl: `${base.replace(/\/+$/, '')}${WEBHOOK_PATH}`,
    consoleUrl: web === null ? null : `${base.replace(/\/+$/, '')}/console/`,
    metrics: metrics.registry,
    async trigger(companyId) {
      if (companyId === undefined) {
        await Promise.all(companyIds.map((id) => sched.trigger(id, 'manual')));
        return;
      }
      const id = companyId.toLowerCase();
      if (!sched.has(id)) throw new Error(`company ${companyId} is not configured`);
      await sched.trigger(id, 'manual');
    },
    whenIdle: () => sched.whenIdle(),
    drain,
    close: () =>
      (closed ??= (async () => {
        await drain();
        web?.close();
        await http.close();
        await poller.close();
      })()),
  };
}

function statusOf(reason: VerifyFailure): number {
  return reason === 'missing_headers' || reason === 'bad_timestamp' ? 400 : 401;
}
