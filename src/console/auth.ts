/**
 * Who may use the console, and proof that an action comes from the console's own page.
 *
 * - A console token (`server.console.token`) is required unless the console listens on a loopback
 *   address only. It is given once in the login form, which opens a session: a random id in an
 *   `HttpOnly; SameSite=Strict` cookie scoped to `/console`. Scripts may send it instead as
 *   `Authorization: Bearer TOKEN` on each request.
 * - Every session has its own CSRF token. Every action (POST) must carry it in a form field and
 *   come from the console's own origin (`Origin`, or `Referer` when a browser sends no Origin;
 *   `Sec-Fetch-Site` must not be cross-site). A request with neither header is refused.
 * - Wrong tokens are throttled per client address (a few per minute), compared in constant time.
 * Sessions live in memory: a restart signs everyone out, which is what a token rotation needs too.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const SESSION_COOKIE = 'pleo_console';
const SESSION_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;
const FAILURES_PER_MINUTE = 5;

export interface Session {
  id: string;
  csrf: string;
  expiresAt: number;
}

/** Same bytes, compared in constant time (hashed first so lengths leak nothing either). */
export function secretMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** 127.0.0.0/8, ::1, `localhost`, and their IPv4-mapped forms. */
export function isLoopbackHost(host: string): boolean {
  const plain = host.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  if (plain === 'localhost') return true;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  open(): Session {
    this.sweep();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + SESSION_MS,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(req: IncomingMessage): Session | null {
    const id = cookies(req).get(SESSION_COOKIE);
    if (id === undefined) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return session;
  }

  close(session: Session): void {
    this.sessions.delete(session.id);
  }

  /** The cookie that carries `session` (or clears it). */
  cookie(session: Session | null): string {
    const base = `${SESSION_COOKIE}=${session?.id ?? ''}; Path=/console; HttpOnly; SameSite=Strict`;
    return session ? `${base}; Max-Age=${Math.floor(SESSION_MS / 1000)}` : `${base}; Max-Age=0`;
  }

  /** False when this address has given a wrong token too often in the last minute. */
  mayTry(address: string): boolean {
    const recent = (this.failures.get(address) ?? []).filter((t) => t > this.now() - 60_000);
    this.failures.set(address, recent);
    return recent.length < FAILURES_PER_MINUTE;
  }

  failed(address: string): void {
    const list = this.failures.get(address) ?? [];
    list.push(this.now());
    this.failures.set(address, list);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    // Never more than MAX_SESSIONS: the oldest go first (a flood of logins cannot exhaust memory).
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    for (const [address, times] of this.failures) {
      if (times.every((t) => t <= now - 60_000)) this.failures.delete(address);
    }
  }
}

/** The bearer token of an `Authorization` header, if any. */
export function bearer(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

/**
 * True when a state-changing request comes from one of `origins` (the console's own): its
 * `Origin` (or, without one, its `Referer`) must be one of them and `Sec-Fetch-Site`, when sent,
 * must say same-origin.
 */
export function sameOrigin(req: IncomingMessage, origins: ReadonlySet<string>): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin !== undefined) return origins.has(origin);
  const referer = req.headers.referer;
  if (referer === undefined) return false;
  try {
    return origins.has(new URL(referer).origin);
  } catch {
    return false;
  }
}

/** The origins a request to this server may come from: its Host, and the configured public URL. */
export function ownOrigins(req: IncomingMessage, publicUrl: string | undefined): Set<string> {
  const out = new Set<string>();
  const host = req.headers.host;
  if (host !== undefined && /^[A-Za-z0-9.\-[\]:]+$/.test(host)) {
    // Behind a TLS proxy the browser says https: the host is the same either way.
    out.add(`http://${host}`);
    out.add(`https://${host}`);
  }
  if (publicUrl !== undefined) {
    try {
      out.add(new URL(publicUrl).origin);
    } catch {
      // an unparsable public URL adds nothing
    }
  }
  return out;
}
