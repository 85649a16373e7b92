/**
 * The `xero` adapter's configuration block, and its compilation into a frozen object with secrets
 * resolved (inline, `…Env: NAME` or `…File: PATH`, as everywhere in pleo-export).
 *
 * @example
 * adapter:
 *   type: xero
 *   clientId: 0A1B…
 *   clientSecretEnv: XERO_CLIENT_SECRET
 *   refreshTokenEnv: XERO_REFRESH_TOKEN   # the seed: used once, then rotated in the store
 *   tenantId: 3f9c…                       # from GET https://api.xero.com/connections
 *   bankAccounts: { EUR: '090', SEK: '091' }
 *   tracking: { dept: Department }
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { ConfigError } from '../../errors/index.js';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });
const httpUrl = z
  .string({ error: 'expected a URL' })
  .regex(/^https?:\/\/[^\s/]+/, { error: 'expected an http(s) URL like https://api.xero.com/api.xro/2.0' });
const uuid = z
  .string({ error: 'expected a uuid' })
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    error: 'expected the Xero tenant id (a uuid, from GET https://api.xero.com/connections)',
  });
const currency = z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 code like EUR' });
/** A Xero account code (Xero allows up to 10 characters). */
const accountCode = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,10}$/, { error: 'expected a Xero account code (1-10 letters/digits)' });
const taxType = z.string().regex(/^[A-Z0-9_]{1,50}$/, { error: 'expected a Xero TaxType like INPUT2' });

const secret = <K extends string>(key: K) =>
  ({
    [key]: z.string().min(1).optional(),
    [`${key}Env`]: envName.optional(),
    [`${key}File`]: z.string().min(1).optional(),
  }) as { [P in K | `${K}Env` | `${K}File`]: z.ZodOptional<z.ZodString> };

export const xeroConfigSchema = z
  .object({
    type: z.literal('xero'),
    /** Client id of your Xero app (developer.xero.com → My Apps). */
    clientId: z.string().min(1),
    ...secret('clientSecret'),
    /**
     * The first refresh token (from the consent flow). Used once when the store holds no tokens, or
     * again when it changes (a reconnect); after that the rotated tokens live in the store.
     */
    ...secret('refreshToken'),
    /** The Xero organisation (tenant) to book into. */
    tenantId: uuid,
    /** The Xero bank account (code) that stands for the Pleo wallet of each currency. */
    bankAccounts: z.record(currency, accountCode).default({}),
    /** Tag group code (or `team` / `user`) → Xero tracking category name. At most two (Xero's limit). */
    tracking: z
      .record(z.string().min(1), z.string().min(1).max(100))
      .refine((t) => Object.keys(t).length <= 2, { error: 'Xero allows at most two tracking categories' })
      .default({}),
    /** Xero TaxType for a Pleo tax code; `default` for taxed lines without a listed code. */
    taxTypes: z.record(z.string().min(1), taxType).default({}),
    /** TaxType for lines without paid tax (and for lines of self-assessed tax). @default 'NONE' */
    noTaxType: taxType.default('NONE'),
    /** Contact for bank transactions whose item names no supplier or vendor. @default 'Pleo' */
    defaultContact: z.string().min(1).max(255).default('Pleo'),
    /** Xero's base currency; read from GET /Organisation when not set. */
    baseCurrency: currency.optional(),
    /** @default 'https://api.xero.com/api.xro/2.0' */
    baseUrl: httpUrl.default('https://api.xero.com/api.xro/2.0'),
    /** @default 'https://identity.xero.com/connect/token' */
    tokenUrl: httpUrl.default('https://identity.xero.com/connect/token'),
    /** @default 'https://api.xero.com/connections' */
    connectionsUrl: httpUrl.default('https://api.xero.com/connections'),
    rateLimit: z
      .object({
        /** Xero: 5 calls in flight per tenant. @default 5 */
        concurrency: z.number().int().min(1).max(5).default(5),
        /** Xero: 60 calls per minute per tenant. @default 60 */
        perMinute: z.number().int().min(1).max(60).default(60),
        /** Attempts per call on 429/5xx/network errors. @default 5 */
        maxAttempts: z.number().int().min(1).max(20).default(5),
        /** Longest wait between attempts (a longer Retry-After stops the run instead). @default 120000 */
        maxDelayMs: z.number().int().min(1).max(3_600_000).default(120_000),
      })
      .strict()
      .default({ concurrency: 5, perMinute: 60, maxAttempts: 5, maxDelayMs: 120_000 }),
    /** Per-request timeout. @default 30000 */
    timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  })
  .strict();

export type XeroConfig = z.input<typeof xeroConfigSchema>;
export type ParsedXeroConfig = z.output<typeof xeroConfigSchema>;

export interface CompiledXeroConfig extends Readonly<
  Omit<
    ParsedXeroConfig,
    | 'clientSecret'
    | 'clientSecretEnv'
    | 'clientSecretFile'
    | 'refreshToken'
    | 'refreshTokenEnv'
    | 'refreshTokenFile'
  >
> {
  readonly clientSecret: string;
  /** The seed refresh token, when configured. */
  readonly refreshToken: string | undefined;
}

function readSecret(
  label: string,
  inline: string | undefined,
  envVar: string | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (inline !== undefined) return inline;
  if (envVar !== undefined) {
    const value = env[envVar];
    if (value === undefined || value === '')
      throw new ConfigError(`adapter.${label}Env: the environment variable ${envVar} is not set`);
    return value.trim();
  }
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(
        `adapter.${label}File: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  return undefined;
}

/** Validates (when given raw input) and resolves secrets; throws `ConfigError` with the key named. */
export function compileXeroConfig(
  input: XeroConfig | ParsedXeroConfig,
  env: NodeJS.ProcessEnv = process.env,
): CompiledXeroConfig {
  const parsed = xeroConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`adapter.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const {
    clientSecret,
    clientSecretEnv,
    clientSecretFile,
    refreshToken,
    refreshTokenEnv,
    refreshTokenFile,
    ...rest
  } = parsed.data;
  const secret = readSecret('clientSecret', clientSecret, clientSecretEnv, clientSecretFile, env);
  if (secret === undefined) {
    throw new ConfigError(
      'adapter.clientSecret: missing: set clientSecret, clientSecretEnv or clientSecretFile (from your app at developer.xero.com → My Apps)',
    );
  }
  const seed = readSecret('refreshToken', refreshToken, refreshTokenEnv, refreshTokenFile, env);
  return Object.freeze({ ...rest, clientSecret: secret, refreshToken: seed });
}
