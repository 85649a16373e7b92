/**
 * A `fetch` wrapper that injects faults into an adapter's HTTP traffic, for the adapter contract
 * suite (`contract.ts`) of every adapter that talks HTTP through `AdapterDeps.fetch` (http, and any
 * SaaS or ERP adapter). Each armed fault applies once, to the next request it matches:
 *
 * - `status`: answer with this status and JSON body without forwarding (nothing is applied);
 * - `network`: reject like a refused connection, without forwarding;
 * - `loseAnswer`: forward, let the server apply it and answer, read the answer, then reject like
 *   a connection reset (the "applied, answer lost" case);
 * - `during`: forward, and call `run` while the request is in flight (e.g. abort its signal).
 */
export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'network' }
  | { kind: 'loseAnswer' }
  | { kind: 'during'; run: () => void };

export type RequestMatch = (request: { method: string; url: URL }) => boolean;

export interface FaultyFetch {
  readonly fetch: typeof fetch;
  /** Arms `fault` for the next request matching `match`. */
  next(match: RequestMatch, fault: Fault): void;
  /** Requests seen (method and path), faulted or not. */
  readonly seen: { method: string; path: string }[];
}

export function faultyFetch(inner: typeof fetch = globalThis.fetch): FaultyFetch {
  const armed: { match: RequestMatch; fault: Fault }[] = [];
  const seen: { method: string; path: string }[] = [];
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    seen.push({ method, path: url.pathname });
    const index = armed.findIndex((a) => a.match({ method, url }));
    const fault = index === -1 ? undefined : armed.splice(index, 1)[0]?.fault;
    switch (fault?.kind) {
      case undefined:
        return inner(input, init);
      case 'status':
        return new Response(JSON.stringify(fault.body ?? { message: `injected ${fault.status}` }), {
          status: fault.status,
          headers: { 'content-type': 'application/json', ...fault.headers },
        });
      case 'network':
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      case 'loseAnswer': {
        const response = await inner(input, init);
        await response.arrayBuffer();
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
        });
      }
      case 'during': {
        const pending = inner(input, init);
        fault.run();
        return pending;
      }
    }
  };
  return { fetch: wrapped, next: (match, fault) => armed.push({ match, fault }), seen };
}

/** Matches requests by method and a path test. */
export function request(method: string, path: RegExp): RequestMatch {
  return (r) => r.method === method && path.test(r.url.pathname);
}
