/**
 * `pleo-export demo --target tryton`: a throwaway Tryton whose chart of accounts, currencies and
 * closed periods follow the demo's accounting configuration, and the adapter block that books
 * into it. Needs Debian's Tryton 6.0 packages; the first run builds the database (1-2 minutes),
 * later runs copy the cached one from `<dir>/tryton-cache/`.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import type { AccountingConfig } from '../../accounting/index.js';
import { ConfigError } from '../../errors/index.js';
import { prepareTrytonTemplate, startTryton, trytonMissing, type TrytonBootstrapSpec } from './bootstrap.js';
import type { ParsedTrytonConfig } from './config.js';
import { createTrytonAdapter } from './adapter.js';

/**
 * Indicative rates against EUR for the demo's throwaway books only (a real Tryton fetches its
 * rates: Currency › Rate Update). Currencies not listed are created without a rate.
 */
const DEMO_RATES: Readonly<Record<string, [name: string, digits: number, rate: string]>> = {
  EUR: ['Euro', 2, '1'],
  USD: ['US Dollar', 2, '1.08'],
  GBP: ['Pound Sterling', 2, '0.85'],
  DKK: ['Danish Krone', 2, '7.46'],
  SEK: ['Swedish Krona', 2, '11.3'],
  NOK: ['Norwegian Krone', 2, '11.6'],
  CHF: ['Swiss Franc', 2, '0.95'],
  PLN: ['Zloty', 2, '4.3'],
  CZK: ['Czech Koruna', 2, '25.1'],
  HUF: ['Forint', 2, '395'],
  JPY: ['Yen', 0, '160'],
  CAD: ['Canadian Dollar', 2, '1.47'],
  AUD: ['Australian Dollar', 2, '1.65'],
  KWD: ['Kuwaiti Dinar', 3, '0.33'],
};

type Kind = TrytonBootstrapSpec['companies'][number]['accounts'][number]['kind'];

/** The chart the demo needs: every account the accounting configuration can post to, by kind. */
export function demoChart(accounting: AccountingConfig): { code: string; name: string; kind: Kind }[] {
  const kinds = new Map<string, Kind>();
  const names = new Map<string, string>();
  const a = accounting.accounts ?? {};
  const put = (code: string | undefined, kind: Kind): void => {
    if (code !== undefined && !kinds.has(code)) kinds.set(code, kind);
  };
  put(a.accountsPayable, 'payable');
  for (const v of accounting.vendors ?? []) put(v.account, 'payable');
  for (const code of [a.inputVat, a.outputVat, a.reverseChargeInput, a.reverseChargeOutput]) put(code, 'tax');
  for (const t of Object.values(accounting.taxCodes ?? {})) {
    put(t.inputAccount, 'tax');
    put(t.outputAccount, 'tax');
  }
  for (const code of [a.contra, a.wallet, a.bank, a.cash, a.externalReimbursement, a.personalSpend])
    put(code, 'asset');
  for (const code of Object.values(a.contraByCurrency ?? {})) put(code, 'asset');
  put(a.outOfPocket, 'liability');
  put(a.cashback, 'revenue');
  for (const code of [a.fees, a.roundingDifference]) put(code, 'expense');
  for (const k of accounting.knownAccounts ?? []) {
    const code = typeof k === 'string' ? k : k.code;
    if (typeof k !== 'string') names.set(code, k.name);
    put(code, 'expense');
  }
  for (const code of Object.values(accounting.categoryOverrides ?? {})) put(code, 'expense');
  return [...kinds].map(([code, kind]) => ({ code, name: names.get(code) ?? `Account ${code}`, kind }));
}

export interface TrytonDemo {
  /** The `adapter` block for the demo company (password inline: a throwaway database). */
  adapter: ParsedTrytonConfig;
  url: string;
  /** Where trytond's database, configuration and log are. */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway Tryton for the demo. `currency` is the company's currency (its books);
 * entries in other wallet currencies are converted at the demo rates. Periods up to
 * `accounting.lockDate` are closed, as a bookkeeper would have closed them.
 */
export async function startTrytonDemo(options: {
  dir: string;
  accounting: AccountingConfig;
  currency: string;
  /** Fiscal years to create. @default from the lock date's year (or two years ago) to next year */
  years?: number[];
  /** Where the bootstrapped database is cached between runs. @default `<dir>/tryton-cache` */
  cacheDir?: string;
  now?: () => number;
}): Promise<TrytonDemo> {
  const missing = trytonMissing();
  if (missing) throw new ConfigError(`pleo-export demo --target tryton needs Tryton 6.0: ${missing}`);
  const year = new Date((options.now ?? Date.now)()).getUTCFullYear();
  const lock = options.accounting.lockDate;
  const first = Math.min(lock === undefined ? year - 2 : Number(lock.slice(0, 4)), year - 1);
  const years = options.years ?? Array.from({ length: year + 2 - first }, (_, i) => first + i);
  const login = 'pleo-export';
  // The database is cached, so its passwords are too: they live only in that local cache.
  const spec: TrytonBootstrapSpec = {
    currencies: Object.entries(DEMO_RATES).map(([code, [name, digits, rate]]) => ({
      code,
      name,
      digits,
      rates: [{ date: `${Math.min(...years)}-01-01`, rate }],
    })),
    companies: [
      {
        name: 'Pleo Demo Company',
        currency: options.currency,
        fiscalYears: years,
        accounts: demoChart(options.accounting),
        users: [{ login, password: 'Dx7Qm-Rk2Vp-Lw9Zb' }],
      },
    ],
  };
  const { file } = await prepareTrytonTemplate({
    cacheDir: options.cacheDir ?? join(options.dir, 'tryton-cache'),
    spec,
    adminPassword: 'Hy3Nc-Tf8Js-Gq5Wa',
  });
  const server = await startTryton({
    templateFile: file,
    dir: join(options.dir, `tryton-${randomBytes(4).toString('hex')}`),
    database: 'pleo_demo',
  });
  const lockDate = options.accounting.lockDate;
  if (lockDate !== undefined) {
    const admin = createTrytonAdapter({
      url: server.url,
      database: server.database,
      username: 'admin',
      password: 'Hy3Nc-Tf8Js-Gq5Wa',
      company: 'Pleo Demo Company',
    });
    try {
      const periods = await admin.rpc.searchRead(
        'account.period',
        [
          [
            'end_date',
            '<=',
            {
              __class__: 'date',
              year: Number(lockDate.slice(0, 4)),
              month: Number(lockDate.slice(5, 7)),
              day: Number(lockDate.slice(8, 10)),
            },
          ],
          ['state', '=', 'open'],
        ],
        ['id'],
      );
      if (periods.length > 0)
        await admin.rpc.call('model.account.period.close', [periods.map((p) => p['id'])]);
    } finally {
      await admin.close();
    }
  }
  return {
    url: server.url,
    dir: server.dir,
    stop: () => server.stop(),
    adapter: {
      type: 'tryton',
      url: server.url,
      database: server.database,
      username: login,
      password: 'Dx7Qm-Rk2Vp-Lw9Zb',
      company: 'Pleo Demo Company',
      journal: 'CASH',
      invoiceJournal: 'EXP',
      supplierInvoices: true,
      accounts: {},
      timeoutMs: 30_000,
      language: 'en',
      postingMode: options.accounting.postingMode === 'final' ? 'posted' : 'draft',
    },
  };
}
