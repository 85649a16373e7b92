/**
 * Loading the configuration: file → environment → flags (flags win), validated by one schema and
 * compiled into a frozen object with secrets resolved. Nothing happens on import; `cli/` calls
 * `loadConfig` once.
 *
 * The environment and flags describe one company (`PLEO_API_URL`, `PLEO_API_KEY`,
 * `PLEO_COMPANY_ID`; `--pleo-url`, `--api-key`, `--company`, `--adapter`, `--journal`, …). When
 * they name a company that the file also lists, they override that entry; otherwise they add it.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { z } from 'zod';
import YAML from 'yaml';

import { compileAccountingConfig, type CompiledAccountingConfig } from '../accounting/index.js';
import { ConfigError } from '../errors/index.js';
import { configSchema, type ParsedCompany, type ParsedConfig } from './schema.js';

/** Settings from flags or environment, all optional. */
export interface Overrides {
  pleoUrl?: string;
  apiKey?: string;
  companyId?: string;
  adapter?: 'hledger' | 'http';
  journal?: string;
  httpUrl?: string;
  dataDir?: string;
  concurrency?: number;
  logLevel?: string;
  /** The scaled-out mode's database (`--postgres`, `$PLEO_EXPORT_POSTGRES_URL`). */
  postgresUrl?: string;
}

export interface CompiledCompany {
  readonly id: string;
  readonly name: string;
  readonly auth:
    | { readonly kind: 'apiKey'; readonly apiKey: string }
    | {
        readonly kind: 'oauth';
        readonly clientId: string;
        readonly clientSecret: string;
        readonly authorizeUrl: string;
        readonly tokenUrl: string;
        readonly redirectUri: string;
        readonly scopes: readonly string[];
      }
    | { readonly kind: 'none' };
  readonly adapter:
    | { readonly type: 'hledger'; readonly journal: string }
    | {
        readonly type: 'http';
        readonly url: string;
        readonly token: string | undefined;
        readonly timeoutMs: number;
      };
  readonly accounting: CompiledAccountingConfig;
}

export interface CompiledConfig {
  readonly source: string | null;
  readonly dataDir: string;
  readonly pleo: ParsedConfig['pleo'];
  readonly engine: ParsedConfig['engine'];
  readonly server: Omit<
    ParsedConfig['server'],
    `${'webhookSecret' | 'triggerToken'}${'' | 'Env' | 'File'}` | 'console'
  > & {
    readonly webhookSecret: string | undefined;
    readonly triggerToken: string | undefined;
    readonly console: {
      readonly enabled: boolean;
      readonly token: string | undefined;
      readonly refreshMs: number;
    };
  };
  readonly audit: ParsedConfig['audit'];
  readonly log: ParsedConfig['log'];
  /** `url` undefined: the embedded mode (SQLite in `dataDir`, in-process scheduling). */
  readonly postgres: Omit<ParsedConfig['postgres'], `url${'' | 'Env' | 'File'}`> & {
    readonly url: string | undefined;
  };
  readonly companies: readonly CompiledCompany[];
  /** The parsed file with secrets masked, for `config --print`. */
  readonly printable: unknown;
}

export interface LoadOptions {
  /** Path of the configuration file; none → defaults + overrides only. */
  path?: string;
  /** The configuration as a value instead of a file (programmatic use, the demo, tests). */
  raw?: unknown;
  overrides?: Overrides;
  env?: NodeJS.ProcessEnv;
  /** Base for relative paths in the file. @default the file's folder, or cwd */
  cwd?: string;
}

export function loadConfig(options: LoadOptions = {}): CompiledConfig {
  const env = options.env ?? process.env;
  let raw: unknown = options.raw ?? {};
  let source: string | null = null;
  if (options.path !== undefined) {
    source = resolve(options.cwd ?? process.cwd(), options.path);
    raw = readConfigFile(source);
  }
  const merged = applyOverrides(raw, { ...fromEnv(env), ...stripUndefined(options.overrides ?? {}) });
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration${source ? ` in ${source}` : ''}:\n${describeIssues(parsed.error, merged)}`,
    );
  }
  return compile(parsed.data, source, env);
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `Cannot read the configuration file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  try {
    const value: unknown = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text, { strict: true });
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(
        `The configuration file ${path} must contain a mapping (key: value), not ${typeof value}`,
      );
    }
    return value;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `The configuration file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0] ?? ''}`,
    );
  }
}

function fromEnv(env: NodeJS.ProcessEnv): Overrides {
  const out: Overrides = {};
  if (env['PLEO_API_URL']) out.pleoUrl = env['PLEO_API_URL'];
  if (env['PLEO_API_KEY']) out.apiKey = env['PLEO_API_KEY'];
  if (env['PLEO_COMPANY_ID']) out.companyId = env['PLEO_COMPANY_ID'];
  if (env['PLEO_EXPORT_POSTGRES_URL']) out.postgresUrl = env['PLEO_EXPORT_POSTGRES_URL'];
  return out;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Json = Record<string, unknown>;
function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...(value as Json) } : {};
}

function applyOverrides(raw: unknown, o: Overrides): unknown {
  const root = obj(raw);
  if (o.dataDir !== undefined) root['dataDir'] = o.dataDir;
  if (o.pleoUrl !== undefined) root['pleo'] = { ...obj(root['pleo']), url: o.pleoUrl };
  if (o.concurrency !== undefined) root['engine'] = { ...obj(root['engine']), concurrency: o.concurrency };
  if (o.logLevel !== undefined) root['log'] = { ...obj(root['log']), level: o.logLevel };
  if (o.postgresUrl !== undefined) {
    const { urlEnv: _env, urlFile: _file, ...postgres } = obj(root['postgres']);
    root['postgres'] = { ...postgres, url: o.postgresUrl };
  }
  const companyFlags =
    o.companyId !== undefined ||
    o.apiKey !== undefined ||
    o.adapter !== undefined ||
    o.journal !== undefined ||
    o.httpUrl !== undefined;
  if (!companyFlags) return root;
  const companies = Array.isArray(root['companies']) ? [...(root['companies'] as unknown[])] : [];
  let index =
    o.companyId === undefined
      ? companies.length === 1
        ? 0
        : -1
      : companies.findIndex((c) => obj(c)['id'] === o.companyId);
  if (index === -1) {
    companies.push({});
    index = companies.length - 1;
  }
  const company = obj(companies[index]);
  if (o.companyId !== undefined) company['id'] = o.companyId;
  if (o.apiKey !== undefined) {
    company['apiKey'] = o.apiKey;
    delete company['apiKeyEnv'];
    delete company['apiKeyFile'];
  }
  if (o.adapter !== undefined || o.journal !== undefined || o.httpUrl !== undefined) {
    const adapter = obj(company['adapter']);
    const type =
      o.adapter ?? (adapter['type'] as string | undefined) ?? (o.httpUrl !== undefined ? 'http' : 'hledger');
    const next: Json = type === adapter['type'] ? adapter : {};
    next['type'] = type;
    if (o.journal !== undefined) next['journal'] = o.journal;
    if (o.httpUrl !== undefined) next['url'] = o.httpUrl;
    company['adapter'] = next;
  }
  companies[index] = company;
  root['companies'] = companies;
  return root;
}

function readSecret(
  label: string,
  inline: string | undefined,
  envName: string | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  base: string,
): string | undefined {
  if (inline !== undefined) return inline;
  if (envName !== undefined) {
    const value = env[envName];
    if (value === undefined || value === '')
      throw new ConfigError(`${label}Env: the environment variable ${envName} is not set`);
    return value;
  }
  if (file !== undefined) {
    try {
      return readFileSync(resolve(base, file), 'utf8').trim();
    } catch (error) {
      throw new ConfigError(
        `${label}File: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  return undefined;
}

function compile(config: ParsedConfig, source: string | null, env: NodeJS.ProcessEnv): CompiledConfig {
  const base = source ? resolve(source, '..') : process.cwd();
  const ids = new Set<string>();
  const companies = config.companies.map((company, index) => {
    const key = `companies[${index}]`;
    if (ids.has(company.id.toLowerCase()))
      throw new ConfigError(`${key}.id: got "${company.id}": each company may appear once`);
    ids.add(company.id.toLowerCase());
    return compileCompany(company, key, env, base, resolve(base, config.dataDir));
  });
  const {
    webhookSecret,
    webhookSecretEnv,
    webhookSecretFile,
    triggerToken,
    triggerTokenEnv,
    triggerTokenFile,
    console: consoleConfig,
    ...server
  } = config.server;
  return Object.freeze({
    source,
    dataDir: resolve(base, config.dataDir),
    pleo: Object.freeze(config.pleo),
    engine: Object.freeze(config.engine),
    server: Object.freeze({
      ...server,
      webhookSecret: readSecret(
        'server.webhookSecret',
        webhookSecret,
        webhookSecretEnv,
        webhookSecretFile,
        env,
        base,
      ),
      triggerToken: readSecret(
        'server.triggerToken',
        triggerToken,
        triggerTokenEnv,
        triggerTokenFile,
        env,
        base,
      ),
      console: Object.freeze({
        enabled: consoleConfig.enabled,
        refreshMs: consoleConfig.refreshMs,
        token: readSecret(
          'server.console.token',
          consoleConfig.token,
          consoleConfig.tokenEnv,
          consoleConfig.tokenFile,
          env,
          base,
        ),
      }),
    }),
    audit: Object.freeze(config.audit),
    log: Object.freeze(config.log),
    postgres: compilePostgres(config.postgres, env, base),
    companies: Object.freeze(companies),
    printable: maskPostgresUrl(mask(config)),
  });
}

function compileCompany(
  company: ParsedCompany,
  key: string,
  env: NodeJS.ProcessEnv,
  base: string,
  dataDir: string,
): CompiledCompany {
  const apiKey = readSecret(
    `${key}.apiKey`,
    company.apiKey,
    company.apiKeyEnv,
    company.apiKeyFile,
    env,
    base,
  );
  let auth: CompiledCompany['auth'] = { kind: 'none' };
  if (apiKey !== undefined) auth = { kind: 'apiKey', apiKey };
  else if (company.oauth) {
    const o = company.oauth;
    const clientSecret = readSecret(
      `${key}.oauth.clientSecret`,
      o.clientSecret,
      o.clientSecretEnv,
      o.clientSecretFile,
      env,
      base,
    );
    if (clientSecret === undefined)
      throw new ConfigError(`${key}.oauth: set clientSecret, clientSecretEnv or clientSecretFile`);
    auth = {
      kind: 'oauth',
      clientId: o.clientId,
      clientSecret,
      authorizeUrl: o.authorizeUrl,
      tokenUrl: o.tokenUrl,
      redirectUri: o.redirectUri,
      scopes: Object.freeze([...o.scopes]),
    };
  }
  const a = company.adapter ?? {
    type: 'hledger' as const,
    journal: join(dataDir, `${company.id.toLowerCase()}.journal`),
  };
  const adapter: CompiledCompany['adapter'] =
    a.type === 'hledger'
      ? { type: 'hledger', journal: resolve(base, a.journal) }
      : {
          type: 'http',
          url: a.url,
          token: readSecret(`${key}.adapter.token`, a.token, a.tokenEnv, a.tokenFile, env, base),
          timeoutMs: a.timeoutMs,
        };
  return Object.freeze({
    id: company.id.toLowerCase(),
    name: company.name ?? company.id,
    auth,
    adapter,
    accounting: compileAccountingConfig(company.accounting, `${key}.accounting`),
  });
}

function compilePostgres(
  postgres: ParsedConfig['postgres'],
  env: NodeJS.ProcessEnv,
  base: string,
): CompiledConfig['postgres'] {
  const { url, urlEnv, urlFile, ...rest } = postgres;
  return Object.freeze({ ...rest, url: readSecret('postgres.url', url, urlEnv, urlFile, env, base) });
}

/** A PostgreSQL URL may carry a password: `config --print` shows it masked. */
function maskPostgresUrl(printable: unknown): unknown {
  const root = obj(printable);
  const postgres = obj(root['postgres']);
  if (typeof postgres['url'] !== 'string') return printable;
  return {
    ...root,
    postgres: { ...postgres, url: postgres['url'].replace(/(\/\/[^:/@]+:)[^@]*@/, '$1****@') },
  };
}

const SECRET_KEYS = /^(apiKey|clientSecret|token|webhookSecret|triggerToken)$/;
function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEYS.test(k) && typeof v === 'string' ? maskSecret(v) : mask(v),
      ]),
    );
  }
  return value;
}
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '****' : `${secret.slice(0, 4)}…${'*'.repeat(4)}`;
}

/** One line per problem: `key.path: got VALUE: what is expected`. */
export function describeIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const key = formatPath(path);
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `  - ${formatPath([...path, k])}: unknown key`).join('\n');
      }
      const value = valueAt(input, path);
      const got =
        value === undefined ? 'nothing' : (JSON.stringify(value) ?? 'a value that is not JSON').slice(0, 80);
      return `  - ${key || '(root)'}: got ${got}: ${issue.message}`;
    })
    .join('\n');
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let cursor: unknown = input;
  for (const part of path) {
    if (typeof cursor !== 'object' || cursor === null) return undefined;
    cursor = (cursor as Record<string | number, unknown>)[part];
  }
  return cursor;
}
