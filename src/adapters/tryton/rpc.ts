/**
 * A small JSON-RPC client for Tryton 6.0 (`POST /<database>/` with `{id, method, params}`).
 *
 * - Login: `common.db.login(login, {password}, language)` answers `[userId, session]`; every later
 *   call sends `Authorization: Session base64(login:userId:session)` (trytond/protocols/wrappers.py).
 *   A 401/403 on a model call means the session expired (or was logged out): log in again, once.
 * - Values: Tryton encodes `Decimal`, `date`, `datetime` and `bytes` as `{"__class__": …}` objects;
 *   {@link decimal}, {@link date} and {@link bytes} build them, {@link fromTryton} reads them back
 *   (Decimals as strings, never floats).
 * - Every call carries the user's context (its preferences: company, language), as Tryton's own
 *   client does; Tryton's record rules need `company` in it.
 *
 * Fault policy (one function, {@link classifyHttp} / {@link TrytonUserError}):
 * - network errors, timeouts, 5xx, 503/429 (`TooManyRequests`, login rate limit), 423 (`Locked`:
 *   `ConcurrencyException`) → `AccountingSystemError` retryable;
 * - 401/403 after a fresh login → `ACCOUNTING_AUTH`, not retryable (a person must fix the login);
 * - 404 (no such database) → `ACCOUNTING_UNUSABLE`, not retryable (fix the configuration);
 * - a JSON-RPC `error` whose type is `UserError` (closed period, unbalanced move, access rule) →
 *   {@link TrytonUserError}: the caller decides whether it refuses the item or fails the job;
 * - any other JSON-RPC error (a server-side exception) → `ACCOUNTING_REJECTED`, not retryable.
 */
import { AccountingSystemError } from '../../errors/index.js';

/** A Tryton `Decimal` (sent as a string so no precision is lost). */
export function decimal(value: string): { __class__: 'Decimal'; decimal: string } {
  return { __class__: 'Decimal', decimal: value };
}

/** A Tryton `date` from ISO `YYYY-MM-DD`. */
export function date(iso: string): { __class__: 'date'; year: number; month: number; day: number } {
  const [y, m, d] = iso.split('-').map(Number);
  return { __class__: 'date', year: y ?? 0, month: m ?? 0, day: d ?? 0 };
}

/** Tryton `bytes` (base64). */
export function bytes(data: Buffer): { __class__: 'bytes'; base64: string } {
  return { __class__: 'bytes', base64: data.toString('base64') };
}

const pad = (n: unknown, width = 2): string => String(n).padStart(width, '0');

/** Decodes Tryton's `{"__class__": …}` values: Decimal → string, date → ISO, datetime → ISO (UTC). */
export function fromTryton(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromTryton);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  switch (o['__class__']) {
    case 'Decimal':
      return String(o['decimal']);
    case 'date':
      return `${pad(o['year'], 4)}-${pad(o['month'])}-${pad(o['day'])}`;
    case 'datetime':
      // trytond stores create_date in UTC (naive datetime).
      return `${pad(o['year'], 4)}-${pad(o['month'])}-${pad(o['day'])}T${pad(o['hour'])}:${pad(o['minute'])}:${pad(o['second'])}.${pad(Math.floor(Number(o['microsecond']) / 1000), 3)}Z`;
    case 'bytes':
      return Buffer.from(String(o['base64']), 'base64');
    default:
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromTryton(v)]));
  }
}

/** A Tryton `UserError`: the server refused the request for a business reason. */
export class TrytonUserError extends Error {
  readonly description: string;
  readonly method: string;
  constructor(message: string, description: string, method: string) {
    super(description ? `${message} ${description}` : message);
    this.name = 'TrytonUserError';
    this.description = description;
    this.method = method;
  }
}

export interface TrytonRpcOptions {
  /** Base URL of trytond, e.g. `http://127.0.0.1:8000`. */
  url: string;
  database: string;
  username: string;
  password: string;
  fetch?: typeof fetch;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** Language sent at login. @default 'en' */
  language?: string;
}

interface Session {
  userId: number;
  header: string;
  context: Record<string, unknown>;
}

/** Maps a non-2xx HTTP status of Tryton to the project's error taxonomy. */
export function classifyHttp(status: number, method: string, where: string): AccountingSystemError {
  const base = { status, method: 'POST', path: where };
  if (status === 401 || status === 403) {
    return new AccountingSystemError(
      `Tryton refused the login for ${method} (HTTP ${status}): check tryton.username and the password`,
      { ...base, code: 'ACCOUNTING_AUTH', retryable: false },
    );
  }
  if (status === 429 || status === 503) {
    return new AccountingSystemError(`Tryton is rate limiting (HTTP ${status}) on ${method}`, {
      ...base,
      code: 'ACCOUNTING_RATE_LIMITED',
      retryable: true,
    });
  }
  if (status === 423 || status === 409 || status >= 500) {
    return new AccountingSystemError(`Tryton failed on ${method} (HTTP ${status}); will retry`, {
      ...base,
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
    });
  }
  if (status === 404) {
    return new AccountingSystemError(
      `Tryton has no database at ${where} (HTTP 404): check tryton.database and tryton.url`,
      { ...base, code: 'ACCOUNTING_UNUSABLE', retryable: false },
    );
  }
  return new AccountingSystemError(`Tryton answered HTTP ${status} to ${method}`, {
    ...base,
    code: 'ACCOUNTING_REJECTED',
    retryable: false,
  });
}

export class TrytonRpc {
  readonly url: string;
  readonly database: string;
  private readonly username: string;
  private readonly password: string;
  private readonly doFetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly language: string;
  private session: Promise<Session> | undefined;
  private nextId = 1;

  constructor(options: TrytonRpcOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.database = options.database;
    this.username = options.username;
    this.password = options.password;
    this.doFetch = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.language = options.language ?? 'en';
  }

  private get endpoint(): string {
    return `${this.url}/${encodeURIComponent(this.database)}/`;
  }

  /** One HTTP round trip; returns the decoded `result` or throws. */
  private async post(
    method: string,
    params: unknown[],
    header: string | undefined,
    signal?: AbortSignal,
  ): Promise<{ status: number; result?: unknown; error?: unknown }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.doFetch(this.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...(header === undefined ? {} : { Authorization: header }),
        },
        body: JSON.stringify({ id: this.nextId++, method, params }),
        signal: combined,
      });
    } catch (error) {
      if (signal?.aborted) {
        // The caller cancelled (shutdown): whether Tryton applied the call is unknown; the engine
        // retries it later, after looking the entry up.
        throw new AccountingSystemError(`Tryton call ${method} was cancelled`, {
          code: 'ABORTED',
          retryable: true,
          cause: error,
        });
      }
      const timedOut = timeout.aborted;
      throw new AccountingSystemError(
        timedOut
          ? `Tryton did not answer ${method} within ${this.timeoutMs} ms (${this.url})`
          : `Tryton at ${this.url} is unreachable (${(error as Error).message}): is trytond running?`,
        {
          code: timedOut ? 'ACCOUNTING_TIMEOUT' : 'ACCOUNTING_UNREACHABLE',
          retryable: true,
          cause: error,
          method: 'POST',
          path: this.endpoint,
        },
      );
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { status: response.status };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new AccountingSystemError(`Tryton answered ${method} with a body that is not JSON`, {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
        cause: error,
      });
    }
    const o = (body ?? {}) as Record<string, unknown>;
    if ('error' in o && o['error'] !== null && o['error'] !== undefined)
      return { status: response.status, error: o['error'] };
    return { status: response.status, result: fromTryton(o['result']) };
  }

  private async login(signal?: AbortSignal): Promise<Session> {
    const answer = await this.post(
      'common.db.login',
      [this.username, { password: this.password }, this.language],
      undefined,
      signal,
    );
    if (answer.status !== 200) throw classifyHttp(answer.status, 'common.db.login', this.endpoint);
    if (answer.error !== undefined) {
      throw new AccountingSystemError(
        `Tryton refused the login of ${this.username}: ${describeRpcError(answer.error)}`,
        { code: 'ACCOUNTING_AUTH', retryable: false },
      );
    }
    const result = answer.result;
    if (!Array.isArray(result) || typeof result[0] !== 'number' || typeof result[1] !== 'string') {
      throw new AccountingSystemError('Tryton answered common.db.login without [userId, session]', {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      });
    }
    const [userId, token] = result as [number, string];
    const header = `Session ${Buffer.from(`${this.username}:${userId}:${token}`, 'latin1').toString('base64')}`;
    const prefs = await this.post('model.res.user.get_preferences', [true, {}], header, signal);
    if (prefs.status !== 200) throw classifyHttp(prefs.status, 'get_preferences', this.endpoint);
    const context =
      prefs.error === undefined && prefs.result !== null && typeof prefs.result === 'object'
        ? (prefs.result as Record<string, unknown>)
        : {};
    return { userId, header, context };
  }

  private ensureSession(signal?: AbortSignal): Promise<Session> {
    if (!this.session) {
      const pending = this.login(signal);
      this.session = pending;
      pending.catch(() => {
        if (this.session === pending) this.session = undefined;
      });
    }
    return this.session;
  }

  /** The logged-in user's id and context (its preferences: `company`, `language`…). */
  async whoami(signal?: AbortSignal): Promise<{ userId: number; context: Record<string, unknown> }> {
    const s = await this.ensureSession(signal);
    return { userId: s.userId, context: s.context };
  }

  /**
   * Calls `method` (e.g. `model.account.move.create`) with `params`; the user's context is appended
   * as the last parameter. Re-logs in once on 401/403 (session expired).
   */
  async call(method: string, params: unknown[], signal?: AbortSignal): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.ensureSession(signal);
      const answer = await this.post(method, [...params, session.context], session.header, signal);
      if ((answer.status === 401 || answer.status === 403) && attempt === 0) {
        if (this.session !== undefined && (await this.session.catch(() => undefined)) === session)
          this.session = undefined;
        continue;
      }
      if (answer.status !== 200) throw classifyHttp(answer.status, method, this.endpoint);
      if (answer.error !== undefined) throw rpcError(answer.error, method);
      return answer.result;
    }
  }

  /** `search_read(domain, offset, limit, order, fields)`. */
  async searchRead<T = Record<string, unknown>>(
    model: string,
    domain: unknown[],
    fields: string[],
    options: { limit?: number; order?: [string, 'ASC' | 'DESC'][]; signal?: AbortSignal | undefined } = {},
  ): Promise<T[]> {
    const result = await this.call(
      `model.${model}.search_read`,
      [domain, 0, options.limit ?? null, options.order ?? null, fields],
      options.signal,
    );
    if (!Array.isArray(result)) throw malformed(`${model}.search_read`);
    return result as T[];
  }

  async create(model: string, values: Record<string, unknown>[], signal?: AbortSignal): Promise<number[]> {
    const result = await this.call(`model.${model}.create`, [values], signal);
    if (!Array.isArray(result) || !result.every((x) => typeof x === 'number'))
      throw malformed(`${model}.create`);
    return result;
  }

  async logout(): Promise<void> {
    const pending = this.session;
    this.session = undefined;
    const s = await pending?.catch(() => undefined);
    if (!s) return;
    await this.post('common.db.logout', [], s.header).catch(() => undefined);
  }
}

function malformed(what: string): AccountingSystemError {
  return new AccountingSystemError(`Tryton answered ${what} with an unexpected shape`, {
    code: 'ACCOUNTING_REJECTED',
    retryable: false,
  });
}

/** The readable part of a JSON-RPC `error` (`["UserError", [message, description, domain]]`). */
export function describeRpcError(error: unknown): string {
  if (Array.isArray(error)) {
    const [, args] = error as [unknown, unknown];
    if (Array.isArray(args)) {
      return args
        .filter((a): a is string => typeof a === 'string' && a !== '')
        .join(' ')
        .trim();
    }
    if (typeof args === 'string') return args;
    return String(error[0]);
  }
  return String(error);
}

function rpcError(error: unknown, method: string): Error {
  const type: unknown = Array.isArray(error) ? (error as unknown[])[0] : undefined;
  if (type === 'UserError' || type === 'UserWarning') {
    const args = Array.isArray(error) && Array.isArray(error[1]) ? (error[1] as unknown[]) : [];
    const message = type === 'UserWarning' ? args[1] : args[0];
    const description = type === 'UserWarning' ? args[2] : args[1];
    return new TrytonUserError(
      typeof message === 'string' ? message : describeRpcError(error),
      typeof description === 'string' ? description : '',
      method,
    );
  }
  if (type === 'ConcurrencyException') {
    return new AccountingSystemError(`Tryton reported a concurrent change on ${method}; will retry`, {
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
    });
  }
  // A server-side exception (its traceback is in trytond's log, not repeated here).
  const text = Array.isArray(error) && typeof error[0] === 'string' ? error[0] : String(error);
  if (/database is locked|could not serialize|deadlock/i.test(text)) {
    // trytond retries these itself (`[database] retry`); one that still escapes is transient.
    return new AccountingSystemError(`Tryton's database was busy on ${method}; will retry`, {
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
    });
  }
  return new AccountingSystemError(
    `Tryton failed on ${method}: ${text.split('\n')[0] ?? ''} (see trytond's log)`,
    { code: 'ACCOUNTING_REJECTED', retryable: false },
  );
}
