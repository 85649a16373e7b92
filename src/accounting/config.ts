/**
 * The accounting part of the configuration file: schema, defaults and compilation into a frozen,
 * normalised object (house style rule 9: `Options` → `compile()` → `Compiled*`).
 *
 * The CLI author embeds {@link accountingConfigSchema} in the global configuration file and calls
 * {@link compileAccountingConfig} with the key prefix under which it lives (e.g. `accounting`), so
 * every error names the full key path, the value found and what is expected.
 */
import { z } from 'zod';

import { ConfigError } from '../errors/index.js';

const accountCode = z
  .string({ error: 'expected an account code (text)' })
  .regex(/^[^\s;#|\p{Cc}](?:[^;|\p{Cc}]*[^\s;|\p{Cc}])?$/u, {
    error: 'expected an account code: non-empty, no ";" "|" or control characters, no surrounding spaces',
  })
  .refine((code) => !/\s{2,}/.test(code), { error: 'an account code must not contain two spaces in a row' });

const currencyCode = z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 currency code like EUR' });
const isoDate = z
  .string({ error: 'expected a date YYYY-MM-DD' })
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date YYYY-MM-DD' })
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    {
      error: 'expected a real calendar date YYYY-MM-DD',
    },
  );

const accountsSchema = z
  .object({
    /** Pleo contra account (the wallet as seen by the books), used when the item has no `contraAccount`. */
    contra: accountCode.optional(),
    /** Contra account per wallet currency; wins over `contra`. */
    contraByCurrency: z.record(currencyCode, accountCode).optional(),
    /** Pleo wallet account for top-ups and unloads; falls back to the contra account. */
    wallet: accountCode.optional(),
    /** Employee out-of-pocket liability (out_of_pocket, mileage, per_diem, reimbursements). */
    outOfPocket: accountCode.optional(),
    /** Fallback accounts-payable account for vendors without their own account. */
    accountsPayable: accountCode.optional(),
    /** Input (deductible) VAT. */
    inputVat: accountCode.optional(),
    /** Output VAT. */
    outputVat: accountCode.optional(),
    /** Reverse-charge input VAT; falls back to `inputVat`. */
    reverseChargeInput: accountCode.optional(),
    /** Reverse-charge output VAT; falls back to `outputVat`. */
    reverseChargeOutput: accountCode.optional(),
    /** Pleo fees and interest without a category. */
    fees: accountCode.optional(),
    /** Cashback income without a category. */
    cashback: accountCode.optional(),
    /** The company bank account that funds wallet top-ups and receives unloads. */
    bank: accountCode.optional(),
    /** Cash account for ATM withdrawals without a category. */
    cash: accountCode.optional(),
    /** Employee receivable for personal spend; falls back to `outOfPocket`. */
    personalSpend: accountCode.optional(),
    /** Where external (payroll/cash) reimbursements are paid from. */
    externalReimbursement: accountCode.optional(),
    /** Receives a difference of a few minor units between the item amount and the sum of its lines. */
    roundingDifference: accountCode.optional(),
  })
  .strict();

const knownAccount = z.union(
  [accountCode, z.object({ code: accountCode, name: z.string().min(1) }).strict()],
  {
    error: 'expected an account code or {code, name}',
  },
);

const taxCodeSchema = z
  .object({
    /** Input VAT account for this code (wins over the item's `ingoingTaxAccount`). */
    inputAccount: accountCode.optional(),
    /** Output VAT account for this code (reverse charge; wins over `outgoingTaxAccount`). */
    outputAccount: accountCode.optional(),
    /** When set, items whose line carries another rate for this code fail (invalid_configuration). */
    rate: z
      .number()
      .min(0)
      .max(1, { error: 'expected a decimal rate between 0 and 1 (0.25 = 25%)' })
      .optional(),
  })
  .strict();

const vendorSchema = z
  .object({
    code: z.string().min(1),
    name: z.string().min(1),
    /** The vendor's payable account; the fallback `accounts.accountsPayable` otherwise. */
    account: accountCode.optional(),
    /** Pleo `vendor.externalId` when it differs from the code. */
    externalId: z.string().min(1).optional(),
    taxIdentifier: z.string().min(1).optional(),
    /** A blocked vendor is treated as unknown (`vendor_unknown`). @default false */
    blocked: z.boolean().default(false),
  })
  .strict();

const DOWNLOAD_HOST_EXACT = /^([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;
const DOWNLOAD_HOST = /^(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

/** Formats Pleo accepts as receipts (docs/decisions.md#w18), by MIME type. */
export const DEFAULT_ATTACHMENT_TYPES = Object.freeze([
  'application/pdf',
  'image/jpeg',
  'image/png',
  'text/plain',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
]);

export const accountingConfigSchema = z
  .object({
    /** Draft (pending) or final (posted) entries. @default 'draft' */
    postingMode: z.enum(['draft', 'final']).default('draft'),
    accounts: accountsSchema.prefault({}),
    /** Pleo account code, identifier or id → account code in the accounting system. */
    categoryOverrides: z.record(z.string().min(1), accountCode).default({}),
    /** Chart of accounts of the accounting system; when set, any other account → account_unknown. */
    knownAccounts: z.array(knownAccount).optional(),
    /** Tax codes of the accounting system; when set, any other code → tax_code_unknown. */
    taxCodes: z.record(z.string().min(1), taxCodeSchema).optional(),
    /** Tag group code → allowed tag codes; when set, other groups or codes → tag_unknown. */
    tags: z.record(z.string().min(1), z.array(z.string().min(1))).optional(),
    /** Vendor register; when set, accounts-payable items must match one (else vendor_unknown). */
    vendors: z.array(vendorSchema).optional(),
    /** Last day of the closed period (inclusive). */
    lockDate: isoDate.optional(),
    /** What to do with an entry dated on or before `lockDate`. @default 'fail' */
    closedPeriod: z.enum(['move', 'fail']).default('fail'),
    attachments: z
      .object({
        /** Per-file size limit in bytes. @default 31457280 (30 MB) */
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(30 * 1024 * 1024),
        /** When true, an item whose receipts cannot all be stored fails; else it is booked and the problem reported. @default true */
        required: z.boolean().default(true),
        /** Accepted MIME types. @default Pleo's list (pdf, jpeg, png, txt, doc, docx, xls, xlsx) */
        allowedTypes: z
          .array(z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, { error: 'expected a MIME type' }))
          .optional(),
        /**
         * Hosts receipts are downloaded from: https only, public addresses only. `*.example.com`
         * matches any subdomain; `host:port` allows that port (else 443). @default ['*.pleo.io']
         */
        allowedHosts: z
          .array(
            z.string().regex(DOWNLOAD_HOST, {
              error: 'expected a host like files.pleo.io, *.pleo.io or host:port (no scheme, no path)',
            }),
          )
          .optional(),
        /**
         * Hosts (exact `host` or `host:port`) that may also be reached over plain http and at
         * private or loopback addresses, e.g. a local simulator. @default []
         */
        allowInsecureHosts: z
          .array(
            z.string().regex(DOWNLOAD_HOST_EXACT, {
              error: 'expected a host like 127.0.0.1:4010 (no wildcard, no scheme, no path)',
            }),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    dimensions: z
      .object({
        /** Carry the item's team as the `team` dimension. @default true */
        team: z.boolean().default(true),
        /** Carry the item's user as the `user` dimension. @default true */
        user: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Longest description written; longer ones use initials, then are shortened. @default 120 */
    descriptionMaxLength: z.number().int().min(20).max(2000).default(120),
  })
  .strict();

/** The accounting section as written in the configuration file. */
export type AccountingConfig = z.input<typeof accountingConfigSchema>;
type ParsedAccountingConfig = z.output<typeof accountingConfigSchema>;
export type AccountsConfig = Omit<ParsedAccountingConfig['accounts'], 'contraByCurrency'>;

export interface CompiledVendor {
  readonly code: string;
  readonly name: string;
  readonly account: string | undefined;
  readonly externalId: string | undefined;
  readonly taxIdentifier: string | undefined;
  readonly blocked: boolean;
}

export interface CompiledTaxCode {
  readonly inputAccount: string | undefined;
  readonly outputAccount: string | undefined;
  readonly rate: number | undefined;
}

/** The normalised, frozen accounting configuration the mapping functions take. */
export interface CompiledAccountingConfig {
  readonly postingMode: 'draft' | 'final';
  readonly accounts: Readonly<AccountsConfig>;
  readonly contraByCurrency: ReadonlyMap<string, string>;
  readonly categoryOverrides: ReadonlyMap<string, string>;
  /** `undefined` = no chart of accounts configured: every account is accepted. */
  readonly knownAccounts: ReadonlySet<string> | undefined;
  /** Account names from `knownAccounts` entries written as `{code, name}`. */
  readonly accountNames: ReadonlyMap<string, string>;
  readonly taxCodes: ReadonlyMap<string, CompiledTaxCode> | undefined;
  readonly tags: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  readonly vendors: readonly CompiledVendor[] | undefined;
  readonly lockDate: string | undefined;
  readonly closedPeriod: 'move' | 'fail';
  readonly attachments: {
    readonly maxBytes: number;
    readonly required: boolean;
    readonly allowedTypes: readonly string[];
    /** Receipt download hosts; `undefined`: the client's default (`*.pleo.io`). */
    readonly allowedHosts?: readonly string[] | undefined;
    /** Hosts allowed over plain http and at private addresses. @default [] */
    readonly allowInsecureHosts?: readonly string[];
  };
  readonly dimensions: { readonly team: boolean; readonly user: boolean };
  readonly descriptionMaxLength: number;
  /** Where this section lives in the configuration file (for messages), e.g. `accounting`. */
  readonly keyPrefix: string;
}

/**
 * Validates the accounting section and returns the compiled, frozen configuration. Throws a
 * {@link ConfigError} listing every problem as `key.path: got VALUE: what is expected`.
 *
 * @example
 * const accounting = compileAccountingConfig(fileConfig.accounting, 'accounting');
 */
export function compileAccountingConfig(raw: unknown, keyPrefix = 'accounting'): CompiledAccountingConfig {
  const parsed = accountingConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => describeIssue(issue, raw, keyPrefix));
    throw new ConfigError(`Invalid accounting configuration:\n${lines.map((l) => `  - ${l}`).join('\n')}`);
  }
  const config = parsed.data;
  const problems: string[] = [];
  const key = (path: string): string => (keyPrefix ? `${keyPrefix}.${path}` : path);

  const accountNames = new Map<string, string>();
  let knownAccounts: Set<string> | undefined;
  if (config.knownAccounts) {
    knownAccounts = new Set();
    for (const entry of config.knownAccounts) {
      const code = typeof entry === 'string' ? entry : entry.code;
      knownAccounts.add(code);
      if (typeof entry !== 'string') accountNames.set(code, entry.name);
    }
  }
  const checkKnown = (path: string, code: string | undefined): void => {
    if (code !== undefined && knownAccounts && !knownAccounts.has(code)) {
      problems.push(
        `${key(path)}: got ${JSON.stringify(code)}: the account is not in ${key('knownAccounts')}`,
      );
    }
  };
  const { contraByCurrency = {}, ...accounts } = config.accounts;
  for (const [name, code] of Object.entries(accounts)) checkKnown(`accounts.${name}`, code);
  for (const [currency, code] of Object.entries(contraByCurrency))
    checkKnown(`accounts.contraByCurrency.${currency}`, code);
  for (const [from, code] of Object.entries(config.categoryOverrides))
    checkKnown(`categoryOverrides.${from}`, code);
  for (const [code, tax] of Object.entries(config.taxCodes ?? {})) {
    checkKnown(`taxCodes.${code}.inputAccount`, tax.inputAccount);
    checkKnown(`taxCodes.${code}.outputAccount`, tax.outputAccount);
  }
  const seenVendors = new Set<string>();
  config.vendors?.forEach((vendor, index) => {
    checkKnown(`vendors[${index}].account`, vendor.account);
    if (seenVendors.has(vendor.code)) {
      problems.push(
        `${key(`vendors[${index}].code`)}: got ${JSON.stringify(vendor.code)}: vendor codes must be unique`,
      );
    }
    seenVendors.add(vendor.code);
  });
  if (problems.length > 0) {
    throw new ConfigError(`Invalid accounting configuration:\n${problems.map((l) => `  - ${l}`).join('\n')}`);
  }

  return Object.freeze({
    postingMode: config.postingMode,
    accounts: Object.freeze(accounts),
    contraByCurrency: new Map(Object.entries(contraByCurrency)),
    categoryOverrides: new Map(Object.entries(config.categoryOverrides)),
    knownAccounts,
    accountNames,
    taxCodes: config.taxCodes
      ? new Map(
          Object.entries(config.taxCodes).map(([code, t]) => [
            code,
            Object.freeze({ inputAccount: t.inputAccount, outputAccount: t.outputAccount, rate: t.rate }),
          ]),
        )
      : undefined,
    tags: config.tags
      ? new Map(Object.entries(config.tags).map(([group, codes]) => [group, new Set(codes)]))
      : undefined,
    vendors: config.vendors
      ? Object.freeze(
          config.vendors.map((v) =>
            Object.freeze({
              code: v.code,
              name: v.name,
              account: v.account,
              externalId: v.externalId,
              taxIdentifier: v.taxIdentifier,
              blocked: v.blocked,
            }),
          ),
        )
      : undefined,
    lockDate: config.lockDate,
    closedPeriod: config.closedPeriod,
    attachments: Object.freeze({
      maxBytes: config.attachments.maxBytes,
      required: config.attachments.required,
      allowedTypes: Object.freeze([...(config.attachments.allowedTypes ?? DEFAULT_ATTACHMENT_TYPES)]),
      allowedHosts:
        config.attachments.allowedHosts === undefined
          ? undefined
          : Object.freeze([...config.attachments.allowedHosts]),
      allowInsecureHosts: Object.freeze([...config.attachments.allowInsecureHosts]),
    }),
    dimensions: Object.freeze({ ...config.dimensions }),
    descriptionMaxLength: config.descriptionMaxLength,
    keyPrefix,
  });
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, raw: unknown, keyPrefix: string): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(accountingConfigSchema, path);
    return issue.keys
      .map((k) => {
        const full = formatPath(keyPrefix, [...path, k]);
        return `${full}: unknown key${allowed.length > 0 ? `; expected one of: ${allowed.join(', ')}` : ''}`;
      })
      .join('\n  - ');
  }
  const value = valueAt(raw, path);
  let message = issue.message;
  if (issue.code === 'invalid_key' && issue.issues[0]) message = `invalid key: ${issue.issues[0].message}`;
  if (issue.code === 'invalid_value')
    message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  const got = value === undefined ? 'missing' : `got ${truncate(JSON.stringify(value))}`;
  return `${formatPath(keyPrefix, path)}: ${got}: ${message}`;
}

function formatPath(prefix: string, path: readonly (string | number)[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out || '(root)';
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let current = raw;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

function truncate(text: string | undefined): string {
  if (text === undefined) return 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Keys a (possibly wrapped) object schema accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(schema: z.core.$ZodType, path: readonly (string | number)[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    let inner = s;
    for (;;) {
      const def = inner._zod.def as { innerType?: z.core.$ZodType };
      if (!def.innerType) return inner;
      inner = def.innerType;
    }
  };
  for (const part of path) {
    if (!current) return [];
    const s = unwrap(current);
    const def = s._zod.def as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
      valueType?: z.core.$ZodType;
    };
    if (def.type === 'object' && typeof part === 'string') current = def.shape?.[part];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return [];
  }
  if (!current) return [];
  const def = unwrap(current)._zod.def as { type: string; shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
