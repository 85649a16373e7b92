/** Shared plumbing of the commands: the common flags, the configuration, the store, the logger. */
import { existsSync } from 'node:fs';

import { InvalidArgumentError, Option, type Command } from 'commander';
import { pino, type DestinationStream, type Logger } from 'pino';

import { adapterTypes } from '../adapters/index.js';
import { redact, redactDeep } from '../client/index.js';
import { loadConfig, type CompiledConfig, type Overrides } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { openConfiguredStore } from '../runtime/index.js';
import type { Store } from '../store/index.js';
import { terminalText } from './output.js';

export interface CommonOptions {
  config?: string;
  dataDir?: string;
  pleoUrl?: string;
  apiKey?: string;
  company?: string;
  adapter?: string;
  journal?: string;
  httpUrl?: string;
  concurrency?: number;
  logLevel?: string;
  postgres?: string;
}

export function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}, got ${n}`);
    return n;
  };
}

/** The flags every command that reads the configuration accepts (flags win over env and file). */
export function withConfigOptions(command: Command): Command {
  return command
    .option(
      '-c, --config <file>',
      'configuration file (YAML or JSON); default ./pleo-export.yaml if present, or $PLEO_EXPORT_CONFIG',
    )
    .option('--data-dir <dir>', 'where local state and receipts live (default ./.pleo-export)')
    .option('--pleo-url <url>', 'Pleo API base URL ($PLEO_API_URL)')
    .option('--api-key <key>', 'Pleo API key of the company ($PLEO_API_KEY)')
    .option('--company <id>', 'Pleo company id ($PLEO_COMPANY_ID)')
    .addOption(new Option('--adapter <type>', 'accounting system adapter').choices(adapterTypes()))
    .option('--journal <file>', 'hledger journal to write (with --adapter hledger)')
    .option('--http-url <url>', 'ERP endpoint (with --adapter http)')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
    .option(
      '--postgres <url>',
      'scaled-out mode: shared PostgreSQL store and queue (postgres.url, $PLEO_EXPORT_POSTGRES_URL)',
    );
}

export function configFromOptions(
  options: CommonOptions,
  env: NodeJS.ProcessEnv = process.env,
): CompiledConfig {
  const path =
    options.config ??
    env['PLEO_EXPORT_CONFIG'] ??
    (existsSync('pleo-export.yaml') ? 'pleo-export.yaml' : undefined);
  const overrides: Overrides = {};
  if (options.dataDir !== undefined) overrides.dataDir = options.dataDir;
  if (options.pleoUrl !== undefined) overrides.pleoUrl = options.pleoUrl;
  if (options.apiKey !== undefined) overrides.apiKey = options.apiKey;
  if (options.company !== undefined) overrides.companyId = options.company;
  if (options.adapter !== undefined) overrides.adapter = options.adapter;
  if (options.journal !== undefined) overrides.journal = options.journal;
  if (options.httpUrl !== undefined) overrides.httpUrl = options.httpUrl;
  if (options.concurrency !== undefined) overrides.concurrency = options.concurrency;
  if (options.logLevel !== undefined) overrides.logLevel = options.logLevel;
  if (options.postgres !== undefined) overrides.postgresUrl = options.postgres;
  return loadConfig({ ...(path === undefined ? {} : { path }), overrides, env });
}

export function requireCompanies(config: CompiledConfig): void {
  if (config.companies.length === 0) {
    throw new ConfigError(
      'No company configured: pass --company ID --api-key KEY (or PLEO_COMPANY_ID / PLEO_API_KEY), or list companies in the configuration file.',
    );
  }
}

/**
 * The store of the configured mode: PostgreSQL when `postgres.url` is set, else SQLite in
 * `dataDir`; private file modes and secrets encryption applied (warnings go to `logger`, by default
 * a JSON logger on stderr at the configured level).
 */
export async function openStore(config: CompiledConfig, logger?: Logger): Promise<Store> {
  const store = openConfiguredStore(config, { logger: logger ?? createLogger(config.log.level) });
  await store.migrate();
  return store;
}

/**
 * Structured JSON logs on stderr, credentials and webhook secrets redacted: by field name, and in
 * every string (message and fields) by shape — URL credentials, secret-like query parameters,
 * bearer tokens (`redact`). Each line's control characters that JSON leaves raw (DEL, C1, bidi
 * controls, U+2028/2029) are written as `\uXXXX` escapes: the line parses to the same values and
 * cannot drive the terminal it is printed on.
 */
export function createLogger(
  level: string,
  /** Where lines go (tests). @default stderr */
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level,
      formatters: { log: (record) => redactDeep(record) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg: unknown) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<
              typeof method
            >,
          );
        },
        streamWrite: (line) => terminalText(line, { keepNewlines: true }),
      },
      redact: {
        paths: [
          'apiKey',
          '*.apiKey',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'clientSecret',
          '*.clientSecret',
          'accessToken',
          'refreshToken',
          '*.accessToken',
          '*.refreshToken',
          'webhookSecret',
          '*.webhookSecret',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
