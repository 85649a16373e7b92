/**
 * The console's request handling: authentication, CSRF, the routes, and the live updates.
 *
 * Routes (all under /console; every page is server-rendered HTML and works without script):
 * - `GET /jobs` every company's jobs, oldest first (live); `GET /companies/C/jobs/J` one job:
 *   progress (live), failures by reason, items with filters; `GET /companies/C/entries/E` the
 *   audit trail of an entry.
 * - `GET /pending`, `GET /companies/C/jobs/J/preview`: the dry run of a job waiting at Pleo.
 * - `GET|POST /companies/C/jobs/J/retry`: what a retry would do, then (POST) do it.
 * - `GET /health`; `GET|POST /login`, `POST /logout`; `GET /events` (server-sent events);
 *   `GET /assets/console.{css,js}`.
 *
 * Live updates: one timer per console re-reads the store every `refreshMs` while someone listens,
 * and sends a view's snapshot only when it changed. Reading the store (rather than listening to
 * an engine) shows the same in every mode: the daemon's own runs, workers on other machines in
 * the scaled-out mode, or another process writing the SQLite file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { ITEM_STATES, type ItemState, type JobCounts, type JobRecord, type Store } from '../store/index.js';
import { describeError } from '../errors/index.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { bearer, ownOrigins, sameOrigin, secretMatches, Sessions, type Session } from './auth.js';
import { BASE, type PageContext } from './layout.js';
import { messagePage, pendingPage, previewPage, retryPage } from './pages-actions.js';
import { entryPage } from './pages-entry.js';
import { healthPage, loginPage } from './pages-health.js';
import { jobHref, jobPage, jobRow, jobsPage, type JobRow } from './pages-jobs.js';
import type { ConsoleCompany, ConsoleOptions } from './types.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MAX_FORM_BYTES = 4096;
const ITEMS_PER_PAGE = 200;
const JOBS_PER_COMPANY = 1000;

/** Who is asking: a browser session, a bearer-token client, or nobody yet. */
type Caller = { kind: 'session'; session: Session } | { kind: 'bearer' } | { kind: 'none' };

interface Listener {
  res: ServerResponse;
  key: string;
  load: () => Promise<unknown>;
  last: string | null;
}

export interface WebConsole {
  /** Answers a request whose path is /console or below it. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends the live streams and stops the refresh timer. */
  close(): void;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    ...extra,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(
    status,
    headers({ 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra }),
  );
  res.end(body);
}

function redirect(res: ServerResponse, location: string, extra: Record<string, string> = {}): void {
  res.writeHead(303, headers({ location, 'content-length': '0', ...extra }));
  res.end();
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function createWebConsole(options: ConsoleOptions): WebConsole {
  const store: Store = options.store;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 1000;
  const companies = new Map<string, ConsoleCompany>(options.companies.map((c) => [c.id, c]));
  const sessions = new Sessions(now);
  const listeners = new Set<Listener>();
  const doneCounts = new Map<string, JobCounts>();
  let timer: NodeJS.Timeout | null = null;
  let ticks = 0;

  if (!options.loopback && options.token === undefined) {
    throw new Error('console: a token is required when the console is reachable from other machines');
  }

  /** Counts of a job; a finished job's are kept (they no longer change). */
  const countsOf = async (job: JobRecord): Promise<JobCounts> => {
    const key = `${job.companyId}/${job.jobId}`;
    const cached = job.phase === 'done' ? doneCounts.get(key) : undefined;
    if (cached) return cached;
    const counts = await store.counts(job);
    if (job.phase === 'done') doneCounts.set(key, counts);
    return counts;
  };
  const jobRows = async (companyId: string): Promise<JobRow[]> => {
    const jobs = await store.listJobs({ companyId, limit: JOBS_PER_COMPANY });
    const at = now();
    return Promise.all(jobs.map(async (job) => jobRow(job, await countsOf(job), at)));
  };

  // ---- live updates ----------------------------------------------------------------------------
  const tick = async (): Promise<void> => {
    ticks++;
    for (const listener of [...listeners]) {
      try {
        const data = JSON.stringify(await listener.load());
        if (data !== listener.last) {
          listener.last = data;
          listener.res.write(`event: snapshot\ndata: ${data}\n\n`);
        } else if (ticks % Math.max(1, Math.round(15_000 / refreshMs)) === 0) {
          listener.res.write(': keep-alive\n\n'); // proxies drop silent streams
        }
      } catch (error) {
        options.logger?.warn({ error: describeError(error) }, 'console: a live view could not be read');
      }
    }
  };
  const startTimer = (): void => {
    if (timer !== null) return;
    let running = false;
    timer = setInterval(() => {
      if (running) return;
      running = true;
      void tick().finally(() => (running = false));
    }, refreshMs);
    timer.unref();
  };
  const events = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void => {
    const companyId = q.get('company') ?? '';
    const jobId = q.get('job');
    if (!companies.has(companyId) || (jobId !== null && !ID.test(jobId))) {
      send(res, 404, 'unknown view', 'text/plain; charset=utf-8');
      return;
    }
    const load =
      q.get('view') === 'job' && jobId !== null
        ? async (): Promise<unknown> => {
            const job = await store.getJob({ companyId, jobId });
            return job ? jobRow(job, await countsOf(job), now()) : null;
          }
        : () => jobRows(companyId);
    res.writeHead(
      200,
      headers({ 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' }),
    );
    res.write(`retry: ${Math.max(1000, refreshMs)}\n\n`);
    const listener: Listener = { res, key: `${companyId}/${jobId ?? ''}`, load, last: null };
    listeners.add(listener);
    req.on('close', () => {
      listeners.delete(listener);
      if (listeners.size === 0 && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    });
    startTimer();
    void tick();
  };

  // ---- authentication --------------------------------------------------------------------------
  const callerOf = (req: IncomingMessage): Caller => {
    const session = sessions.get(req);
    if (session) return { kind: 'session', session };
    const given = bearer(req);
    if (given !== null && options.token !== undefined && secretMatches(given, options.token))
      return { kind: 'bearer' };
    return { kind: 'none' };
  };
  const context = (caller: Caller, section: PageContext['section']): PageContext => ({
    csrf: caller.kind === 'session' ? caller.session.csrf : null,
    signedIn: caller.kind === 'session' && options.token !== undefined,
    section,
  });

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const ctx: PageContext = { csrf: null, signedIn: false, section: 'login' };
    if (!sameOrigin(req, ownOrigins(req, options.publicUrl))) {
      send(
        res,
        403,
        loginPage(ctx, 'This form must be sent from the console’s own page.'),
        'text/html; charset=utf-8',
      );
      return;
    }
    if (!sessions.mayTry(address)) {
      send(res, 429, loginPage(ctx, 'Too many wrong tokens; wait a minute.'), 'text/html; charset=utf-8', {
        'retry-after': '60',
      });
      return;
    }
    const form = await readForm(req);
    const token = form?.get('token') ?? '';
    if (options.token === undefined || !secretMatches(token, options.token)) {
      sessions.failed(address);
      send(res, 401, loginPage(ctx, 'That token is not the console token.'), 'text/html; charset=utf-8');
      return;
    }
    const session = sessions.open();
    redirect(res, `${BASE}/jobs`, { 'set-cookie': sessions.cookie(session) });
  };

  // ---- pages -----------------------------------------------------------------------------------
  const html = (res: ServerResponse, body: string, status = 200, extra: Record<string, string> = {}): void =>
    send(res, status, body, 'text/html; charset=utf-8', extra);

  const companyOr404 = (res: ServerResponse, caller: Caller, id: string): ConsoleCompany | null => {
    const company = companies.get(id);
    if (!company)
      html(
        res,
        messagePage(
          context(caller, null),
          'Not found',
          `No company ${id} is configured.`,
          { href: `${BASE}/jobs`, label: 'All jobs' },
          'error',
        ),
        404,
      );
    return company ?? null;
  };
  const jobOr404 = async (
    res: ServerResponse,
    caller: Caller,
    company: ConsoleCompany,
    jobId: string,
  ): Promise<JobRecord | null> => {
    const job = await store.getJob({ companyId: company.id, jobId });
    if (!job)
      html(
        res,
        messagePage(
          context(caller, null),
          'Not found',
          `Job ${jobId} is not in the store.`,
          { href: `${BASE}/jobs`, label: 'All jobs' },
          'error',
        ),
        404,
      );
    return job;
  };

  const jobView = async (
    res: ServerResponse,
    caller: Caller,
    company: ConsoleCompany,
    job: JobRecord,
    q: URLSearchParams,
  ): Promise<void> => {
    const state = q.get('state');
    const type = q.get('type');
    const validState =
      state !== null && (ITEM_STATES as readonly string[]).includes(state) ? (state as ItemState) : null;
    const failures = await store.topFailures(job, 100);
    const types = [...new Set(failures.map((f) => f.failureReasonType))].sort();
    const validType =
      type !== null && types.includes(type as (typeof types)[number])
        ? (type as (typeof types)[number])
        : null;
    const offset = Math.max(0, Math.min(10_000_000, Number.parseInt(q.get('offset') ?? '0', 10) || 0));
    const items = await store.listItems(job, {
      ...(validState ? { states: [validState] } : {}),
      ...(validType ? { failureReasonType: validType } : {}),
      limit: ITEMS_PER_PAGE,
      offset,
    });
    const row = jobRow(job, await store.counts(job), now());
    html(
      res,
      jobPage(context(caller, 'jobs'), company, job, row, failures, types, items, {
        state: validState,
        type: validType,
        offset,
        limit: ITEMS_PER_PAGE,
      }),
    );
  };

  const entryView = async (
    res: ServerResponse,
    caller: Caller,
    company: ConsoleCompany,
    entryId: string,
  ): Promise<void> => {
    const records = (await store.findItemsByEntry(entryId)).filter((r) => r.companyId === company.id);
    if (records.length === 0) {
      html(
        res,
        messagePage(
          context(caller, null),
          'Not found',
          `Entry ${entryId} is not in the store.`,
          { href: `${BASE}/jobs`, label: 'All jobs' },
          'error',
        ),
        404,
      );
      return;
    }
    const trail = await store.auditTrail(entryId, { companyId: company.id });
    const booking = await store.findBooking(company.id, entryId);
    html(res, entryPage(context(caller, 'jobs'), company, entryId, records, trail, booking));
  };

  const unavailable = (res: ServerResponse, caller: Caller): void =>
    html(
      res,
      messagePage(
        context(caller, null),
        'Not available here',
        'This console has no connection to Pleo for this action.',
        { href: `${BASE}/jobs`, label: 'All jobs' },
        'error',
      ),
      501,
    );

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    q: URLSearchParams,
  ): Promise<void> => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/assets/console.css')
      return send(res, 200, CONSOLE_CSS, 'text/css; charset=utf-8');
    if (method === 'GET' && path === '/assets/console.js')
      return send(res, 200, CONSOLE_JS, 'text/javascript; charset=utf-8');
    if (path === '/login') {
      if (options.token === undefined) return redirect(res, `${BASE}/jobs`);
      if (method === 'POST') return login(req, res);
      return html(res, loginPage({ csrf: null, signedIn: false, section: 'login' }, null));
    }

    let caller = callerOf(req);
    if (caller.kind === 'none') {
      if (options.token !== undefined) {
        // Browsers go to the login form; anything else gets a plain refusal.
        if (method === 'GET' && (req.headers.accept ?? '').includes('text/html'))
          return redirect(res, `${BASE}/login`);
        return send(
          res,
          401,
          'unauthorized: sign in at /console/login or send Authorization: Bearer <console token>\n',
          'text/plain; charset=utf-8',
          { 'www-authenticate': 'Bearer realm="pleo-export console"' },
        );
      }
      // No token (loopback only): a session is opened silently, for its CSRF token.
      const session = sessions.open();
      res.setHeader('set-cookie', sessions.cookie(session));
      caller = { kind: 'session', session };
    }

    if (method === 'POST') {
      // Every action: a session's CSRF token in the form and our own origin.
      if (!sameOrigin(req, ownOrigins(req, options.publicUrl)))
        return html(
          res,
          messagePage(
            context(caller, null),
            'Refused',
            'This action did not come from the console’s own page (origin check).',
            null,
            'error',
          ),
          403,
        );
      const form = await readForm(req);
      const csrf = form?.get('csrf') ?? '';
      if (caller.kind !== 'session' || !secretMatches(csrf, caller.session.csrf))
        return html(
          res,
          messagePage(
            context(caller, null),
            'Refused',
            'The form’s security token is missing or stale: reload the page and try again.',
            null,
            'error',
          ),
          403,
        );
      if (path === '/logout') {
        sessions.close(caller.session);
        return redirect(res, options.token === undefined ? `${BASE}/jobs` : `${BASE}/login`, {
          'set-cookie': sessions.cookie(null),
        });
      }
      const retry = /^\/companies\/([^/]+)\/jobs\/([^/]+)\/retry$/.exec(path);
      if (retry && ID.test(retry[1]!) && ID.test(retry[2]!)) {
        const company = companyOr404(res, caller, retry[1]!);
        if (!company) return;
        const job = await jobOr404(res, caller, company, retry[2]!);
        if (!job) return;
        if (!options.actions) return unavailable(res, caller);
        const started = await options.actions.retry(job);
        return html(
          res,
          messagePage(context(caller, 'jobs'), 'Retry started', started.message, {
            href: jobHref(company.id, started.jobId),
            label: `Follow the new job ${started.jobId}`,
          }),
        );
      }
      return send(res, 404, 'not found', 'text/plain; charset=utf-8');
    }
    if (method !== 'GET' && method !== 'HEAD')
      return send(res, 405, 'method not allowed', 'text/plain; charset=utf-8', { allow: 'GET, POST' });

    if (path === '' || path === '/') return redirect(res, `${BASE}/jobs`);
    if (path === '/events') return events(req, res, q);
    if (path === '/jobs') {
      const rows = new Map<string, JobRow[]>();
      for (const company of companies.values()) rows.set(company.id, await jobRows(company.id));
      return html(res, jobsPage(context(caller, 'jobs'), [...companies.values()], rows));
    }
    if (path === '/health') {
      const health = options.health
        ? await options.health()
        : {
            mode: 'offline' as const,
            companies: [...companies.values()].map((c) => ({ ...c, lastPoll: null, state: null })),
          };
      return html(res, await healthPage(context(caller, 'health'), health, await store.jobStats()));
    }
    if (path === '/pending') {
      if (!options.actions) return unavailable(res, caller);
      const actions = options.actions;
      const lists = await Promise.all(
        [...companies.values()].map(async (company) => ({
          company,
          jobs: await actions
            .pendingJobs(company.id)
            .catch((error: unknown) => `Pleo could not be asked: ${describeError(error)}`),
        })),
      );
      return html(res, pendingPage(context(caller, 'pending'), lists));
    }
    const match = /^\/companies\/([^/]+)\/(jobs|entries)\/([^/]+)(\/preview|\/retry)?$/.exec(path);
    if (match && ID.test(match[1]!) && ID.test(match[3]!)) {
      const company = companyOr404(res, caller, match[1]!);
      if (!company) return;
      const id = match[3]!;
      if (match[2] === 'entries')
        return match[4]
          ? send(res, 404, 'not found', 'text/plain; charset=utf-8')
          : entryView(res, caller, company, id);
      if (match[4] === '/preview') {
        if (!options.actions) return unavailable(res, caller);
        const preview = await options.actions.preview(company.id, id);
        return html(res, previewPage(context(caller, 'pending'), company, preview));
      }
      const job = await jobOr404(res, caller, company, id);
      if (!job) return;
      if (match[4] === '/retry') {
        if (!options.actions) return unavailable(res, caller);
        if (job.phase !== 'done')
          return html(
            res,
            messagePage(
              context(caller, 'jobs'),
              'Not yet',
              `Job ${job.jobId} is still being exported (${job.phase}); retry it once it is finished.`,
              { href: jobHref(company.id, job.jobId), label: 'Back to the job' },
              'error',
            ),
            409,
          );
        return html(
          res,
          retryPage(context(caller, 'jobs'), company, job, await options.actions.planRetry(job)),
        );
      }
      return jobView(res, caller, company, job, q);
    }
    return html(
      res,
      messagePage(
        context(caller, null),
        'Not found',
        'There is no such page.',
        { href: `${BASE}/jobs`, label: 'All jobs' },
        'error',
      ),
      404,
    );
  };

  return {
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.slice(BASE.length);
      try {
        await route(req, res, path, url.searchParams);
      } catch (error) {
        options.logger?.error({ path: url.pathname, error: describeError(error) }, 'console: request failed');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // The message is ours (describeError), escaped by the page; never a stack trace.
        html(
          res,
          messagePage(
            { csrf: null, signedIn: false, section: null },
            'Something went wrong',
            describeError(error),
            { href: `${BASE}/jobs`, label: 'All jobs' },
            'error',
          ),
          500,
        );
      }
    },
    close() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      for (const listener of listeners) listener.res.end();
      listeners.clear();
    },
  };
}
