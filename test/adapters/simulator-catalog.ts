/**
 * The accounting configuration built from the simulator's catalog (its "accounting system") and the
 * failure type each planted failure must get: shared by the tests that push the simulator's whole
 * catalogue through a target (hledger, DATEV).
 */
import type { AccountingConfig } from '../../src/accounting/index.js';
import { catalog, type FailureKind } from '../../src/simulator/data/index.js';

export const SEED = 4242;
export const EXPECTED_TYPE: Record<FailureKind, string> = {
  missing_account: 'missing_configuration',
  unknown_account: 'account_unknown',
  unknown_tax_code: 'tax_code_unknown',
  unknown_tag: 'tag_unknown',
  unknown_vendor: 'vendor_unknown',
  closed_period: 'accounting_system_validation_failure',
};

export function configFromCatalog(): AccountingConfig {
  const cat = catalog(SEED);
  const dayBefore = new Date(`${cat.lockDate}T00:00:00Z`);
  dayBefore.setUTCDate(dayBefore.getUTCDate() - 1);
  return {
    accounts: {
      contraByCurrency: Object.fromEntries(cat.contraAccounts.map((c) => [c.currency, c.code])),
      outOfPocket: '7110',
      accountsPayable: '7100',
      inputVat: '7200',
      outputVat: '7210',
      reverseChargeInput: '7220',
      reverseChargeOutput: '7230',
      fees: '6300',
      cashback: '3900',
      bank: '5800',
      cash: '5810',
      personalSpend: '5820',
      externalReimbursement: '5800',
    },
    knownAccounts: [
      ...cat.accounts.map((a) => ({ code: a.code, name: a.name })),
      ...cat.contraAccounts.map((c) => ({ code: c.code, name: c.name })),
    ],
    taxCodes: Object.fromEntries(cat.taxCodes.map((t) => [t.code, { rate: t.rate }])),
    tags: Object.fromEntries(cat.tagGroups.map((g) => [g.code, g.tags.map((t) => t.code)])),
    vendors: cat.vendors.map((v) => ({
      code: v.code,
      name: v.name,
      externalId: v.externalId,
      ...(v.taxRegistrationNumber ? { taxIdentifier: v.taxRegistrationNumber } : {}),
    })),
    lockDate: dayBefore.toISOString().slice(0, 10),
  };
}
