/**
 * A tiny local HTTP server on port 0 for client tests: every request is recorded, and a handler
 * (usually a script of canned answers) decides the response. `close()` also drops open sockets,
 * so a handler that never answers (timeout tests) does not keep the test process alive.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

export interface TestServer {
  /** Origin, e.g. `http://127.0.0.1:54321`. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://127.0.0.1'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res)).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { type: 'TEST_HANDLER_FAILED', message: String(error) });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    ...(body === undefined ? {} : { 'Content-Type': 'application/json;charset=UTF-8' }),
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

/** A handler answering from a list, one entry per request; the last entry repeats. */
export function script(...steps: Handler[]): Handler {
  let index = 0;
  return (request, response) => {
    const step = steps[Math.min(index, steps.length - 1)];
    index += 1;
    return step?.(request, response);
  };
}

export const reply =
  (status: number, body?: unknown, headers?: Record<string, string>): Handler =>
  (_request, response) =>
    sendJson(response, status, body, headers);

/** Accepts the request and never answers (for timeout tests). */
export const hang: Handler = () => undefined;
