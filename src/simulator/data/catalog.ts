/**
 * The catalog: the reference data that generated items point at (chart of accounts, contra
 * accounts, tax codes, tags, teams, users, vendors), as it "exists in the accounting system",
 * plus the deliberately unknown codes used for failures and the data set's fixed clock.
 *
 * Everything is a pure function of the seed. Catalogs are deep-frozen and memoised for the
 * last few seeds, so repeated calls are cheap and callers cannot corrupt shared state.
 *
 * @module
 */
import { uuidOf } from './ids.js';
import type { Currency, TaxType } from './money.js';
import { WALLET_CURRENCIES } from './money.js';
import { hashWords, seedWord } from './prng.js';
import type { AccountRole, Country } from './reference.js';
import {
  ACCOUNTS,
  ACCOUNTS_WITHOUT_IDENTIFIER,
  PEOPLE,
  TAG_GROUPS,
  TAX_CODES,
  TEAMS,
  UNKNOWN_VENDORS,
  VENDORS,
} from './reference.js';

/** A GL account of the chart. `role` says what the generator uses it for. */
export interface CatalogAccount {
  readonly id: string;
  readonly name: string;
  readonly code: string;
  readonly identifier: string | null;
  readonly role: AccountRole;
}

/** The contra (Pleo wallet) account for one wallet currency. */
export interface CatalogContraAccount {
  readonly currency: Currency;
  readonly id: string;
  readonly name: string;
  readonly code: string;
  readonly identifier: string;
}

/** A tax code; tax accounts are chart account codes. */
export interface CatalogTaxCode {
  readonly id: string;
  readonly code: string;
  /** Decimal rate: 0.25 = 25 %. */
  readonly rate: number;
  readonly type: TaxType;
  readonly ingoingTaxAccount?: string;
  readonly outgoingTaxAccount?: string;
}

export interface CatalogTag {
  readonly id: string;
  readonly code: string;
  readonly groupCode: string;
  readonly name: string;
}

export interface CatalogTagGroup {
  readonly code: string;
  readonly name: string;
  readonly tags: readonly CatalogTag[];
}

export interface CatalogTeam {
  readonly id: string;
  readonly name: string;
  readonly code: string | null;
}

export interface CatalogUser {
  readonly id: string;
  readonly name: string;
  readonly code: string | null;
  readonly teamId: string;
}

export interface CatalogVendor {
  readonly id: string;
  readonly code: string;
  readonly name: string;
  /** ERP id; equals `code` when the ERP has no separate id. */
  readonly externalId: string;
  readonly defaultCurrency: Currency;
  readonly country: Country;
  readonly taxRegistrationNumber: string | null;
  readonly registrationNumber: string | null;
}

/** Reference data of one seed. See the module comment. */
export interface Catalog {
  readonly seed: number;
  /** The data set's "now" (ISO date-time). Item dates lie in the ~13 months before it. */
  readonly epoch: string;
  /**
   * First open day (`YYYY-MM-DD`, UTC). Items dated before it fall in a closed accounting
   * period; only `closed_period` failures are dated before it.
   */
  readonly lockDate: string;
  /** The chart: expense accounts used on lines, plus balance, income and tax accounts. */
  readonly accounts: readonly CatalogAccount[];
  /** One contra account per wallet currency. */
  readonly contraAccounts: readonly CatalogContraAccount[];
  readonly taxCodes: readonly CatalogTaxCode[];
  readonly tagGroups: readonly CatalogTagGroup[];
  readonly teams: readonly CatalogTeam[];
  readonly users: readonly CatalogUser[];
  /** Vendors known to the accounting system. */
  readonly vendors: readonly CatalogVendor[];
  /** Deliberately broken references, used only by failing items (see `expectedFailureAt`). */
  readonly unknown: {
    /** Account codes not in `accounts` (unknown_account). */
    readonly accountCodes: readonly string[];
    /** Tax codes not in `taxCodes` (unknown_tax_code). */
    readonly taxCodes: readonly string[];
    /** Tag codes in no tag group (unknown_tag). */
    readonly tagCodes: readonly string[];
    /** Vendor codes not in `vendors` (unknown_vendor). */
    readonly vendorCodes: readonly string[];
    /** The unknown vendors themselves, as items carry them. */
    readonly vendors: readonly CatalogVendor[];
  };
}

const DAY_MS = 86_400_000;
const BASE_EPOCH_MS = Date.UTC(2025, 0, 1, 12);

const pad2 = (n: number): string => (n < 10 ? `0${String(n)}` : String(n));

/**
 * Formats a UTC instant as `YYYY-MM-DDTHH:mm:ssZ` (no milliseconds, years 0–9999).
 * Integer civil-from-days arithmetic (H. Hinnant); several times faster than `toISOString`.
 */
export function isoDateTime(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const secs = Math.floor((ms - days * DAY_MS) / 1000);
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(hh)}:${pad2(mm)}:${pad2(secs % 60)}Z`;
}

function vendorOf(sw: number, spec: (typeof VENDORS)[number], prefix: string): CatalogVendor {
  return {
    id: uuidOf(sw, `${prefix}:${spec.code}`),
    code: spec.code,
    name: spec.name,
    externalId: spec.externalId ?? spec.code,
    defaultCurrency: spec.currency,
    country: spec.country,
    taxRegistrationNumber: spec.taxRegistrationNumber ?? null,
    registrationNumber: spec.registrationNumber ?? null,
  };
}

function buildCatalog(seed: number): Catalog {
  const sw = seedWord(seed);
  const epochMs = BASE_EPOCH_MS + (hashWords(sw, 0xe90c) % 365) * DAY_MS;
  const e = new Date(epochMs);
  const lockMs = Date.UTC(e.getUTCFullYear(), e.getUTCMonth() - 13, 1);
  const teams = TEAMS.map(([name, code]) => ({ id: uuidOf(sw, `team:${name}`), name, code }));
  const users = PEOPLE.map((name, i) => {
    const team = teams[hashWords(sw, 0x7ea3, i) % teams.length] ?? teams[0];
    if (team === undefined) throw new Error('no teams');
    return {
      id: uuidOf(sw, `user:${name}`),
      name,
      code: i % 7 === 6 ? null : `E${String(101 + i)}`,
      teamId: team.id,
    };
  });
  return {
    seed,
    epoch: isoDateTime(epochMs),
    lockDate: isoDateTime(lockMs).slice(0, 10),
    accounts: ACCOUNTS.map(([code, name, role]) => ({
      id: uuidOf(sw, `account:${code}`),
      name,
      code,
      identifier: ACCOUNTS_WITHOUT_IDENTIFIER.includes(code) ? null : `gl-${code}`,
      role,
    })),
    contraAccounts: WALLET_CURRENCIES.map((currency, i) => ({
      currency,
      id: uuidOf(sw, `contra:${currency}`),
      name: `Pleo ${currency} Account`,
      code: String(5850 + i),
      identifier: `gl-${String(5850 + i)}`,
    })),
    taxCodes: TAX_CODES.map((t) => ({ id: uuidOf(sw, `tax:${t.code}`), ...t })),
    tagGroups: TAG_GROUPS.map((g) => ({
      code: g.code,
      name: g.name,
      tags: g.tags.map(([code, name]) => ({
        id: uuidOf(sw, `tag:${g.code}:${code}`),
        code,
        groupCode: g.code,
        name,
      })),
    })),
    teams,
    users,
    vendors: VENDORS.map((v) => vendorOf(sw, v, 'vendor')),
    unknown: {
      accountCodes: ['9990', '9991'],
      taxCodes: ['XX25', 'OLD12'],
      tagCodes: ['D999', 'P-DELETED'],
      vendorCodes: UNKNOWN_VENDORS.map((v) => v.code),
      vendors: UNKNOWN_VENDORS.map((v) => vendorOf(sw, v, 'unknown-vendor')),
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Lookups over one catalog that the item generator needs. Internal. */
export interface CatalogIndex {
  readonly catalog: Catalog;
  readonly epochMs: number;
  readonly lockMs: number;
  readonly accountByCode: ReadonlyMap<string, CatalogAccount>;
  readonly accountByRole: ReadonlyMap<AccountRole, CatalogAccount>;
  readonly expenseAccounts: readonly CatalogAccount[];
  readonly contraByCurrency: ReadonlyMap<string, CatalogContraAccount>;
  readonly taxByCode: ReadonlyMap<string, CatalogTaxCode>;
  readonly vendorByCode: ReadonlyMap<string, CatalogVendor>;
  readonly teamById: ReadonlyMap<string, CatalogTeam>;
}

function index(catalog: Catalog): CatalogIndex {
  const byRole = new Map<AccountRole, CatalogAccount>();
  for (const a of catalog.accounts) if (!byRole.has(a.role)) byRole.set(a.role, a);
  return {
    catalog,
    epochMs: Date.parse(catalog.epoch),
    lockMs: Date.parse(`${catalog.lockDate}T00:00:00Z`),
    accountByCode: new Map(catalog.accounts.map((a) => [a.code, a])),
    accountByRole: byRole,
    expenseAccounts: catalog.accounts.filter((a) => a.role === 'expense'),
    contraByCurrency: new Map(catalog.contraAccounts.map((c) => [c.currency, c])),
    taxByCode: new Map(catalog.taxCodes.map((t) => [t.code, t])),
    vendorByCode: new Map([...catalog.vendors, ...catalog.unknown.vendors].map((v) => [v.code, v])),
    teamById: new Map(catalog.teams.map((t) => [t.id, t])),
  };
}

const CACHE_LIMIT = 8;
const cache = new Map<number, CatalogIndex>();

/** The memoised, frozen catalog and its lookups for a seed. Internal. */
export function catalogIndex(seed: number): CatalogIndex {
  const hit = cache.get(seed);
  if (hit !== undefined) return hit;
  const built = index(deepFreeze(buildCatalog(seed)));
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(seed, built);
  return built;
}

/**
 * The reference data generated items use, so a demo configuration can map it (accounts,
 * tax codes, tags, vendors…) and so tests know which codes are deliberately unknown.
 * Deep-frozen; the same object is returned for repeated calls with a recent seed.
 *
 * @example
 * const { accounts, unknown } = catalog(42);
 * accounts.find((a) => a.code === '6010')?.name; // 'Travel'
 * unknown.vendorCodes; // ['V9001', 'V9002']
 */
export function catalog(seed: number): Catalog {
  return catalogIndex(seed).catalog;
}
