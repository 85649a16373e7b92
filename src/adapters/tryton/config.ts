/**
 * The `adapter` block for Tryton (`type: tryton`): where trytond answers, which database, user and
 * company, which journals, how entries are posted, and how Pleo's account codes map to Tryton's.
 *
 * The password has three spellings like every secret of pleo-export: inline (`password`), from
 * the environment (`passwordEnv: NAME`) or from a file (`passwordFile: PATH`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { z } from 'zod';

import { ConfigError } from '../../errors/index.js';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });

export const trytonConfigSchema = z
  .object({
    type: z.literal('tryton'),
    /** Base URL of trytond's JSON-RPC endpoint, e.g. `http://127.0.0.1:8000`. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL, e.g. http://127.0.0.1:8000' }),
    /** Tryton database name (the SQLite file name without `.sqlite`, or the PostgreSQL database). */
    database: z.string().min(1),
    /** Tryton login of the integration user (one user per Tryton company: see the README). */
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    passwordEnv: envName.optional(),
    passwordFile: z.string().min(1).optional(),
    /** The Tryton company to book into: its id, or its name exactly as in Tryton. */
    company: z.union([z.number().int().positive(), z.string().min(1)]),
    /** Code of the journal for journal entries (account.journal). @default 'CASH' */
    journal: z.string().min(1).default('CASH'),
    /** Code of the journal for supplier invoices (type expense). @default 'EXP' */
    invoiceJournal: z.string().min(1).default('EXP'),
    /**
     * `posted` posts every move and invoice (numbered, immutable); `draft` leaves them for review.
     * When absent, each entry's own mode decides (`accounting.postingMode`: final → posted).
     */
    postingMode: z.enum(['posted', 'draft']).optional(),
    /**
     * Supplier invoices (`account.invoice`, type in) for vendor-based (accounts payable) entries.
     * `false` books them as journal entries with the vendor as the payable line's party.
     * @default true
     */
    supplierInvoices: z.boolean().default(true),
    /** Pleo / pleo-export account code → Tryton account code, where they differ. @default {} */
    accounts: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Per-request timeout in milliseconds. @default 30000 */
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Language of Tryton's messages. @default 'en' */
    language: z.string().min(2).default('en'),
  })
  .strict()
  .refine((c) => [c.password, c.passwordEnv, c.passwordFile].filter((x) => x !== undefined).length <= 1, {
    error: 'give one of password, passwordEnv or passwordFile',
  });

export type ParsedTrytonConfig = z.output<typeof trytonConfigSchema>;

/** Resolves the password (inline, `passwordEnv` or `passwordFile`, relative to `base`). */
export function resolveTrytonPassword(
  config: Pick<ParsedTrytonConfig, 'password' | 'passwordEnv' | 'passwordFile'>,
  env: NodeJS.ProcessEnv = process.env,
  base: string = process.cwd(),
): string {
  if (config.password !== undefined) return config.password;
  if (config.passwordEnv !== undefined) {
    const value = env[config.passwordEnv];
    if (value === undefined || value === '')
      throw new ConfigError(`adapter.passwordEnv: the environment variable ${config.passwordEnv} is not set`);
    return value;
  }
  if (config.passwordFile !== undefined) {
    try {
      return readFileSync(resolve(base, config.passwordFile), 'utf8').trim();
    } catch (error) {
      throw new ConfigError(
        `adapter.passwordFile: cannot read ${config.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
  }
  throw new ConfigError(
    'adapter.password missing: give the Tryton password as password, passwordEnv (an environment variable) or passwordFile',
  );
}
