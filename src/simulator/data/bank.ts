/**
 * Supplier bank accounts for invoices: bank name, BIC, bank code, account number and an IBAN
 * with valid ISO 13616 check digits (countries without IBAN get `iban: null`).
 *
 * @module
 */
import type { components } from '../../generated/export-v3.js';
import type { Rng } from './prng.js';
import type { Country } from './reference.js';

type BankAccount = NonNullable<components['schemas']['SupplierBankAccount']>;

interface BankSpec {
  readonly name: string;
  readonly bic: string;
  /** Letters that open the BBAN (bank code), if any. */
  readonly letters: string;
  /** Digits that follow; 0 means the country has no IBAN. */
  readonly digits: number;
}

const BANKS: Readonly<Record<Country, BankSpec>> = {
  DK: { name: 'Danske Bank', bic: 'DABADKKK', letters: '', digits: 14 },
  SE: { name: 'Svenska Handelsbanken', bic: 'HANDSESS', letters: '', digits: 20 },
  NO: { name: 'DNB Bank ASA', bic: 'DNBANOKK', letters: '', digits: 11 },
  DE: { name: 'Deutsche Bank', bic: 'DEUTDEFF', letters: '', digits: 18 },
  NL: { name: 'ING Bank', bic: 'INGBNL2A', letters: 'INGB', digits: 10 },
  IE: { name: 'Bank of Ireland', bic: 'BOFIIE2D', letters: 'BOFI', digits: 14 },
  LU: { name: 'BGL BNP Paribas', bic: 'BGLLLULL', letters: '', digits: 16 },
  GB: { name: 'Barclays Bank UK', bic: 'BARCGB22', letters: 'BARC', digits: 14 },
  FR: { name: 'BNP Paribas', bic: 'BNPAFRPP', letters: '', digits: 23 },
  CH: { name: 'UBS Switzerland AG', bic: 'UBSWCHZH80A', letters: '', digits: 17 },
  PL: { name: 'PKO Bank Polski', bic: 'BPKOPLPW', letters: '', digits: 24 },
  KW: { name: 'National Bank of Kuwait', bic: 'NBOKKWKW', letters: 'NBOK', digits: 22 },
  JP: { name: '三菱UFJ銀行 (MUFG Bank)', bic: 'BOTKJPJT', letters: '', digits: 0 },
  US: { name: 'JPMorgan Chase Bank', bic: 'CHASUS33', letters: '', digits: 0 },
};

function digits(rng: Rng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String(rng.int(10));
  return out;
}

/** ISO 7064 mod 97-10 over an alphanumeric string (letters count as 10…35). */
function mod97(text: string): number {
  let rest = 0;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const d of value) rest = (rest * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rest;
}

/** An IBAN with correct check digits for a country and BBAN. */
export function iban(country: string, bban: string): string {
  const check = 98 - mod97(`${bban}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

/** A plausible bank account of a supplier in `country`; some optional fields are null. */
export function bankAccountFor(rng: Rng, country: Country): BankAccount {
  const bank = BANKS[country];
  if (bank.digits === 0) {
    return {
      bankName: bank.name,
      country,
      accountNumber: digits(rng, country === 'JP' ? 7 : 10),
      bankCode: country === 'JP' ? '0005' : '021000021',
      bic: rng.chance(0.8) ? bank.bic : null,
      iban: null,
    };
  }
  const bban = bank.letters + digits(rng, bank.digits);
  const numeric = bban.slice(bank.letters.length);
  return {
    bankName: bank.name,
    country,
    accountNumber: rng.chance(0.7) ? numeric.slice(-10) : null,
    bankCode: bank.letters !== '' ? bank.letters : numeric.slice(0, 4),
    bic: rng.chance(0.85) ? bank.bic : null,
    iban: iban(country, bban),
  };
}
