/**
 * The daemon's HTTP layer: plain `node:http`, a small route table, JSON replies, and request
 * bodies read on demand with a size limit (only the webhook route reads one).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /** Reads the whole body; throws {@link BodyTooLargeError} past `maxBytes` (nothing more is buffered). */
  body(maxBytes: number): Promise<Buffer>;
}

export interface HttpReply {
  status: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: (req: HttpRequest) => Promise<HttpReply>;
}

export class BodyTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`request body larger than ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  /** Stops listening, waits for the requests being answered, then closes every connection. */
  close(): Promise<void>;
}

/** A part of the site that answers its requests itself (streams, its own headers): the console. */
export interface Mount {
  /** Requests to `prefix` or below it go to `handle`. */
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: readonly Route[];
  mounts?: readonly Mount[];
  /** A handler threw (the client got a 500). */
  onError: (error: unknown, req: { method: string; path: string }) => void;
}

export function reply(status: number, json: unknown, headers?: Record<string, string>): HttpReply {
  return headers ? { status, json, headers } : { status, json };
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const inFlight = new Set<Promise<void>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    let read = false;
    const request: HttpRequest = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      body: (maxBytes) => {
        read = true;
        return readBody(req, maxBytes);
      },
    };
    let answer: HttpReply;
    const sameRoute = options.routes.filter((r) => r.path === path);
    const route = sameRoute.find((r) => r.method === method);
    try {
      if (route) answer = await route.handler(request);
      else if (sameRoute.length > 0)
        answer = reply(
          405,
          { error: 'method_not_allowed' },
          { allow: sameRoute.map((r) => r.method).join(', ') },
        );
      else answer = reply(404, { error: 'not_found' });
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        answer = reply(
          413,
          { error: 'payload_too_large', maxBytes: error.maxBytes },
          { connection: 'close' },
        );
      } else {
        options.onError(error, { method, path });
        answer = reply(500, { error: 'internal_error' });
      }
    }
    // Whatever the handler did not read is discarded, so the connection can be reused.
    if (!read || !req.complete) req.resume();
    send(res, answer);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const mount = options.mounts?.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
    // A mount's long-lived responses (server-sent events) are not waited for on close: its own
    // close ends them, and the server's closeAllConnections cuts what is left.
    const task = (mount ? mount.handle(req, res) : handle(req, res))
      .catch((error: unknown) => {
        options.onError(error, { method: req.method ?? 'GET', path: req.url ?? '/' });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  });
  // Webhook senders and probes send small requests: a slow or stuck client is cut off.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await closed;
      })()),
  };
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes)
    return Promise.reject(new BodyTooLargeError(maxBytes));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function send(res: ServerResponse, answer: HttpReply): void {
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...answer.headers };
  let body: string;
  if (answer.text !== undefined) {
    body = answer.text;
    headers['content-type'] = answer.contentType ?? 'text/plain; charset=utf-8';
  } else {
    body = JSON.stringify(answer.json ?? {});
    headers['content-type'] = 'application/json';
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(answer.status, headers);
  res.end(body);
}
