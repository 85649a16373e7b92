/**
 * Simulated Pleo companies: ids, names, API keys and wallet currencies.
 *
 * A company's wallet currency is a function of (seed, company id) rather than of its index,
 * so the item generator can find it from a job's `companyId` alone.
 *
 * @module
 */
import { base32, Kind, keyOf, subKey, uuidAt } from './ids.js';
import type { Currency } from './money.js';
import { hashString, hashWords, seedWord } from './prng.js';
import { COMPANY_NAMES } from './reference.js';

/** A simulated company. */
export interface CompanySpec {
  /** Company id (UUID). */
  id: string;
  name: string;
  /** API key the simulator accepts for this company: `pk_test_` + 32 base32 characters. */
  apiKey: string;
  /** Index the company was generated from. */
  index: number;
  /**
   * Whether contra accounts are configured. When false the server should answer
   * 400 MISSING_CONTRA_ACCOUNTS. Company 0 always has them.
   */
  hasContraAccounts: boolean;
  /** ISO 4217 code of the Pleo wallet. */
  walletCurrency: string;
}

/** Wallet currencies with weights (percent). */
const WALLET_MIX: readonly (readonly [Currency, number])[] = [
  ['DKK', 35],
  ['SEK', 20],
  ['EUR', 20],
  ['GBP', 10],
  ['NOK', 10],
  ['USD', 5],
];

/** The wallet currency of a company, derived from the seed and the company id. */
export function walletCurrencyOf(seed: number, companyId: string): Currency {
  let r = hashString(companyId, seedWord(seed) ^ 0x3a11e7) % 100;
  for (const [currency, weight] of WALLET_MIX) {
    if (r < weight) return currency;
    r -= weight;
  }
  return 'DKK';
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index > 0x7fffffff) {
    throw new RangeError(`company index must be an integer in [0, 2^31), got ${String(index)}`);
  }
}

/**
 * The company number `index` of a seed. Pure: the same seed and index always give the same
 * company, and ids and API keys are unique per index.
 *
 * @example
 * const acme = companyAt(42, 0);
 * acme.apiKey; // 'pk_test_…' (32 base32 characters)
 */
export function companyAt(seed: number, index: number): CompanySpec {
  checkIndex(index);
  const sw = seedWord(seed);
  const key = subKey(keyOf(sw, 'companies'), Kind.company);
  const id = uuidAt(key, index);
  const baseName = COMPANY_NAMES[index % COMPANY_NAMES.length] ?? 'Company';
  const round = Math.floor(index / COMPANY_NAMES.length);
  const words = [0, 1, 2, 3, 4].map((i) => hashWords(key.k2 ^ key.k3, index, i, 0xa91));
  return {
    id,
    name: round === 0 ? baseName : `${baseName} ${String(round + 1)}`,
    apiKey: `pk_test_${base32(words, 32)}`,
    index,
    hasContraAccounts: index === 0 || hashWords(key.k1, index, 0xc0a) % 100 >= 10,
    walletCurrency: walletCurrencyOf(seed, id),
  };
}
