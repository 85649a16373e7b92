/**
 * Shared fixtures for the client tests: spec-conforming resources, a fake clock and a sleep that
 * records delays and returns at once (no real sleeps), a client factory, and the secret-leak check
 * every test file runs in `afterAll`.
 */
import { afterAll, expect } from 'vitest';
import {
  createPleoClient,
  type ExportItem,
  type ExportJob,
  type ExportJobItem,
  type Page,
  type PleoClient,
  type PleoClientOptions,
  type RequestEvent,
  type Sleep,
} from '../../src/client/index.js';

export const COMPANY_ID = '0b7e6f5a-1c2d-4e3f-8a9b-0c1d2e3f4a5b';
export const API_KEY = 'pleo-test-api-key-7f3a91c4e2';
export const ACCESS_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.access-token-one.sig1';
export const REFRESH_TOKEN = 'refresh-token-one-5b2c9d';
export const CLIENT_SECRET = 'oauth-client-secret-91ab';
/** Every credential the tests use; none may appear in an error message or event. */
export const SECRETS = [
  API_KEY,
  Buffer.from(`${API_KEY}:`).toString('base64'),
  ACCESS_TOKEN,
  REFRESH_TOKEN,
  CLIENT_SECRET,
  'eyJhbGciOiJIUzI1NiJ9.access-token-two.sig2',
  'refresh-token-two-8e1f0a',
];

/** A deterministic uuid (v4 layout) from a number. */
export function uuid(n: number, prefix = 'a'): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${prefix.repeat(8)}-0000-4000-8000-${hex}`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** A cursor matching the spec's `^[A-Z2-7=~]+$`. */
export function cursor(n: number): string {
  let out = '';
  let value = n;
  do {
    out = (BASE32[value % 32] ?? 'A') + out;
    value = Math.floor(value / 32);
  } while (value > 0);
  return `CUR${out}`;
}

export function makeJob(n: number, overrides: Partial<ExportJob> = {}): ExportJob {
  return {
    id: uuid(n, 'b'),
    companyId: COMPANY_ID,
    createdAt: '2024-05-01T10:00:00Z',
    createdBy: null,
    expiresIn: 3600,
    isInteractive: true,
    numberOfItems: 3,
    status: 'pending',
    vendorBasedBookkeeping: false,
    ...overrides,
  };
}

export function makeJobItem(
  n: number,
  jobId = uuid(1, 'b'),
  overrides: Partial<ExportJobItem> = {},
): ExportJobItem {
  return { accountingEntryId: uuid(n, 'c'), exportJobId: jobId, status: 'pending', ...overrides };
}

const money = (value: number) => ({ currency: 'DKK' as const, value });
const amount = (value: number) => ({ inSupplierCurrency: money(value), inWalletCurrency: money(value) });

export function makeExportItem(n: number, overrides: Partial<ExportItem> = {}): ExportItem {
  return {
    _links: { api: {}, mobile: {}, web: {} },
    accountingEntryId: uuid(n, 'c'),
    companyId: COMPANY_ID,
    date: '2024-05-01T09:00:00Z',
    type: 'card_purchase',
    amount: amount(12_500),
    accountingEntryLines: [
      { accountingEntryLineId: uuid(n, 'd'), lineAmount: amount(12_500), netAmount: amount(10_000) },
    ],
    additionalInformation: { reconciliationId: `R-${n}` },
    ...overrides,
  };
}

export function page<T>(data: T[], next?: string, extra: Record<string, unknown> = {}): Page<T> {
  return {
    data,
    pagination: {
      hasNextPage: next !== undefined,
      hasPreviousPage: false,
      ...(next === undefined ? {} : { endCursor: next }),
      currentRequestPagination: { parameters: {} },
      ...extra,
    },
  };
}

/** A fake clock plus a sleep that records each delay, advances the clock and returns at once. */
export function fakeTime(start = Date.UTC(2024, 4, 1, 12, 0, 0)) {
  const time = { now: start, delays: [] as number[] };
  const sleep: Sleep = (ms, signal) => {
    if (signal?.aborted === true) return Promise.reject(new DOMException('Aborted', 'AbortError'));
    time.delays.push(ms);
    time.now += ms;
    return Promise.resolve();
  };
  return { time, clock: () => time.now, sleep };
}

export interface TestClient {
  client: PleoClient;
  events: RequestEvent[];
  time: { now: number; delays: number[] };
}

/** A client with API-key auth, fake time, no rate limit and a zero-jitter retry policy by default. */
export function makeClient(baseUrl: string, overrides: Partial<PleoClientOptions> = {}): TestClient {
  const { time, clock, sleep } = fakeTime();
  const events: RequestEvent[] = [];
  const client = createPleoClient({
    baseUrl,
    companyId: COMPANY_ID,
    auth: { kind: 'apiKey', apiKey: API_KEY },
    clock,
    sleep,
    random: () => 0,
    rateLimit: false,
    retry: { jitter: 0 },
    onRequest: (event) => {
      events.push(event);
      recordText(JSON.stringify(event));
    },
    ...overrides,
  });
  return { client, events, time };
}

export async function collect<T>(
  iterable: AsyncIterable<Page<T>>,
): Promise<{ pages: Page<T>[]; items: T[] }> {
  const pages: Page<T>[] = [];
  for await (const p of iterable) pages.push(p);
  return { pages, items: pages.flatMap((p) => p.data) };
}

// ---- secret-leak check ------------------------------------------------------------------------

const texts: string[] = [];

function recordText(text: string): void {
  texts.push(text);
}

/** Records an error's message, JSON form and cause chain for the leak check. */
export function recordError(error: unknown): void {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? '');
      const json = (current as { toJSON?: () => unknown }).toJSON?.();
      if (json !== undefined) texts.push(JSON.stringify(json));
      current = current.cause;
    } else {
      texts.push(typeof current === 'string' ? current : JSON.stringify(current));
      break;
    }
  }
}

/** Awaits `promise`, expecting a rejection; records and returns the error. */
export async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    recordError(error);
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject');
}

/** Registers an afterAll that fails when any recorded text contains a secret. */
export function checkNoSecretsLeak(extraSecrets: string[] = []): void {
  afterAll(() => {
    const secrets = [...SECRETS, ...extraSecrets];
    const leaks = texts.filter((text) => secrets.some((secret) => text.includes(secret)));
    expect(leaks).toEqual([]);
    expect(texts.length).toBeGreaterThan(0);
  });
}
