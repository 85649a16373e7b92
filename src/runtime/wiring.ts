/**
 * The wiring: builds the object graph from a compiled configuration — the store, and per company a
 * Pleo client, an accounting adapter and an engine. Both ways of running (`in-process.ts`,
 * `scaled-out.ts`) start here, so they share one wiring.
 */
import { join } from 'node:path';

import { mapExportItem, type CompiledAccountingConfig } from '../accounting/index.js';
import {
  adapterKeyValue,
  requireAdapter,
  type AccountingAdapter,
  type AdapterDeps,
  type AdapterDescriptor,
} from '../adapters/index.js';
import {
  createPleoClient,
  OAuthTokenProvider,
  type OAuthTokens,
  type PleoClient,
  type PleoClientOptions,
  type RequestEvent,
  type TokenRefreshEvent,
} from '../client/index.js';
import type { CompiledCompany, CompiledConfig } from '../config/index.js';
import {
  createEngine,
  type Engine,
  type EngineEvent,
  type EngineLogger,
  type EngineStep,
} from '../engine/index.js';
import { ConfigError } from '../errors/index.js';
import { createPostgresStore, createSqliteStore, withEncryptedValues, type Store } from '../store/index.js';
import { ensurePrivateDir, ensurePrivateFile, type WarnLogger } from './private-files.js';

export interface RuntimeHooks {
  logger?: EngineLogger;
  onEvent?: (companyId: string, event: EngineEvent) => void;
  onRequest?: (companyId: string, event: RequestEvent) => void;
  onStep?: (step: EngineStep) => void;
  /** The engine's lease owner name. @default `${hostname}:${pid}` */
  owner?: string;
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** The fetch accounting adapters use (tests wrap it). @default globalThis.fetch */
  adapterFetch?: typeof fetch;
  /** Clock handed to adapters. @default Date.now */
  now?: () => number;
  /** The engine's waits between retries (tests pass one that returns at once). @default a real timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface OpenStoreOptions {
  /** Told about file modes tightened on open and values migrated to their encrypted form. */
  logger?: WarnLogger & { info(obj: object, msg?: string): void };
  /** The key of {@link withEncryptedValues}; undefined: key-value records are kept in clear. */
  secretsKey?: Buffer | undefined;
}

const SILENT: WarnLogger & { info(obj: object, msg?: string): void } = { warn: () => {}, info: () => {} };

/**
 * The embedded store of a data directory: `<dataDir>/state.db`. The folder is kept 0700 and the
 * database (with its `-wal` and `-shm` files) 0600 — created so, tightened with a warning when
 * found looser — and its key-value records are encrypted when a secrets key is given.
 */
export function openEmbeddedStore(dataDir: string, options: OpenStoreOptions = {}): Store {
  const logger = options.logger ?? SILENT;
  ensurePrivateDir(dataDir, logger);
  const path = join(dataDir, 'state.db');
  ensurePrivateFile(path, logger, true);
  for (const suffix of ['-wal', '-shm']) ensurePrivateFile(`${path}${suffix}`, logger);
  return protectValues(createSqliteStore({ path }), options);
}

function protectValues(store: Store, options: OpenStoreOptions): Store {
  const logger = options.logger ?? SILENT;
  return withEncryptedValues(store, {
    key: options.secretsKey,
    onMigrated: (name) => logger.info({ key: name }, 'stored value encrypted with the secrets key'),
  });
}

/**
 * The store of the configured mode — PostgreSQL when `postgres.url` is set, else SQLite in
 * `dataDir` — with the key-value records encrypted when `secrets` configures a key, and every
 * file a secret is read from checked to be private.
 */
export function openConfiguredStore(
  config: CompiledConfig,
  options: {
    logger?: WarnLogger & { info(obj: object, msg?: string): void };
    poolMax?: number;
    onPoolError?: (error: Error) => void;
  } = {},
): Store {
  const logger = options.logger ?? SILENT;
  for (const file of config.secrets.files) ensurePrivateFile(file, logger);
  const protect = { logger, secretsKey: config.secrets.key };
  if (config.postgres.url === undefined) return openEmbeddedStore(config.dataDir, protect);
  return protectValues(
    openPostgresStore(config, {
      ...(options.poolMax === undefined ? {} : { poolMax: options.poolMax }),
      ...(options.onPoolError ? { onPoolError: options.onPoolError } : {}),
    }),
    protect,
  );
}

const SILENT_ENGINE: EngineLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A worker paused inside a store transaction (SIGSTOP, a frozen VM) holds its job's row lock, and
 * the worker taking over waits on that lock. PostgreSQL ends a session idle in a transaction after
 * this long, which releases the lock; the paused worker's transaction fails and its fence is stale
 * when it wakes. Store transactions never wait on anything outside, so 30 s is far beyond any
 * legitimate pause between two statements. A URL that sets `options` itself is left alone.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;

function withIdleInTransactionTimeout(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.searchParams.has('options')) return connectionString;
    url.searchParams.set(
      'options',
      `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    );
    return url.toString();
  } catch {
    return connectionString; // not a URL (a libpq key=value string): pass it through
  }
}

/**
 * The scaled-out mode's shared store (`config.postgres.url` must be set), as is: use
 * {@link openConfiguredStore} for one with the secrets protection.
 */
export function openPostgresStore(
  config: CompiledConfig,
  options: { poolMax?: number; onPoolError?: (error: Error) => void } = {},
): Store {
  const url = config.postgres.url;
  if (url === undefined) throw new ConfigError('postgres.url is not set (--postgres URL)');
  return createPostgresStore({
    connectionString: withIdleInTransactionTimeout(url),
    schema: config.postgres.schema,
    ...(options.poolMax === undefined ? {} : { pool: { max: options.poolMax } }),
    ...(options.onPoolError ? { onPoolError: options.onPoolError } : {}),
  });
}

export function oauthKey(companyId: string): string {
  return `oauth:${companyId}`;
}

export async function loadTokens(store: Store, companyId: string): Promise<OAuthTokens | null> {
  const text = await store.getValue(oauthKey(companyId));
  return text === null ? null : (JSON.parse(text) as OAuthTokens);
}

export async function saveTokens(store: Store, companyId: string, tokens: OAuthTokens | null): Promise<void> {
  await store.setValue(oauthKey(companyId), tokens === null ? null : JSON.stringify(tokens));
}

/** Client options for a company: endpoint, pacing, retries and its credentials (OAuth tokens from the store). */
export async function clientOptions(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
  hooks: RuntimeHooks = {},
): Promise<PleoClientOptions> {
  const base = {
    baseUrl: config.pleo.url,
    companyId: company.id,
    timeoutMs: config.pleo.timeoutMs,
    pageSize: config.pleo.pageSize,
    retry: { maxAttempts: config.pleo.maxAttempts },
    maxResponseBytes: config.pleo.maxResponseBytes,
    downloads: {
      ...(company.accounting.attachments.allowedHosts === undefined
        ? {}
        : { allowedHosts: company.accounting.attachments.allowedHosts }),
      allowInsecureHosts: company.accounting.attachments.allowInsecureHosts ?? [],
    },
    rateLimit: {
      maxConcurrency: config.pleo.maxConcurrentRequests,
      ...(config.pleo.requestsPerSecond === undefined
        ? {}
        : { requestsPerSecond: config.pleo.requestsPerSecond, burst: config.pleo.requestsPerSecond }),
    },
    ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
    ...(hooks.onRequest ? { onRequest: (e: RequestEvent) => hooks.onRequest?.(company.id, e) } : {}),
  };
  const auth = company.auth;
  switch (auth.kind) {
    case 'apiKey':
      return { ...base, auth: { kind: 'apiKey', apiKey: auth.apiKey } };
    case 'oauth': {
      const tokens = await loadTokens(store, company.id);
      if (tokens === null) {
        throw new ConfigError(
          `Company ${company.name} uses OAuth but is not connected yet: run \`pleo-export connect --company ${company.id}\`.`,
        );
      }
      const provider = new OAuthTokenProvider({
        clientId: auth.clientId,
        clientSecret: auth.clientSecret,
        tokenUrl: auth.tokenUrl,
        tokens,
        persist: (next) => saveTokens(store, company.id, next),
        onReauthorizationRequired: async () => {
          // Pleo's rule: wipe the tokens, keep the configuration, ask the user to re-authorise.
          await saveTokens(store, company.id, null);
          hooks.logger?.error(
            { companyId: company.id },
            'OAuth refresh token rejected: run `pleo-export connect` again',
          );
        },
        onRefresh: (event: TokenRefreshEvent) =>
          hooks.logger?.info({ companyId: company.id, ...event }, 'OAuth token refresh'),
        ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
      });
      return { ...base, auth: { kind: 'oauth', tokens: provider } };
    }
    case 'none':
      throw new ConfigError(
        `Company ${company.name} has no credentials: set apiKey, apiKeyEnv or apiKeyFile (or --api-key / PLEO_API_KEY), or oauth.`,
      );
  }
}

export async function createClient(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
  hooks: RuntimeHooks = {},
): Promise<PleoClient> {
  return createPleoClient(await clientOptions(config, company, store, hooks));
}

/** The registry's descriptor of the company's adapter type. */
export function adapterDescriptor(company: CompiledCompany): AdapterDescriptor {
  return requireAdapter(company.adapter.type);
}

/**
 * What a company's adapter gets from the runtime: its key-value records in the engine's store
 * (namespaced `adapter:<type>:<company>:`), the logger, fetch, the clock and the chart's names.
 */
export function adapterDeps(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
  hooks: RuntimeHooks = {},
): AdapterDeps {
  const accountNames = company.accounting.accountNames;
  return {
    companyId: company.id,
    dataDir: config.dataDir,
    kv: adapterKeyValue(store, company.adapter.type, company.id),
    logger: hooks.logger ?? SILENT_ENGINE,
    fetch: hooks.adapterFetch ?? globalThis.fetch,
    now: hooks.now ?? Date.now,
    ...(accountNames.size > 0 ? { accountNames } : {}),
  };
}

/** Creates the company's accounting adapter through the registry. */
export function createAdapter(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
  hooks: RuntimeHooks = {},
): Promise<AccountingAdapter> {
  return adapterDescriptor(company).create(company.adapter, adapterDeps(config, company, store, hooks));
}

export interface CompanyRuntime {
  readonly company: CompiledCompany;
  readonly client: PleoClient;
  readonly adapter: AccountingAdapter;
  readonly engine: Engine;
  close(): Promise<void>;
}

export async function createCompanyRuntime(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
  hooks: RuntimeHooks = {},
): Promise<CompanyRuntime> {
  const client = await createClient(config, company, store, hooks);
  const adapter = await createAdapter(config, company, store, hooks);
  const accounting: CompiledAccountingConfig = company.accounting;
  const engine = createEngine({
    store,
    client,
    adapter,
    mapItem: (item, ctx) => mapExportItem(item, accounting, ctx),
    attachmentsDir: join(config.dataDir, 'receipts'),
    receiptPolicy: accounting,
    concurrency: config.engine.concurrency,
    downloadConcurrency: config.engine.downloadConcurrency,
    keepAliveMs: config.engine.keepAliveMs,
    pageSize: config.pleo.pageSize,
    ...(hooks.logger ? { logger: hooks.logger } : {}),
    ...(hooks.onEvent ? { onEvent: (e: EngineEvent) => hooks.onEvent?.(company.id, e) } : {}),
    ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
    ...(hooks.owner === undefined ? {} : { owner: hooks.owner }),
    ...(hooks.sleep ? { sleep: hooks.sleep } : {}),
  });
  return {
    company,
    client,
    adapter,
    engine,
    close: () => adapter.close(),
  };
}
