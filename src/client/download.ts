/**
 * Receipt downloads, treating the URL as hostile (issue 17, finding 2). A `files[].url` comes from
 * Pleo's data; followed blindly it can make the exporter fetch `http://127.0.0.1:<port>/`, a cloud
 * metadata service or a host inside the local network, and file the answer as a receipt next to
 * the books (and upload it to the ERP). So every hop of a download is checked:
 *
 *   URL (scheme, credentials, host allow-list, port) → DNS (injectable lookup) → every resolved
 *   address public → connect to exactly the checked address → 3xx: the next hop, checked the same
 *   way, at most `maxRedirects` times.
 *
 * The address check runs inside the socket's own `lookup`, so the address that was checked is the
 * one connected to: a name that resolves to a public address for the check and to 127.0.0.1 for
 * the connection (DNS rebinding) cannot slip between the two.
 *
 * Hosts in `allowInsecureHosts` (and the configured API origin itself, which already receives our
 * credentials) may use plain http and private or loopback addresses: that is how a local simulator
 * or test server is allowed, explicitly, by host and port.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished } from 'node:stream';

import { ConfigError, DownloadRefusedError } from '../errors/index.js';
import { blockedRange, isIpLiteral } from './address.js';
import type { FetchLike } from './options.js';

/** Resolves a host name to its addresses (a port: inject a fake one in tests). */
export type HostLookup = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

/** Where receipt downloads may go. Every field is optional; see {@link compileDownloadPolicy}. */
export interface DownloadPolicyOptions {
  /**
   * Hosts receipts may be downloaded from, over https, at public addresses only. `*.example.com`
   * matches any subdomain of example.com (not example.com itself); `host:port` allows that port
   * only; without a port only 443. @default ['*.pleo.io']
   */
  allowedHosts?: readonly string[];
  /**
   * Hosts (exact, `host` or `host:port`, no wildcard) that may also be reached over plain http and
   * at private, loopback or link-local addresses: a local simulator or test server. Without a port
   * only the scheme's default port. @default []
   */
  allowInsecureHosts?: readonly string[];
  /** Redirects followed (each hop checked again). @default 5 */
  maxRedirects?: number;
  /** @default node's `dns.lookup` with `all: true` */
  lookup?: HostLookup;
  /**
   * The transport of downloads. @default a `node:http(s)` transport that resolves through `lookup`
   * and connects only to checked addresses. An injected one must do its own address checks; the
   * URL, allow-list and redirect checks still apply to it.
   */
  fetch?: FetchLike;
}

export const DEFAULT_ALLOWED_DOWNLOAD_HOSTS: readonly string[] = Object.freeze(['*.pleo.io']);
export const DEFAULT_MAX_REDIRECTS = 5;

const POLICY_KEYS = new Set<string>([
  'allowedHosts',
  'allowInsecureHosts',
  'maxRedirects',
  'lookup',
  'fetch',
] satisfies (keyof DownloadPolicyOptions)[]);

interface HostRule {
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: number | undefined;
}

export interface DownloadPolicy {
  readonly allowed: readonly HostRule[];
  readonly insecure: readonly HostRule[];
  /** The API origin (`https://external.pleo.io`, or a simulator's `http://127.0.0.1:4010`). */
  readonly apiOrigin: string;
  readonly maxRedirects: number;
  readonly lookup: HostLookup;
  readonly fetch: FetchLike;
}

const HOST_ENTRY = /^(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/i;

/** Parses an allow-list entry; `null` when it is not `host`, `*.host`, `host:port` or `[v6]:port`. */
export function parseHostEntry(entry: string, allowWildcard: boolean): HostRule | null {
  const match = HOST_ENTRY.exec(entry.trim());
  if (!match) return null;
  const wildcard = match[1] !== undefined;
  if (wildcard && !allowWildcard) return null;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  let host: string;
  try {
    // The URL parser's spelling, as the URLs checked against the rule have it (127.1 → 127.0.0.1).
    host = normalizeHost(new URL(`http://${match[2] ?? ''}`).hostname);
  } catch {
    return null;
  }
  if (wildcard && (isIpLiteral(host) || !host.includes('.'))) return null; // `*.com`, `*.1.2.3`
  return { host, wildcard, port };
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Validates the options once (ConfigError naming the bad entry) and builds the policy. */
export function compileDownloadPolicy(
  options: DownloadPolicyOptions | undefined,
  apiOrigin: string,
  label = 'downloads',
): DownloadPolicy {
  const o = options ?? {};
  for (const key of Object.keys(o)) {
    if (!POLICY_KEYS.has(key)) throw new ConfigError(`${label}: unknown option "${key}"`);
  }
  const rules = (key: string, entries: readonly string[] | undefined, wildcard: boolean): HostRule[] => {
    if (entries === undefined) return [];
    if (!Array.isArray(entries)) throw new ConfigError(`${label}.${key} must be a list of host names`);
    return entries.map((entry) => {
      const rule = typeof entry === 'string' ? parseHostEntry(entry, wildcard) : null;
      if (rule === null) {
        throw new ConfigError(
          `${label}.${key}: ${JSON.stringify(entry)} is not a host${wildcard ? ' (like files.pleo.io, *.pleo.io or host:port)' : ' (like 127.0.0.1:4010; no wildcards here)'}`,
        );
      }
      return rule;
    });
  };
  const maxRedirects = o.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 20)
    throw new ConfigError(`${label}.maxRedirects must be an integer from 0 to 20`);
  if (o.lookup !== undefined && typeof o.lookup !== 'function')
    throw new ConfigError(`${label}.lookup must be a function`);
  if (o.fetch !== undefined && typeof o.fetch !== 'function')
    throw new ConfigError(`${label}.fetch must be a function`);
  const lookup = o.lookup ?? defaultLookup;
  const policy: Omit<DownloadPolicy, 'fetch'> = {
    allowed: Object.freeze(rules('allowedHosts', o.allowedHosts ?? DEFAULT_ALLOWED_DOWNLOAD_HOSTS, true)),
    insecure: Object.freeze(rules('allowInsecureHosts', o.allowInsecureHosts, false)),
    apiOrigin: new URL(apiOrigin).origin,
    maxRedirects,
    lookup,
  };
  return Object.freeze({ ...policy, fetch: o.fetch ?? createCheckedTransport(policy) });
}

function defaultPort(protocol: string): number {
  return protocol === 'http:' ? 80 : 443;
}

function matches(rule: HostRule, host: string, port: number, protocol: string): boolean {
  if ((rule.port ?? defaultPort(protocol)) !== port) return false;
  return rule.wildcard ? host.endsWith(`.${rule.host}`) : host === rule.host;
}

/** The host of a URL as the rules compare it: lower case, no trailing dot, IPv6 in brackets. */
function hostOf(url: URL): string {
  return normalizeHost(url.hostname);
}

function portOf(url: URL): number {
  return url.port === '' ? defaultPort(url.protocol) : Number(url.port);
}

/** Whether plain http and non-public addresses are allowed for this URL's host and port. */
function isInsecureAllowed(policy: Omit<DownloadPolicy, 'fetch'>, url: URL): boolean {
  if (url.origin === policy.apiOrigin) return true;
  const host = hostOf(url);
  const port = portOf(url);
  return policy.insecure.some((rule) => matches(rule, host, port, url.protocol));
}

function refuse(url: URL, why: string): DownloadRefusedError {
  const path = `${url.host}${url.pathname}`;
  return new DownloadRefusedError(`GET ${path} (downloadFile): refused: ${why}`, {
    code: 'DOWNLOAD_REFUSED',
    retryable: false,
    method: 'GET',
    path,
  });
}

/**
 * Checks one hop's URL before anything is sent: http(s) only, https unless the host is allowed
 * insecure, no credentials, host and port on the allow-list, and an IP literal must be public
 * (unless allowed insecure). Host names are checked after resolution, in the transport.
 */
export function checkDownloadUrl(policy: Omit<DownloadPolicy, 'fetch'>, url: URL): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw refuse(url, `the scheme ${url.protocol} is not https`);
  if (url.username !== '' || url.password !== '') throw refuse(url, 'the URL contains credentials');
  const insecure = isInsecureAllowed(policy, url);
  if (url.protocol === 'http:' && !insecure)
    throw refuse(url, 'plain http (only https, unless the host is in allowInsecureHosts)');
  const host = hostOf(url);
  const port = portOf(url);
  if (!insecure && !policy.allowed.some((rule) => matches(rule, host, port, url.protocol)))
    throw refuse(url, `the host ${url.host} is not in the allowed download hosts (attachments.allowedHosts)`);
  if (!insecure && isIpLiteral(host)) {
    const range = blockedRange(host);
    if (range !== null) throw refuse(url, `${host} is a ${range} address`);
  }
}

/**
 * Fetches `url` with the policy's transport, following redirects by hand: every `Location` is
 * checked like the first URL, at most `maxRedirects` times. Returns the final response.
 */
export async function fetchChecked(policy: DownloadPolicy, url: URL, init: RequestInit): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop += 1) {
    checkDownloadUrl(policy, current);
    const response = await policy.fetch(current.href, { ...init, redirect: 'manual' });
    const location = response.headers.get('location');
    if (!isRedirect(response.status) || location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    if (hop >= policy.maxRedirects) throw refuse(url, `more than ${policy.maxRedirects} redirects`);
    try {
      current = new URL(location, current);
    } catch {
      throw refuse(current, 'a redirect to an invalid URL');
    }
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * The default download transport: `node:http(s)` with a `lookup` that resolves through the
 * policy's {@link HostLookup} and refuses the connection when any resolved address is not public
 * (for hosts not allowed insecure). No redirects are followed here ({@link fetchChecked} does).
 */
export function createCheckedTransport(policy: Omit<DownloadPolicy, 'fetch'>): FetchLike {
  const agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  };
  return (href, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(href);
      const insecure = isInsecureAllowed(policy, url);
      const checkedLookup = (
        hostname: string,
        options: { all?: boolean },
        callback: LookupCallback,
      ): void => {
        policy.lookup(hostname).then(
          (addresses) => {
            if (addresses.length === 0) {
              callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
              return;
            }
            if (!insecure) {
              for (const { address } of addresses) {
                const range = blockedRange(address);
                if (range !== null) {
                  callback(refuse(url, `${url.hostname} resolves to ${address}, a ${range} address`), []);
                  return;
                }
              }
            }
            const list = addresses.map((a) => ({ address: a.address, family: a.family }));
            if (options.all === true) callback(null, list);
            else callback(null, list[0]?.address ?? '', list[0]?.family ?? 4);
          },
          (error: unknown) => callback(error as NodeJS.ErrnoException, []),
        );
      };
      const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers = new Headers(init.headers);
      const req = request(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers.entries()),
        agent: url.protocol === 'https:' ? agents.https : agents.http,
        lookup: checkedLookup as never,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        try {
          resolve(toResponse(res));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      req.end();
    });
}

/**
 * The node response as a fetch `Response`. Headers go in as name/value pairs (one copy, made by
 * the Response, not a `Headers` built here and copied again), and the body is a minimal pull stream over the node stream instead of
 * `Readable.toWeb` (measured on the receipts path, issue 20: the adapter's machinery was half of
 * the conversion's CPU): one chunk queued at a time (the node stream paused while it waits),
 * closed at the end, errored when the connection ends before the body does, and the request
 * destroyed when the reader cancels (a body past its size limit is never read further).
 */
function toResponse(res: IncomingMessage): Response {
  const status = res.statusCode ?? 0;
  // node's view of the headers (duplicates of Content-Length, Location and the like discarded).
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, one]);
  }
  if (status < 200 || status > 599) {
    res.destroy();
    throw new Error(`unexpected HTTP status ${status}`);
  }
  const nullBody = status === 204 || status === 205 || status === 304;
  if (nullBody) res.resume();
  const body = nullBody ? null : webBody(res);
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
}

function webBody(res: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      finished(res, (error) => {
        if (settled) return;
        settled = true;
        if (error) controller.error(error);
        else controller.close();
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      res.destroy();
    },
  });
}
