/**
 * The accounting configuration that matches the simulator's reference data (its "accounting
 * system": chart of accounts, tax codes, tags, vendors, closed period). The demo uses it, and so
 * can anyone trying pleo-export against `pleo-export simulate`: `pleo-export simulate --print-config`.
 * Items the generator breaks on purpose (unknown vendor, unknown account, missing account, closed
 * period) fail with Pleo's messages because this configuration does not know them.
 */
import type { AccountingConfig } from '../../accounting/index.js';
import { catalog } from '../../simulator/index.js';

export function simulatorAccountingConfig(seed: number): AccountingConfig {
  const c = catalog(seed);
  const byRole = (role: string): string | undefined => c.accounts.find((a) => a.role === role)?.code;
  const lock = new Date(Date.parse(`${c.lockDate}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const accounts: NonNullable<AccountingConfig['accounts']> = {
    contraByCurrency: Object.fromEntries(c.contraAccounts.map((a) => [a.currency, a.code])),
    outOfPocket: '7110',
    accountsPayable: '7100',
    inputVat: '7200',
    outputVat: '7210',
    reverseChargeInput: '7220',
    reverseChargeOutput: '7230',
  };
  // No `fees`/`cashback` fallbacks: the generator's items carry their category on every line, and a
  // line without one must fail visibly ("Account … missing") rather than land on a default account.
  const roles: [keyof typeof accounts, string][] = [
    ['bank', 'bank'],
    ['cash', 'cash'],
    ['personalSpend', 'employee_receivable'],
    ['externalReimbursement', 'bank'],
  ];
  for (const [key, role] of roles) {
    const code = byRole(role);
    if (code !== undefined) (accounts as Record<string, unknown>)[key] = code;
  }
  return {
    postingMode: 'draft',
    accounts,
    knownAccounts: [
      ...c.accounts.map((a) => ({ code: a.code, name: a.name })),
      ...c.contraAccounts.map((a) => ({ code: a.code, name: a.name })),
    ],
    taxCodes: Object.fromEntries(
      c.taxCodes.map((t) => [
        t.code,
        {
          ...(t.ingoingTaxAccount === undefined ? {} : { inputAccount: t.ingoingTaxAccount }),
          ...(t.outgoingTaxAccount === undefined ? {} : { outputAccount: t.outgoingTaxAccount }),
          rate: t.rate,
        },
      ]),
    ),
    tags: Object.fromEntries(c.tagGroups.map((g) => [g.code, g.tags.map((t) => t.code)])),
    vendors: c.vendors.map((v) => ({
      code: v.code,
      name: v.name,
      ...(v.externalId === v.code ? {} : { externalId: v.externalId }),
      ...(v.taxRegistrationNumber === null ? {} : { taxIdentifier: v.taxRegistrationNumber }),
    })),
    lockDate: lock,
    closedPeriod: 'fail',
  };
}
