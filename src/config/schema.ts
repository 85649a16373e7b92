/**
 * The configuration file (YAML or JSON), validated with one schema. Unknown keys are rejected;
 * every error names the key, the value and what is expected (see `describeIssues`).
 *
 * Secrets are never required in the file: each secret has three spellings — inline (`apiKey`),
 * from the environment (`apiKeyEnv: NAME`) or from a file (`apiKeyFile: PATH`, e.g. a mounted
 * Kubernetes/systemd credential). Inline secrets are masked by `config --print`.
 *
 * Settings that a part also takes as options are defined once, by that part, with their limits
 * and defaults, and composed here (as the accounting and adapter blocks are): the `pleo` block
 * from the client's `clientSettings`, `engine` from `engineSettings`, the queue's settings of
 * `postgres` from `queueSettings`, and both schema names checked with the store's
 * `SCHEMA_NAME_PATTERN`. Number errors read "expected a number ≤ 1000" and the like (see
 * `numberIssueMessage` in load.ts).
 */
import { z } from 'zod';

import { accountingConfigSchema } from '../accounting/index.js';
import { adapterBlockSchema } from '../adapters/index.js';
import { clientSettings, DEFAULT_BASE_URL } from '../client/index.js';
import { engineSettings } from '../engine/index.js';
import { queueSettings } from '../queue/index.js';
import { SCHEMA_NAME_PATTERN } from '../store/index.js';

const uuid = z
  .string({ error: 'expected a uuid' })
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, { error: 'expected a uuid' });
const httpUrl = z
  .string({ error: 'expected a URL' })
  .regex(/^https?:\/\/[^\s/]+/, { error: 'expected an http(s) URL like https://external.pleo.io' });
const positiveInt = (max: number) => z.number().int().min(1).max(max);
const schemaName = z
  .string()
  .regex(SCHEMA_NAME_PATTERN, { error: 'expected a lower-case identifier ([a-z_][a-z0-9_]*)' });
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });

const secret = <K extends string>(key: K) =>
  ({
    [key]: z.string().min(1).optional(),
    [`${key}Env`]: envName.optional(),
    [`${key}File`]: z.string().min(1).optional(),
  }) as { [P in K | `${K}Env` | `${K}File`]: z.ZodOptional<z.ZodString> };

const oauthSchema = z
  .object({
    clientId: z.string().min(1),
    ...secret('clientSecret'),
    /** @default 'https://auth.pleo.io/oauth/authorize' */
    authorizeUrl: httpUrl.default('https://auth.pleo.io/oauth/authorize'),
    /** @default 'https://auth.pleo.io/oauth/token' */
    tokenUrl: httpUrl.default('https://auth.pleo.io/oauth/token'),
    /** Must match the URI registered with Pleo exactly. */
    redirectUri: httpUrl,
    /** @default ['export-jobs:read', 'export-jobs:write', 'export-items:read'] */
    scopes: z
      .array(z.string().min(1))
      .default(['export-jobs:read', 'export-jobs:write', 'export-items:read']),
  })
  .strict();

/**
 * The `adapter` block: the union of the registered adapters' schemas, discriminated by `type`
 * (see `adapters/registry.ts`; each adapter's fields are documented in its folder), resolved at
 * parse time so an adapter registered after this module loaded (an embedding program, a test) is
 * accepted too.
 */
export const adapterSchema = adapterBlockSchema();

export const companySchema = z
  .object({
    /** Pleo company id (uuid). */
    id: uuid,
    /** A label for logs and tables. */
    name: z.string().min(1).optional(),
    ...secret('apiKey'),
    oauth: oauthSchema.optional(),
    /** @default { type: hledger, journal: <dataDir>/<company id>.journal } */
    adapter: adapterSchema.optional(),
    accounting: accountingConfigSchema.prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    /** Where the local state (SQLite) and receipts live. @default './.pleo-export' */
    dataDir: z.string().min(1).default('./.pleo-export'),
    pleo: z
      .object({
        /** @default 'https://external.pleo.io' */
        url: httpUrl.default(DEFAULT_BASE_URL),
        pageSize: clientSettings.pageSize,
        timeoutMs: clientSettings.timeoutMs,
        /**
         * A ceiling on requests per second per company, on top of the adaptive pacing (AIMD on
         * 429/5xx), 1–10,000. Unset (the default): no ceiling, Pleo documents no limit.
         */
        requestsPerSecond: clientSettings.requestsPerSecond,
        /** Pleo API requests in flight per company. */
        maxConcurrentRequests: clientSettings.maxConcurrency,
        /** Total attempts per Pleo call. @default 6 */
        maxAttempts: positiveInt(20).default(6),
        maxResponseBytes: clientSettings.maxResponseBytes,
      })
      .strict()
      .prefault({}),
    companies: z.array(companySchema).default([]),
    engine: z.object(engineSettings).strict().prefault({}),
    server: z
      .object({
        /** @default '127.0.0.1' */
        host: z.string().min(1).default('127.0.0.1'),
        /** @default 8080 */
        port: z.number().int().min(0).max(65535).default(8080),
        /** Public base URL Pleo calls (webhooks, OAuth callback), when behind a proxy. */
        publicUrl: httpUrl.optional(),
        /** Standard Webhooks secret (`whsec_…`) of the Pleo subscription. */
        ...secret('webhookSecret'),
        /** Token required by POST /trigger (Authorization: Bearer). */
        ...secret('triggerToken'),
        /** Polling period per company, in ms (jittered ±20 %). @default 300000 */
        pollIntervalMs: positiveInt(24 * 60 * 60 * 1000).default(5 * 60 * 1000),
        /** Companies processed at once. @default 4 */
        maxConcurrentCompanies: positiveInt(1000).default(4),
        /** On SIGTERM, how long in-flight work may take before it is aborted, in ms. @default 30000 */
        shutdownGraceMs: positiveInt(10 * 60 * 1000).default(30_000),
        /** Largest accepted webhook body, in bytes. @default 65536 */
        maxWebhookBytes: positiveInt(10 * 1024 * 1024).default(64 * 1024),
        /** The web console under /console (see README "The web console"). */
        console: z
          .object({
            /** @default true */
            enabled: z.boolean().default(true),
            /**
             * Token to sign in (login form or `Authorization: Bearer`). Required when `host` is not a
             * loopback address; without one the console is then off.
             */
            ...secret('token'),
            /** How often live pages are refreshed from the store, in ms. @default 1000 */
            refreshMs: z.number().int().min(50).max(60_000).default(1000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** The audit trail of every item (what `show` and the console print). */
    audit: z
      .object({
        /** Audit events older than this are pruned (hourly, by `serve`). @default 90 */
        retentionDays: positiveInt(36_500).default(90),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        /** @default 'info' */
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    /**
     * Encryption at rest of the store's key-value records (OAuth tokens, webhook secrets): the key
     * of AES-256-GCM, 32 bytes as 64 hex digits or base64 (`openssl rand -base64 32`), read from a
     * file or an environment variable (never inline). Neither set: records are kept in clear,
     * protected by file modes only. @default {} (no encryption)
     */
    secrets: z
      .object({
        /** File holding the key (e.g. a mounted systemd/Kubernetes credential). */
        keyFile: z.string().min(1).optional(),
        /** Environment variable holding the key. */
        keyEnv: envName.optional(),
      })
      .strict()
      .refine((s) => s.keyFile === undefined || s.keyEnv === undefined, {
        error: 'set keyFile or keyEnv, not both',
      })
      .prefault({}),
    /** The scaled-out mode: a shared PostgreSQL store and pg-boss queue (`serve`/`worker --postgres`). */
    postgres: z
      .object({
        /** libpq URL, e.g. postgres://user:pass@host:5432/db; setting it switches to the scaled-out mode. */
        ...secret('url'),
        /** Schema of the store's tables. @default 'pleo_export' */
        schema: schemaName.default('pleo_export'),
        queueSchema: queueSettings.schema,
        heartbeatSeconds: queueSettings.heartbeatSeconds,
        superviseIntervalSeconds: queueSettings.superviseIntervalSeconds,
        pollIntervalMs: queueSettings.pollIntervalMs,
        retryDelayMaxSeconds: queueSettings.retryDelayMaxSeconds,
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The file as written. */
export type ConfigInput = z.input<typeof configSchema>;
/** The file after defaults. */
export type ParsedConfig = z.output<typeof configSchema>;
export type CompanyInput = z.input<typeof companySchema>;
export type ParsedCompany = z.output<typeof companySchema>;
