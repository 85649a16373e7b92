/**
 * The simulator's HTTP server: plain `node:http` with keep-alive, a small route table, and the
 * request pipeline
 *
 *   route → read body → fault decision → latency → [status / drop fault: answer or cut, no
 *   handler] → authenticate → rate limit (429, when configured) → handler → [ambiguous fault: cut after the handler] → reply
 *   (trickled for the slow fault) → request log.
 *
 * Admin routes (`/_admin/`) skip faults and authentication.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminRoutes, createAdmin } from './admin.js';
import type { SimulatorAdmin, SimulatorCore } from './admin.js';
import { TokenStore, authenticate } from './auth.js';
import { OffsetClock, iso } from './clock.js';
import { ApiError } from './errors.js';
import type { ErrorType } from './errors.js';
import { FaultInjector } from './faults.js';
import type { Fault } from './faults.js';
import { Router, errorReply, readBody, sendReply } from './http.js';
import type { Reply, RequestContext } from './http.js';
import { tag } from './ids.js';
import { RequestLog } from './log.js';
import type { RequestLogEntry } from './log.js';
import { OAuthServer } from './oauth.js';
import { compileOptions } from './options.js';
import { CompanyRateLimiter } from './rate-limit.js';
import type { SimulatorOptions } from './options.js';
import { exportItemRoutes } from './routes/export-items.js';
import { FileUrls, fileRoutes } from './routes/files.js';
import { itemRoutes } from './routes/items.js';
import { jobRoutes } from './routes/jobs.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { SimulatorState } from './state.js';
import { Webhooks } from './webhooks.js';

export interface RunningSimulator {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The companies created at start, with their API keys. */
  companies: { id: string; apiKey: string }[];
  admin: SimulatorAdmin;
  /** Stops serving, cancels webhook deliveries and closes every connection. */
  close(): Promise<void>;
}

const STATUS_FAULT_TYPE: Readonly<Record<429 | 500 | 502 | 503, [ErrorType, string]>> = {
  429: ['rate_limited', 'Too many requests'],
  500: ['internal_error', 'Internal server error'],
  502: ['bad_gateway', 'Bad gateway'],
  503: ['service_unavailable', 'Service unavailable'],
};

function faultName(f: Fault): string {
  return f.kind === 'status' ? `status:${f.status}` : f.kind;
}

function errorTypeOf(reply: Reply): string | undefined {
  if (reply.status < 400 || typeof reply.json !== 'object' || reply.json === null) return undefined;
  const j = reply.json as { type?: unknown; error?: unknown };
  return typeof j.type === 'string' ? j.type : typeof j.error === 'string' ? j.error : undefined;
}

/**
 * The `endless` fault: a listing page rewritten to hold one item under a fresh id (a copy of the
 * page's first item) and to claim a next page under a fresh cursor. Other answers pass unchanged.
 */
function endlessPage(reply: Reply): Reply {
  const page = reply.json as { data?: unknown; pagination?: Record<string, unknown> } | undefined;
  if (reply.status !== 200 || !Array.isArray(page?.data) || page.pagination === undefined) return reply;
  const first = page.data[0] as Record<string, unknown> | undefined;
  if (first === undefined) return reply;
  const id = randomUUID();
  const copy = { ...first, ...('accountingEntryId' in first ? { accountingEntryId: id } : { id }) };
  const cursor = Buffer.from(`endless:${id}`).toString('base64url');
  return {
    ...reply,
    json: {
      ...page,
      data: [copy],
      pagination: { ...page.pagination, hasNextPage: true, endCursor: cursor, startCursor: cursor },
    },
  };
}

/** The `oversize` fault: the JSON answer padded with white space to `bytes` (still valid JSON). */
function oversize(reply: Reply, bytes: number): Reply {
  const text = reply.json === undefined ? String(reply.body ?? '') : JSON.stringify(reply.json);
  const body = Buffer.alloc(Math.max(bytes, Buffer.byteLength(text)), 0x20);
  body.write(text, 0, 'utf8');
  const { json: _json, ...rest } = reply;
  return { ...rest, body, contentType: reply.contentType ?? 'application/json;charset=UTF-8' };
}

function cut(req: IncomingMessage, res: ServerResponse): void {
  res.destroy();
  req.socket.destroy();
}

/**
 * Starts a simulator of Pleo's Export API v3.
 *
 * @example
 * const sim = await startSimulator({ itemsPerJob: 1000, clock: new ManualClock(Date.now()) });
 * const res = await fetch(`${sim.url}/v3/export-jobs`, {
 *   headers: { authorization: `Basic ${Buffer.from(`${sim.companies[0]!.apiKey}:`).toString('base64')}` },
 * });
 * sim.admin.advanceClock(3_600_000); // pending jobs expire
 * await sim.close();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const opts = compileOptions(options);
  const clock = new OffsetClock(opts.clock);
  const secret = tag(`pleo-simulator-${opts.seed}`, 'secret', 24);
  const state = new SimulatorState(
    { seed: opts.seed, expiryMs: opts.expiryMs, historyLimit: opts.historyLimit },
    clock,
  );
  const tokens = new TokenStore(secret);
  const oauth = new OAuthServer(state, tokens, {
    accessTokenTtlMs: opts.accessTokenTtlMs,
    refreshTokenTtlMs: opts.refreshTokenTtlMs,
    codeTtlMs: 600_000,
  });
  for (const c of opts.oauthClients) oauth.addClient(c);
  const webhooks = new Webhooks(
    clock,
    {
      timeoutMs: opts.webhookTimeoutMs,
      retryDelaysMs: opts.webhookRetryDelaysMs,
      duplicates: opts.webhookDuplicates,
      delayMs: opts.webhookDelayMs,
      fetch: opts.fetch,
    },
    opts.seed,
  );
  const faults = new FaultInjector(opts.seed, opts.faults);
  const log = new RequestLog(opts.requestLogSize);
  const files = new FileUrls(secret);
  const limiter = opts.rateLimit === undefined ? undefined : new CompanyRateLimiter(opts.rateLimit, clock);
  const core: SimulatorCore = { state, clock, faults, log, webhooks, tokens, oauth, options: opts };
  const admin = createAdmin(core);

  for (let c = 0; c < opts.companies; c++) {
    const company = state.addCompany({ hasContraAccounts: !opts.companiesWithoutContraAccounts.includes(c) });
    for (let j = 0; j < opts.jobsPerCompany; j++) {
      const input: Parameters<SimulatorState['createJob']>[1] = {
        itemCount: opts.itemsPerJob,
        vendorBasedBookkeeping: opts.vendorBasedBookkeeping,
      };
      if (opts.profile) input.profile = opts.profile;
      state.createJob(company.id, input);
    }
  }
  state.onJobCreated = (job) => webhooks.jobCreated(job);

  const deps = {
    state,
    pagination: { defaultLimit: opts.defaultPageSize, maxPageSize: opts.maxPageSize, secret },
    webhooks,
    files,
  };
  const router = new Router().add(
    ...jobRoutes(deps),
    ...itemRoutes(deps),
    ...exportItemRoutes(deps),
    ...subscriptionRoutes(deps),
    ...fileRoutes(state, files),
    ...oauth.routes(),
    ...adminRoutes(admin),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const entry: RequestLogEntry = {
      seq: log.nextSeq(),
      at: iso(clock.now()),
      method,
      url,
      operation: 'unknown',
      status: null,
      durationMs: 0,
    };
    const finish = (status: number | null, reply?: Reply): void => {
      entry.status = status;
      const type = reply && errorTypeOf(reply);
      if (type) entry.errorType = type;
      entry.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      if (entry.operation !== 'admin') log.record(entry);
    };

    const match = router.match(method, path);
    if (match.kind !== 'found') {
      const reply =
        match.kind === 'method'
          ? {
              ...errorReply(new ApiError(405, 'method_not_allowed', `${method} not allowed`)),
              headers: { allow: match.allowed.join(', ') },
            }
          : errorReply(new ApiError(404, 'not_found', `No route for ${method} ${path}`));
      req.resume();
      await sendReply(res, reply);
      finish(reply.status, reply);
      return;
    }
    const { route, params } = match;
    entry.operation = route.operation;
    const ctx: RequestContext = {
      req,
      method,
      path,
      query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
      params,
      body: Buffer.alloc(0),
      company: undefined,
    };
    let fault: Fault | undefined;
    let reply: Reply;
    try {
      ctx.body = await readBody(req, opts.maxBodyBytes);
      if (route.operation !== 'admin') {
        const decision = faults.decide(route.operation);
        if (decision.latencyMs > 0) await sleep(decision.latencyMs);
        fault = decision.fault;
        if (fault) entry.fault = faultName(fault);
      }
      if (fault?.kind === 'drop' || (fault?.kind === 'ambiguous' && !route.write)) {
        cut(req, res);
        finish(null);
        return;
      }
      if (fault?.kind === 'hang') {
        // Never answered: the client's timeout ends it (or the server's close).
        finish(null);
        return;
      }
      if (fault?.kind === 'emptyAck' && route.write) {
        await sendReply(res, { status: 200, json: { data: [], errors: [] } });
        finish(200);
        return;
      }
      if (fault?.kind === 'status') {
        const [type, message] = STATUS_FAULT_TYPE[fault.status];
        const headers: Record<string, string> = {};
        if (fault.status === 429) headers['retry-after'] = String(fault.retryAfterSeconds ?? 1);
        else if (fault.retryAfterSeconds !== undefined)
          headers['retry-after'] = String(fault.retryAfterSeconds);
        throw new ApiError(fault.status, type, `${message} (injected fault)`, headers);
      }
      if (route.auth === 'pleo') {
        ctx.company = authenticate(req.headers.authorization, state, tokens);
        entry.companyId = ctx.company.id;
        const decision = limiter?.take(ctx.company.id);
        if (limiter !== undefined && decision?.ok === false) {
          throw new ApiError(
            429,
            'rate_limited',
            `Rate limit exceeded: ${limiter.config.requestsPerSecond} requests per second per company`,
            { 'retry-after': String(decision.retryAfterSeconds) },
          );
        }
      }
      // An endless listing answers every cursor, its own included, from the first page.
      if (fault?.kind === 'endless') ctx.query.delete('after');
      reply = await route.handler(ctx);
    } catch (err) {
      if (err instanceof ApiError) reply = errorReply(err);
      else {
        opts.onError(err);
        reply = errorReply(new ApiError(500, 'internal_error', 'Unexpected simulator error'));
      }
    }
    if (fault?.kind === 'ambiguous') {
      cut(req, res);
      finish(null, reply);
      return;
    }
    if (fault?.kind === 'endless') reply = endlessPage(reply);
    if (fault?.kind === 'oversize') reply = oversize(reply, fault.bytes);
    const slow =
      fault?.kind === 'slow'
        ? { chunkBytes: fault.chunkBytes ?? 64, chunkDelayMs: fault.chunkDelayMs ?? 10 }
        : undefined;
    await sendReply(res, reply, slow);
    finish(reply.status, reply);
  }

  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.onError(err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  files.origin = url;

  const sweep = setInterval(() => state.sweep(), opts.sweepIntervalMs);
  sweep.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    companies: [...state.companies.values()].map((c) => ({ id: c.id, apiKey: c.apiKey })),
    admin,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        clearInterval(sweep);
        webhooks.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
