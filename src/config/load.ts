/**
 * Loading the configuration: file → environment → flags (flags win), validated by one schema and
 * compiled into a frozen object with secrets resolved. Nothing happens on import; `cli/` calls
 * `loadConfig` once.
 *
 * The environment and flags describe one company (`PLEO_API_URL`, `PLEO_API_KEY`,
 * `PLEO_COMPANY_ID`; `--pleo-url`, `--api-key`, `--company`, `--adapter`, `--journal`, …). When
 * they name a company that the file also lists, they override that entry; otherwise they add it.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import type { z } from 'zod';
import YAML from 'yaml';

import { compileAccountingConfig, type CompiledAccountingConfig } from '../accounting/index.js';
import { adapterFieldKinds, type AdapterConfig } from '../adapters/index.js';
import { redact, redactDeep } from '../client/index.js';
import { ConfigError } from '../errors/index.js';
import { parseSecretsKey } from '../store/index.js';
import { configSchema, type ParsedCompany, type ParsedConfig } from './schema.js';

/** Settings from flags or environment, all optional. */
export interface Overrides {
  pleoUrl?: string;
  apiKey?: string;
  companyId?: string;
  /** An adapter type of the registry (`--adapter`). */
  adapter?: string;
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
  /**
   * The adapter block as its descriptor's schema parsed it, with its secrets resolved (inline,
   * whatever the spelling in the file) and its paths absolute: ready for `descriptor.create`.
   */
  readonly adapter: AdapterConfig;
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
  readonly secrets: {
    /** The key that encrypts the store's key-value records at rest; undefined: kept in clear. */
    readonly key: Buffer | undefined;
    /** Every file a secret was read from (`*File` settings), absolute: kept private (0600). */
    readonly files: readonly string[];
  };
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
  const parsed = configSchema.safeParse(merged, { error: numberIssueMessage });
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
  refuseSharedJournals(companies);
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
    secrets: Object.freeze({
      key: compileSecretsKey(config.secrets, env, base),
      files: Object.freeze(secretFiles(config, base)),
    }),
    printable: redactDeep(mask(maskAdapterSecrets(config))),
  });
}

function compileSecretsKey(
  secrets: ParsedConfig['secrets'],
  env: NodeJS.ProcessEnv,
  base: string,
): Buffer | undefined {
  if (secrets.keyEnv !== undefined) {
    const text = env[secrets.keyEnv];
    if (text === undefined || text === '')
      throw new ConfigError(`secrets.keyEnv: the environment variable ${secrets.keyEnv} is not set`);
    return parseSecretsKey(text, `secrets.keyEnv (${secrets.keyEnv})`);
  }
  if (secrets.keyFile !== undefined) {
    const path = resolve(base, secrets.keyFile);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `secrets.keyFile: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    return parseSecretsKey(text, `secrets.keyFile (${path})`);
  }
  return undefined;
}

/** Absolute paths of the files secrets come from: every `<secret>File` setting, wherever it is. */
function secretFiles(config: ParsedConfig, base: string): string[] {
  const out = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (SECRET_FILE_KEYS.test(k) && typeof v === 'string') out.add(resolve(base, v));
        else walk(v);
      }
    }
  };
  walk(config);
  return [...out];
}

/**
 * The file a journal path names, for comparing: symbolic links resolved (of the file, or of its
 * nearest existing folder when the file does not exist yet), and `dev:ino` when the file exists,
 * so a hard link to another company's journal is caught too.
 */
function journalIdentity(path: string): string {
  const rest: string[] = [];
  let dir = path;
  for (;;) {
    try {
      const real = join(realpathSync(dir), ...rest.reverse());
      const stats = statSync(real, { throwIfNoEntry: false });
      return stats?.isFile() ? `${stats.dev}:${stats.ino}` : real;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return path;
      rest.push(basename(dir));
      dir = parent;
    }
  }
}

/**
 * Two companies on one hledger journal is a configuration error (issue 17): their entries would
 * share one file, one sequence of codes and one lock, and each company's books would hold the
 * other's expenses. Paths are compared after resolving relative paths and symbolic links.
 */
function refuseSharedJournals(companies: readonly CompiledCompany[]): void {
  const seen = new Map<string, { index: number; path: string }>();
  companies.forEach((company, index) => {
    const journal = (company.adapter as { journal?: unknown }).journal;
    if (company.adapter.type !== 'hledger' || typeof journal !== 'string') return;
    const path = journal;
    const identity = journalIdentity(path);
    const first = seen.get(identity);
    if (first) {
      throw new ConfigError(
        `companies[${index}].adapter.journal: ${path} is the same file as the journal of companies[${first.index}] (${first.path}). Two companies cannot share one hledger journal: each company's books would hold the other's entries. Give each company its own journal file.`,
      );
    }
    seen.set(identity, { index, path });
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
  const adapter = compileAdapter(a, `${key}.adapter`, env, base);
  return Object.freeze({
    id: company.id.toLowerCase(),
    name: company.name ?? company.id,
    auth,
    adapter,
    accounting: compileAccountingConfig(company.accounting, `${key}.accounting`),
  });
}

/**
 * Resolves what the adapter's schema marked (`secretField`, `pathField`): each secret from its
 * inline, `…Env` or `…File` spelling into the inline key alone, each path against the
 * configuration file's folder. The result still satisfies the adapter's schema.
 */
function compileAdapter(
  adapter: AdapterConfig,
  key: string,
  env: NodeJS.ProcessEnv,
  base: string,
): AdapterConfig {
  const { secrets, paths } = adapterFieldKinds(adapter.type);
  const out: Record<string, unknown> = { ...adapter };
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  for (const name of paths) {
    const value = text(out[name]);
    if (value !== undefined) out[name] = resolve(base, value);
  }
  for (const name of secrets) {
    const value = readSecret(
      `${key}.${name}`,
      text(out[name]),
      text(out[`${name}Env`]),
      text(out[`${name}File`]),
      env,
      base,
    );
    delete out[`${name}Env`];
    delete out[`${name}File`];
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return Object.freeze({ ...out, type: adapter.type });
}

/** Inline adapter secrets (whatever an adapter calls them) are masked by `config --print`. */
function maskAdapterSecrets(config: ParsedConfig): ParsedConfig {
  return {
    ...config,
    companies: config.companies.map((company) => {
      const adapter = company.adapter;
      if (adapter === undefined) return company;
      const masked: Record<string, unknown> = { ...adapter };
      for (const name of adapterFieldKinds(adapter.type).secrets) {
        const value = masked[name];
        if (typeof value === 'string') masked[name] = maskSecret(value);
      }
      return { ...company, adapter: { ...masked, type: adapter.type } };
    }),
  };
}

function compilePostgres(
  postgres: ParsedConfig['postgres'],
  env: NodeJS.ProcessEnv,
  base: string,
): CompiledConfig['postgres'] {
  const { url, urlEnv, urlFile, ...rest } = postgres;
  return Object.freeze({ ...rest, url: readSecret('postgres.url', url, urlEnv, urlFile, env, base) });
}

const SECRET_KEYS = /^(apiKey|clientSecret|token|webhookSecret|triggerToken)$/;
const SECRET_FILE_KEYS = /^(apiKey|clientSecret|token|webhookSecret|triggerToken|url|key)File$/;
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

/**
 * Number problems in the configuration's words, for every field that does not word its own: the
 * settings defined by the client, the engine and the queue carry zod's plain checks.
 */
function numberIssueMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.expected === 'number') return 'expected a number';
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'expected a whole number';
  if (issue.code === 'too_small' && issue.origin === 'number')
    return `expected a number ${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`;
  if (issue.code === 'too_big' && issue.origin === 'number')
    return `expected a number ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
  return undefined;
}

/**
 * One line per problem: `key.path: got VALUE: what is expected`. The value of a secret setting is
 * never repeated (`got a value (hidden)`), and credentials inside any other value (a URL's user
 * information, a `?token=` parameter) are masked.
 */
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
        value === undefined
          ? 'nothing'
          : isSecretPath(path)
            ? 'a value (hidden)'
            : redact((JSON.stringify(value) ?? 'a value that is not JSON').slice(0, 80));
      return `  - ${key || '(root)'}: got ${got}: ${issue.message}`;
    })
    .join('\n');
}

/** A setting holding a secret itself (not the name of its variable or file), or inside one. */
function isSecretPath(path: readonly (string | number)[]): boolean {
  return path.some(
    (part, i) =>
      typeof part === 'string' && (SECRET_KEYS.test(part) || (part === 'url' && path[i - 1] === 'postgres')),
  );
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
