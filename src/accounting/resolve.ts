/**
 * Account, tax-code, tag and vendor resolution: turns what the item says plus what the
 * configuration says into account codes of the accounting system, or a {@link MappingFailure}
 * carrying Pleo's recommended failure type and text (docs/decisions.md#w25) plus the configuration key
 * to set.
 */
import type { ExportItem, ExportItemLine, ExportItemTax } from '../client/index.js';
import type { AccountsConfig, CompiledAccountingConfig, CompiledTaxCode, CompiledVendor } from './config.js';
import type { Counterparty, ItemFailure } from './types.js';

/** Thrown inside the mapping and turned into `{ok: false}` by `mapExportItem`; never escapes. */
export class MappingFailure extends Error {
  readonly failure: ItemFailure;
  constructor(failure: ItemFailure) {
    super(failure.failureReason);
    this.failure = failure;
  }
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
export const VENDOR_UNKNOWN_MESSAGE =
  'Selected vendor cannot be processed because it does not exist or is currently blocked. Please verify the vendor’s status in the accounting system and try again.';

const LABELS: Record<keyof AccountsConfig, string> = {
  contra: 'Pleo contra',
  wallet: 'Pleo wallet',
  outOfPocket: 'Pleo out-of-pocket',
  accountsPayable: 'Accounts payable',
  inputVat: 'Input VAT',
  outputVat: 'Output VAT',
  reverseChargeInput: 'Reverse-charge input VAT',
  reverseChargeOutput: 'Reverse-charge output VAT',
  fees: 'Pleo fees',
  cashback: 'Pleo cashback',
  bank: 'Bank',
  cash: 'Cash',
  personalSpend: 'Personal spend receivable',
  externalReimbursement: 'External reimbursement',
  roundingDifference: 'Rounding difference',
};

export function missingAccount(
  label: string,
  keys: readonly string[],
  config: CompiledAccountingConfig,
): MappingFailure {
  const where = keys.map((k) => (config.keyPrefix ? `${config.keyPrefix}.${k}` : k)).join(' or ');
  return new MappingFailure({
    failureReasonType: 'missing_configuration',
    failureReason: `Account ${label} missing: provide account ${label} in the configurations (${where})`,
  });
}

function unknownAccount(code: string, check: string): MappingFailure {
  return new MappingFailure({
    failureReasonType: 'account_unknown',
    failureReason: `Account No. ${code} does not exist in the Accounting System. Check ${check}.`,
  });
}

/** Fails with `account_unknown` when a chart of accounts is configured and lacks `code`. */
export function ensureKnown(code: string, check: string, config: CompiledAccountingConfig): string {
  if (config.knownAccounts && !config.knownAccounts.has(code)) throw unknownAccount(code, check);
  return code;
}

/** The first configured account among `keys`, or a `missing_configuration` failure naming them. */
export function configuredAccount(
  keys: readonly (keyof AccountsConfig)[],
  config: CompiledAccountingConfig,
  label?: string,
): string {
  for (const key of keys) {
    const code = config.accounts[key];
    if (code !== undefined) return code;
  }
  const first = keys[0];
  throw missingAccount(
    label ?? (first ? LABELS[first] : 'account'),
    keys.map((k) => `accounts.${k}`),
    config,
  );
}

/** An account the item provides (`code` first, then the ERP `identifier`), after category overrides. */
function itemAccount(
  account: { id: string; code?: string | null; identifier?: string | null } | null | undefined,
  config: CompiledAccountingConfig,
): string | undefined {
  if (!account) return undefined;
  for (const key of [account.code, account.identifier, account.id]) {
    if (key && key !== NIL_UUID) {
      const override = config.categoryOverrides.get(key);
      if (override !== undefined) return override;
    }
  }
  const code = account.code?.trim() || account.identifier?.trim();
  if (code) return code;
  return undefined;
}

/**
 * The debit account of a line (the expense category). Order: category override, the line's
 * `account.code`/`identifier`, then the type's configured default. Settlement types (top-ups,
 * reimbursements, AP payments) prefer the configured account over the line's.
 */
export function resolveLineAccount(
  line: ExportItemLine,
  defaults: readonly (keyof AccountsConfig)[],
  preferConfigured: boolean,
  config: CompiledAccountingConfig,
): { code: string; name?: string } {
  const fromItem = itemAccount(line.account, config);
  const fromConfig = defaults.map((k) => config.accounts[k]).find((c) => c !== undefined);
  const code = preferConfigured ? (fromConfig ?? fromItem) : (fromItem ?? fromConfig);
  if (code === undefined) {
    if (defaults.length > 0)
      throw missingAccount(
        LABELS[defaults[0] ?? 'contra'],
        defaults.map((k) => `accounts.${k}`),
        config,
      );
    const category = line.account?.name ? `for category ${line.account.name}` : 'for the expense category';
    throw missingAccount(category, ['categoryOverrides', 'the category mapping in Pleo'], config);
  }
  ensureKnown(code, 'Category', config);
  const name =
    config.accountNames.get(code) ??
    (code === fromItem && line.account?.name ? line.account.name : undefined);
  return name === undefined ? { code } : { code, name };
}

/** The contra (wallet-side) account: the item's `contraAccount`, then per-currency, then generic config. */
export function resolveContra(
  item: ExportItem,
  currency: string,
  preferWallet: boolean,
  config: CompiledAccountingConfig,
): { code: string; name?: string } {
  const fromItem = itemAccount(item.contraAccount, config);
  const code =
    fromItem ??
    config.contraByCurrency.get(currency) ??
    (preferWallet
      ? (config.accounts.wallet ?? config.accounts.contra)
      : (config.accounts.contra ?? config.accounts.wallet));
  if (code === undefined) {
    const label = `${preferWallet ? 'Pleo wallet' : 'Pleo contra'} (${currency})`;
    throw missingAccount(
      label,
      [`accounts.contraByCurrency.${currency}`, preferWallet ? 'accounts.wallet' : 'accounts.contra'],
      config,
    );
  }
  ensureKnown(code, 'the contra account', config);
  const name = config.accountNames.get(code) ?? (code === fromItem ? item.contraAccount?.name : undefined);
  return name === undefined ? { code } : { code, name };
}

export interface TaxAccounts {
  input: string;
  /** Self-assessed tax only (reverse charge, exclusive tax not paid to the supplier). */
  output?: string;
}

/**
 * Checks a line's tax code against the configured tax codes (`tax_code_unknown` when a register is
 * configured and lacks it; `invalid_configuration` when its configured rate differs).
 */
export function checkTaxCode(
  tax: ExportItemTax,
  config: CompiledAccountingConfig,
): CompiledTaxCode | undefined {
  const code = tax.code ?? undefined;
  if (!config.taxCodes || code === undefined) return undefined;
  const perCode = config.taxCodes.get(code);
  if (!perCode) {
    throw new MappingFailure({
      failureReasonType: 'tax_code_unknown',
      failureReason: `Tax Code ${code} does not exist in the Accounting System`,
    });
  }
  if (perCode.rate !== undefined && Math.abs(perCode.rate - tax.rate) > 1e-9) {
    throw new MappingFailure({
      failureReasonType: 'invalid_configuration',
      failureReason: `Tax Code ${code} has rate ${perCode.rate} in the configuration but ${tax.rate} on the expense: correct the tax code in Pleo or ${config.keyPrefix}.taxCodes.${code}.rate`,
    });
  }
  return perCode;
}

/** Tax accounts of a line: per-code configuration, then the item's accounts, then generic config. */
export function resolveTaxAccounts(
  tax: ExportItemTax,
  selfAssessed: boolean,
  config: CompiledAccountingConfig,
): TaxAccounts {
  const perCode = checkTaxCode(tax, config);
  const reverse = tax.type === 'reverse';
  const input =
    perCode?.inputAccount ??
    (tax.ingoingTaxAccount || undefined) ??
    configuredAccount(reverse ? ['reverseChargeInput', 'inputVat'] : ['inputVat'], config);
  ensureKnown(input, 'the tax code', config);
  if (!selfAssessed) return { input };
  const output =
    perCode?.outputAccount ??
    (tax.outgoingTaxAccount || undefined) ??
    configuredAccount(reverse ? ['reverseChargeOutput', 'outputVat'] : ['outputVat'], config);
  ensureKnown(output, 'the tax code', config);
  return { input, output };
}

/** Validates a line's tags against the configured tag groups and returns them as dimensions. */
export function resolveTags(line: ExportItemLine, config: CompiledAccountingConfig): Record<string, string> {
  const dimensions: Record<string, string> = {};
  for (const tag of line.tags ?? []) {
    if (!tag) continue;
    if (config.tags) {
      const allowed = config.tags.get(tag.groupCode);
      if (!allowed?.has(tag.code)) {
        throw new MappingFailure({
          failureReasonType: 'tag_unknown',
          failureReason: `Tag with code ${tag.code} does not exist on the Accounting System. Check the Tag. (tag group ${tag.groupCode})`,
        });
      }
    }
    dimensions[tag.groupCode] = tag.code;
  }
  return dimensions;
}

function matchVendor(
  vendors: readonly CompiledVendor[],
  keys: {
    code?: string | null | undefined;
    externalId?: string | null | undefined;
    account?: string | null | undefined;
    taxIdentifier?: string | null | undefined;
  },
): CompiledVendor | undefined {
  const by = (pred: (v: CompiledVendor) => boolean): CompiledVendor | undefined => vendors.find(pred);
  return (
    (keys.code ? by((v) => v.code === keys.code) : undefined) ??
    (keys.externalId ? by((v) => (v.externalId ?? v.code) === keys.externalId) : undefined) ??
    (keys.account ? by((v) => v.account === keys.account) : undefined) ??
    (keys.taxIdentifier ? by((v) => v.taxIdentifier === keys.taxIdentifier) : undefined)
  );
}

/**
 * Accounts-payable vendor resolution (docs/decisions.md#w21): by code, then external id / account,
 * then tax identifier. With a configured vendor register, no match or a blocked vendor fails the
 * item with `vendor_unknown`; without one, the journal is the register and Pleo's vendor is used
 * as given. The payable account is the vendor's own or the fallback `accounts.accountsPayable`.
 */
export function resolveVendor(
  item: ExportItem,
  config: CompiledAccountingConfig,
): Counterparty & { account: string } {
  const vendor = item.vendor;
  if (!vendor)
    throw new MappingFailure({ failureReasonType: 'vendor_unknown', failureReason: VENDOR_UNKNOWN_MESSAGE });
  let match: CompiledVendor | undefined;
  if (config.vendors) {
    match = matchVendor(config.vendors, {
      code: vendor.code,
      externalId: vendor.externalId,
      taxIdentifier: vendor.taxRegistrationNumber,
    });
    if (!match || match.blocked) {
      throw new MappingFailure({
        failureReasonType: 'vendor_unknown',
        failureReason: VENDOR_UNKNOWN_MESSAGE,
      });
    }
  }
  const account = match?.account ?? configuredAccount(['accountsPayable'], config);
  ensureKnown(account, 'the vendor account', config);
  const code = match?.code ?? vendor.code ?? vendor.externalId ?? vendor.id;
  const taxIdentifier = match?.taxIdentifier ?? vendor.taxRegistrationNumber;
  return {
    source: 'vendor',
    code,
    name: match?.name ?? vendor.name,
    account,
    ...(taxIdentifier ? { taxIdentifier } : {}),
  };
}

/** Counterparty of a journal item: the vendor when present, else the legacy supplier (never fails). */
export function describeCounterparty(
  item: ExportItem,
  config: CompiledAccountingConfig,
): Counterparty | undefined {
  const vendor = item.vendor;
  if (vendor) {
    const match = config.vendors
      ? matchVendor(config.vendors, {
          code: vendor.code,
          externalId: vendor.externalId,
          taxIdentifier: vendor.taxRegistrationNumber,
        })
      : undefined;
    const code = match?.code ?? vendor.code ?? vendor.externalId;
    const account = match?.account;
    return {
      source: 'vendor',
      name: vendor.name,
      ...(code ? { code } : {}),
      ...(account ? { account } : {}),
    };
  }
  const supplier = item.supplier;
  if (!supplier) return undefined;
  const match = config.vendors ? matchVendor(config.vendors, supplier) : undefined;
  const out: Counterparty = { source: 'supplier' };
  const code = match?.code ?? supplier.code;
  if (code) out.code = code;
  if (supplier.name) out.name = supplier.name;
  if (match?.account) out.account = match.account;
  if (supplier.taxIdentifier) out.taxIdentifier = supplier.taxIdentifier;
  return out;
}
