/**
 * Client options: `PleoClientOptions` → {@link compileClientOptions} → `CompiledClientOptions`,
 * validated and frozen once at construction (house style rule 9). Unknown keys are rejected.
 *
 * The numeric settings' limits and defaults are defined once, in {@link clientSettings}: the
 * configuration file's `pleo` block (`config/schema.ts`) is built from the same fields.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { z } from 'zod';

import { ConfigError, type ErrorCode } from '../errors/index.js';
import { compileDownloadPolicy, type DownloadPolicy, type DownloadPolicyOptions } from './download.js';
import { type CompiledRateLimit, DEFAULT_MAX_CONCURRENCY, type RateLimitOptions } from './rate-limit.js';
import { type CompiledRetryPolicy, compileRetryPolicy, type RetryPolicy } from './retry.js';

/** The subset of WHATWG `fetch` the client needs (a port: inject a recording or faulty one in tests). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
/** Waits `ms` milliseconds; rejects when `signal` aborts. Injected in tests so nothing really sleeps. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;
/** Milliseconds since the epoch. */
export type Clock = () => number;

/**
 * Where OAuth access tokens come from (a port; {@link OAuthTokenProvider} is the real one).
 *
 * `rejected`: the token the API just answered 401 for. The provider refreshes unless its current
 * token already differs from it (another caller refreshed meanwhile), so N concurrent 401s cause
 * at most one refresh.
 */
export interface TokenProvider {
  getAccessToken(options?: { signal?: AbortSignal; rejected?: string }): Promise<string>;
}

export type ClientAuth =
  /** HTTP Basic with the API key as user name and an empty password. */
  | { kind: 'apiKey'; apiKey: string }
  /** `Authorization: Bearer <access token>` from a token provider. */
  | { kind: 'oauth'; tokens: TokenProvider };

/** Client operations, the stable key for per-endpoint metrics. */
export type PleoOperation =
  | 'listJobs'
  | 'getJob'
  | 'createJob'
  | 'sendJobEvent'
  | 'listJobItems'
  | 'updateJobItems'
  | 'listExportItems'
  | 'downloadFile'
  | 'createSubscription'
  | 'getSubscriptionSecret';

/** One HTTP attempt, reported to `onRequest` after it finished. Never contains credentials. */
export interface RequestEvent {
  operation: PleoOperation;
  method: string;
  /** Pathname without the query string (downloads: host + pathname, never the signed query). */
  path: string;
  /** HTTP status; `undefined` when no answer arrived (network error, timeout, abort). */
  status: number | undefined;
  durationMs: number;
  /** 1 for a call's first HTTP request, 2 for the next (retry or post-refresh replay)… */
  attempt: number;
  /** The error code when this attempt failed; `undefined` on success. */
  errorCode: ErrorCode | undefined;
  /** The delay before the client's next attempt of this call, when it will retry. */
  retryInMs: number | undefined;
}

export const DEFAULT_BASE_URL = 'https://external.pleo.io';
export const MAX_PAGE_SIZE = 1000;
/**
 * A page of 1,000 export items (the largest page) is a few MiB; 32 MiB leaves ample room and keeps
 * a hostile or broken answer from taking the process's memory (issue 16: a 400 MB page took 1.76 GB).
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

const wholeNumber = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The client's numeric settings, each with its limits and default: their one definition.
 * {@link compileClientOptions} checks a caller's options against these fields, and the
 * configuration file's `pleo` block is built from the same fields, so the two cannot disagree.
 */
export const clientSettings = {
  /** Default page size (`limit`) of the list operations. @default 100 */
  pageSize: wholeNumber(1, MAX_PAGE_SIZE).default(100),
  /** Per-attempt timeout in ms, covering the response body too. @default 30000 */
  timeoutMs: wholeNumber(1, 600_000).default(30_000),
  /**
   * A ceiling on the sustained request rate per company, on top of the adaptive pacing
   * (rate-limit.ts). @default none (Pleo documents no limit: the client goes as fast as Pleo lets it)
   */
  requestsPerSecond: wholeNumber(1, 10_000).optional(),
  /** Requests that may be sent back to back under the ceiling. @default ceil(requestsPerSecond) */
  burst: wholeNumber(1, 10_000).optional(),
  /** Pleo API requests in flight per company (the adaptive pacing's cap). @default 8 */
  maxConcurrency: wholeNumber(1, 1000).default(DEFAULT_MAX_CONCURRENCY),
  /**
   * Largest accepted body of a Pleo API response, counted while it streams; past it the call
   * fails with RESPONSE_TOO_LARGE (not retried). @default 33554432 (32 MiB)
   */
  maxResponseBytes: wholeNumber(64 * 1024, 2 ** 31).default(DEFAULT_MAX_RESPONSE_BYTES),
  /** Default `maxBytes` of `downloadFile`. @default 52428800 (50 MiB) */
  maxDownloadBytes: wholeNumber(1, 2 ** 31).default(50 * 1024 * 1024),
};

type ClientSettingsInput = z.input<z.ZodObject<typeof clientSettings>>;

export interface PleoClientOptions extends Pick<
  ClientSettingsInput,
  'pageSize' | 'timeoutMs' | 'maxResponseBytes' | 'maxDownloadBytes'
> {
  /** API origin. @default 'https://external.pleo.io' (staging: 'https://external.staging.pleo.io') */
  baseUrl?: string;
  /** The company these credentials belong to (uuid). Required: one client = one company. */
  companyId: string;
  auth: ClientAuth;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
  /** @default Date.now */
  clock?: Clock;
  /** @default node:timers/promises setTimeout */
  sleep?: Sleep;
  /** @default Math.random */
  random?: () => number;
  /** @default see {@link RetryPolicy} */
  retry?: RetryPolicy;
  /**
   * Client-side pacing (see rate-limit.ts): unpaced up to `maxConcurrency` requests in flight, AIMD
   * on 429/5xx, `Retry-After` honoured, an optional fixed ceiling. `false` turns all of it off
   * (tests that inject faults on purpose, benchmarks).
   * @default {maxConcurrency: 8} (no ceiling)
   */
  rateLimit?: RateLimitOptions | false;
  /** @default 'pleo-export' */
  userAgent?: string;
  /** Called after every HTTP attempt (metrics, logs). Exceptions thrown by it are ignored. */
  onRequest?: (event: RequestEvent) => void;
  /** Validate 2xx bodies against the OpenAPI schemas (with the documented leniencies). @default true */
  validateResponses?: boolean;
  /** Where receipt downloads may go (hosts, redirects, DNS). @default see {@link DownloadPolicyOptions} */
  downloads?: DownloadPolicyOptions;
}

export interface CompiledClientOptions {
  readonly baseUrl: string;
  readonly companyId: string;
  readonly auth: ClientAuth;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly timeoutMs: number;
  readonly retry: CompiledRetryPolicy;
  readonly rateLimit: CompiledRateLimit | false;
  readonly pageSize: number;
  readonly userAgent: string;
  readonly onRequest: ((event: RequestEvent) => void) | undefined;
  readonly validateResponses: boolean;
  readonly maxDownloadBytes: number;
  readonly downloads: DownloadPolicy;
  readonly maxResponseBytes: number;
}

const ALLOWED_KEYS = new Set<string>([
  'baseUrl',
  'companyId',
  'auth',
  'fetch',
  'clock',
  'sleep',
  'random',
  'timeoutMs',
  'retry',
  'rateLimit',
  'pageSize',
  'userAgent',
  'onRequest',
  'validateResponses',
  'maxDownloadBytes',
  'downloads',
  'maxResponseBytes',
] satisfies (keyof PleoClientOptions)[]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export const defaultSleep: Sleep = (ms, signal) =>
  delay(ms, undefined, signal === undefined ? {} : { signal });

function fail(message: string): never {
  throw new ConfigError(`Pleo client: ${message}`);
}

/** `value` checked against one of {@link clientSettings} (its default when undefined). */
function setting(key: 'burst' | 'requestsPerSecond', value: unknown, name: string): number | undefined;
function setting(
  key: Exclude<keyof typeof clientSettings, 'burst' | 'requestsPerSecond'>,
  value: unknown,
  name?: string,
): number;
function setting(key: keyof typeof clientSettings, value: unknown, name: string = key): number | undefined {
  const field = clientSettings[key];
  const parsed = field.safeParse(value);
  if (parsed.success) return parsed.data;
  const range = field.unwrap();
  return fail(
    `${name} must be an integer from ${String(range.minValue)} to ${String(range.maxValue)}, got ${String(value)}`,
  );
}

function fn<T>(name: string, value: T | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(`${name} must be a function`);
  return value;
}

function compileBaseUrl(value: unknown): string {
  if (value === undefined) return DEFAULT_BASE_URL;
  if (typeof value !== 'string') fail('baseUrl must be a string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(`baseUrl is not a valid URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('baseUrl must be an http(s) URL');
  // Credentials in the URL would end up in logs; auth goes through `auth`.
  if (url.username !== '' || url.password !== '') fail('baseUrl must not contain credentials');
  if (url.search !== '' || url.hash !== '') fail('baseUrl must not have a query string or fragment');
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function compileAuth(value: unknown): ClientAuth {
  if (typeof value !== 'object' || value === null)
    fail('auth is required: {kind: "apiKey"} or {kind: "oauth"}');
  const auth = value as Record<string, unknown>;
  if (auth['kind'] === 'apiKey') {
    const key = auth['apiKey'];
    // Never echo the key itself in these messages.
    if (typeof key !== 'string' || key.trim() === '') fail('auth.apiKey must be a non-empty string');
    if (/[:\s]/.test(key))
      fail('auth.apiKey must not contain ":" or whitespace (it is sent as a Basic user name)');
    return Object.freeze({ kind: 'apiKey', apiKey: key });
  }
  if (auth['kind'] === 'oauth') {
    const tokens = auth['tokens'] as Partial<TokenProvider> | undefined;
    if (typeof tokens?.getAccessToken !== 'function') {
      fail('auth.tokens must be a TokenProvider (an object with getAccessToken())');
    }
    return Object.freeze({ kind: 'oauth', tokens: tokens as TokenProvider });
  }
  return fail(`auth.kind must be "apiKey" or "oauth", got ${JSON.stringify(auth['kind'])}`);
}

function compileRateLimit(value: unknown): CompiledRateLimit | false {
  if (value === false) return false;
  if (value === null || (typeof value !== 'object' && value !== undefined))
    fail('rateLimit must be an object or false');
  const { requestsPerSecond, burst, maxConcurrency, ...rest } = (value ?? {}) as Partial<RateLimitOptions>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) fail(`rateLimit.${unknown} is not a rate limit option`);
  if (requestsPerSecond === undefined && burst !== undefined)
    fail('rateLimit.burst needs rateLimit.requestsPerSecond (it is the burst of that ceiling)');
  const rate = setting('requestsPerSecond', requestsPerSecond, 'rateLimit.requestsPerSecond');
  return Object.freeze({
    requestsPerSecond: rate,
    burst:
      rate === undefined
        ? undefined
        : (setting('burst', burst, 'rateLimit.burst') ?? Math.max(1, Math.ceil(rate))),
    maxConcurrency: setting('maxConcurrency', maxConcurrency, 'rateLimit.maxConcurrency'),
  });
}

/**
 * Validates options once, resolves defaults and returns a frozen object. Throws
 * {@link ConfigError} with a message naming the option.
 *
 * @example
 * const compiled = compileClientOptions({ companyId, auth: { kind: 'apiKey', apiKey } });
 */
export function compileClientOptions(options: PleoClientOptions): CompiledClientOptions {
  if (typeof options !== 'object' || (options as unknown) === null) fail('options must be an object');
  for (const key of Object.keys(options)) {
    if (!ALLOWED_KEYS.has(key)) fail(`unknown option "${key}"`);
  }
  if (!isUuid(options.companyId)) fail(`companyId must be a uuid, got ${JSON.stringify(options.companyId)}`);
  const timeoutMs = setting('timeoutMs', options.timeoutMs);
  const userAgent = options.userAgent ?? 'pleo-export';
  if (typeof userAgent !== 'string' || userAgent.trim() === '' || /[\r\n]/.test(userAgent)) {
    fail('userAgent must be a non-empty single-line string');
  }
  const validateResponses = options.validateResponses ?? true;
  if (typeof validateResponses !== 'boolean') fail('validateResponses must be a boolean');
  const globalFetch: FetchLike = (url, init) => fetch(url, init);
  const baseUrl = compileBaseUrl(options.baseUrl);
  if (
    options.downloads !== undefined &&
    (typeof options.downloads !== 'object' || options.downloads === null)
  )
    fail('downloads must be an object');
  let downloads: DownloadPolicy;
  try {
    downloads = compileDownloadPolicy(options.downloads, baseUrl, 'downloads');
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  return Object.freeze({
    baseUrl,
    companyId: options.companyId.toLowerCase(),
    auth: compileAuth(options.auth),
    fetch: fn('fetch', options.fetch, globalFetch),
    clock: fn('clock', options.clock, Date.now),
    sleep: fn('sleep', options.sleep, defaultSleep),
    random: fn('random', options.random, Math.random),
    timeoutMs,
    retry: compileRetryPolicy(options.retry, 'Pleo client: retry'),
    rateLimit: compileRateLimit(options.rateLimit),
    pageSize: setting('pageSize', options.pageSize),
    userAgent,
    onRequest: options.onRequest === undefined ? undefined : fn('onRequest', options.onRequest, () => {}),
    validateResponses,
    maxDownloadBytes: setting('maxDownloadBytes', options.maxDownloadBytes),
    downloads,
    maxResponseBytes: setting('maxResponseBytes', options.maxResponseBytes),
  });
}
