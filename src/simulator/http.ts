/** The simulator's tiny HTTP layer on plain `node:http`: route table, body reading, replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Company } from './state.js';
import { ApiError, badRequest } from './errors.js';

/** The media type the spec declares for every body (docs/decisions.md#s13). */
export const JSON_TYPE = 'application/json;charset=UTF-8';

/** Names for the operations, used by fault rules and the request log. */
export type Operation =
  | 'listJobs'
  | 'getJob'
  | 'createJob'
  | 'createEvent'
  | 'listJobItems'
  | 'updateJobItems'
  | 'listExportItems'
  | 'files'
  | 'createSubscription'
  | 'getSubscription'
  | 'deleteSubscription'
  | 'getSubscriptionSecret'
  | 'oauthAuthorize'
  | 'oauthToken'
  | 'admin';

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Readonly<Record<string, string>>;
  body: Buffer;
  /** The company the credentials are bound to (routes with `auth: 'pleo'`). */
  company: Company | undefined;
}

export interface Reply {
  status: number;
  /** Serialized with JSON.stringify and sent as `application/json;charset=UTF-8`. */
  json?: unknown;
  /** A raw body (used when `json` is absent). */
  body?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path template: literal segments and `:name` parameters. */
  path: string;
  operation: Operation;
  /** `pleo`: API key or bearer token required; `none`: open (OAuth, file URLs, admin). */
  auth: 'pleo' | 'none';
  /** Whether the operation changes state (the ambiguous-write fault only applies to these). */
  write: boolean;
  handler: Handler;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method'; allowed: string[] }
  | { kind: 'none' };

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

export class Router {
  readonly #routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) this.#routes.push({ route, segments: route.path.split('/').slice(1) });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    const allowed: string[] = [];
    for (const { route, segments } of this.#routes) {
      if (segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const seg = segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith(':')) {
          const value = part === '' ? undefined : safeDecode(part);
          if (value === undefined) ok = false;
          else params[seg.slice(1)] = value;
        } else if (seg !== part) ok = false;
      }
      if (!ok) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
    return allowed.length ? { kind: 'method', allowed } : { kind: 'none' };
  }
}

/** Reads the whole request body, refusing more than `limit` bytes (413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, 'payload_too_large', `Request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * Parses a JSON request body. 415 unless the Content-Type is JSON (a body sent without one,
 * e.g. fetch's default `text/plain`, is refused as Spring would); 400 when empty or malformed.
 */
export function jsonBody(ctx: RequestContext): unknown {
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `Content-Type '${type}' is not supported; use application/json`,
    );
  }
  if (ctx.body.length === 0) throw badRequest('Required request body is missing');
  try {
    return JSON.parse(ctx.body.toString('utf8')) as unknown;
  } catch {
    throw badRequest('Malformed JSON request body');
  }
}

export function errorReply(err: ApiError): Reply {
  return { status: err.status, json: { type: err.type, message: err.message }, headers: { ...err.headers } };
}

export interface SlowBody {
  chunkBytes: number;
  chunkDelayMs: number;
}

/** Serializes a reply; with `slow`, the body is trickled out in chunks. */
export async function sendReply(res: ServerResponse, reply: Reply, slow?: SlowBody): Promise<void> {
  let body: Buffer | string | undefined;
  let contentType = reply.contentType;
  if (reply.json !== undefined) {
    body = JSON.stringify(reply.json);
    contentType ??= JSON_TYPE;
  } else body = reply.body;
  const headers: Record<string, string | number> = { ...reply.headers };
  if (contentType && body !== undefined) headers['content-type'] = contentType;
  const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  headers['content-length'] = buf?.length ?? 0;
  res.writeHead(reply.status, headers);
  if (!buf || !slow) {
    res.end(buf);
    return;
  }
  const step = Math.max(1, slow.chunkBytes);
  for (let off = 0; off < buf.length; off += step) {
    if (res.destroyed) return;
    res.write(buf.subarray(off, off + step));
    await sleep(slow.chunkDelayMs);
  }
  res.end();
}
