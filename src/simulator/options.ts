/** Options of {@link startSimulator}, their defaults, and their validation (`compileOptions`). */
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';
import type { DataProfile } from './data/index.js';
import { checkFaultConfig } from './faults.js';
import type { FaultConfig } from './faults.js';
import type { OAuthClient } from './oauth.js';
import { checkRateLimit, type RateLimitConfig } from './rate-limit.js';

export interface SimulatorOptions {
  /** Seed of the data generator, ids and the fault PRNG. @default 1 */
  seed?: number;
  /** Companies created at start (generator indices 0..n-1). @default 1 */
  companies?: number;
  /** Pending jobs created per company at start. @default 1 */
  jobsPerCompany?: number;
  /** Items per job created at start. @default 100 */
  itemsPerJob?: number;
  /** `vendorBasedBookkeeping` of the jobs created at start. @default false */
  vendorBasedBookkeeping?: boolean;
  /** Data profile of the jobs created at start. */
  profile?: DataProfile;
  /** Indices of start companies that have no contra accounts (others have them). @default [] */
  companiesWithoutContraAccounts?: number[];
  /** Fixed latency per request (ms). @default 0 */
  latencyMs?: number;
  /** Probability of a random fault per request. @default 0 */
  faultRate?: number;
  /** Further fault configuration (rules, jitter, mix); `latencyMs`/`faultRate` above win. */
  faults?: FaultConfig;
  /**
   * An enforced rate limit per company: past it, authenticated API requests are answered 429
   * with `Retry-After` (see rate-limit.ts). @default none
   */
  rateLimit?: RateLimitConfig;
  /** Largest page served; larger `limit`s are clamped. @default 1000 */
  maxPageSize?: number;
  /** Page size when the request has no `limit`. @default 100 */
  defaultPageSize?: number;
  /** A job not updated for this long expires; 0 disables expiry. @default 3_600_000 */
  expiryMs?: number;
  /** Source of time; the simulator adds its own advanceable offset. @default the system clock */
  clock?: Clock;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Registered OAuth clients. @default [] */
  oauthClients?: OAuthClient[];
  /** @default 3_600_000 */
  accessTokenTtlMs?: number;
  /** @default 2_592_000_000 */
  refreshTokenTtlMs?: number;
  /** Status changes kept per job for the admin API; later ones are only counted. @default 1_000_000 */
  historyLimit?: number;
  /** Requests kept in the admin request log. @default 10_000 */
  requestLogSize?: number;
  /** Extra copies of each webhook delivery. @default 0 */
  webhookDuplicates?: number;
  /** Real-time delay before each webhook send. @default 0 */
  webhookDelayMs?: number;
  /** Pauses between webhook attempts (real ms). @default [100, 1000, 5000] */
  webhookRetryDelaysMs?: number[];
  /** @default 5000 */
  webhookTimeoutMs?: number;
  /** fetch used for webhook deliveries. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How often expiry is swept (real ms); access also applies it. @default 1000 */
  sweepIntervalMs?: number;
  /** @default 67_108_864 (64 MiB) */
  maxBodyBytes?: number;
  /** Where unexpected handler errors are reported. @default console.error */
  onError?: (err: unknown) => void;
}

export type CompiledOptions = Readonly<
  Required<Omit<SimulatorOptions, 'profile' | 'faults' | 'rateLimit'>> & {
    profile: DataProfile | undefined;
    faults: FaultConfig;
    rateLimit: Required<RateLimitConfig> | undefined;
  }
>;

function int(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

/** Resolves defaults and validates; throws RangeError naming the bad option. */
export function compileOptions(o: SimulatorOptions = {}): CompiledOptions {
  const faults: FaultConfig = { ...o.faults };
  if (o.latencyMs !== undefined) faults.latencyMs = o.latencyMs;
  if (o.faultRate !== undefined) faults.faultRate = o.faultRate;
  checkFaultConfig(faults);
  const maxPageSize = int('maxPageSize', o.maxPageSize ?? 1000, 1, 1_000_000);
  const compiled: CompiledOptions = {
    seed: int('seed', o.seed ?? 1, 0, 2 ** 32 - 1),
    companies: int('companies', o.companies ?? 1, 0, 10_000),
    jobsPerCompany: int('jobsPerCompany', o.jobsPerCompany ?? 1, 0, 10_000),
    itemsPerJob: int('itemsPerJob', o.itemsPerJob ?? 100, 0, 100_000_000),
    vendorBasedBookkeeping: o.vendorBasedBookkeeping ?? false,
    profile: o.profile,
    companiesWithoutContraAccounts: [...(o.companiesWithoutContraAccounts ?? [])],
    latencyMs: faults.latencyMs ?? 0,
    faultRate: faults.faultRate ?? 0,
    faults,
    rateLimit: o.rateLimit === undefined ? undefined : checkRateLimit(o.rateLimit),
    maxPageSize,
    defaultPageSize: Math.min(int('defaultPageSize', o.defaultPageSize ?? 100, 1, 1_000_000), maxPageSize),
    expiryMs: int('expiryMs', o.expiryMs ?? 3_600_000, 0),
    clock: o.clock ?? systemClock,
    port: int('port', o.port ?? 0, 0, 65535),
    host: o.host ?? '127.0.0.1',
    oauthClients: [...(o.oauthClients ?? [])],
    accessTokenTtlMs: int('accessTokenTtlMs', o.accessTokenTtlMs ?? 3_600_000, 1),
    refreshTokenTtlMs: int('refreshTokenTtlMs', o.refreshTokenTtlMs ?? 30 * 24 * 3_600_000, 1),
    historyLimit: int('historyLimit', o.historyLimit ?? 1_000_000, 0),
    requestLogSize: int('requestLogSize', o.requestLogSize ?? 10_000, 0),
    webhookDuplicates: int('webhookDuplicates', o.webhookDuplicates ?? 0, 0, 100),
    webhookDelayMs: int('webhookDelayMs', o.webhookDelayMs ?? 0, 0),
    webhookRetryDelaysMs: (o.webhookRetryDelaysMs ?? [100, 1000, 5000]).map((d) =>
      int('webhookRetryDelaysMs[]', d, 0),
    ),
    webhookTimeoutMs: int('webhookTimeoutMs', o.webhookTimeoutMs ?? 5000, 1),
    fetch: o.fetch ?? globalThis.fetch,
    sweepIntervalMs: int('sweepIntervalMs', o.sweepIntervalMs ?? 1000, 1),
    maxBodyBytes: int('maxBodyBytes', o.maxBodyBytes ?? 64 * 1024 * 1024, 1),
    onError: o.onError ?? ((err: unknown) => console.error('pleo-export simulator:', err)),
  };
  return Object.freeze(compiled);
}
