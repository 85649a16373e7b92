/**
 * A throwaway Tryton per test file: the bootstrapped template database is built once per machine
 * (cached in the OS temp dir, keyed by spec, script and trytond version) and copied for every
 * server. Tryton missing is a failure, never a skip: CI installs it (`.ci/run`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  createTrytonAdapter,
  prepareTrytonTemplate,
  startTryton,
  trytonMissing,
  type BootstrapSummary,
  type RunningTryton,
  type TrytonAdapter,
  type TrytonAdapterOptions,
  type TrytonBootstrapSpec,
} from '../../../src/adapters/tryton/index.js';

type Kind = TrytonBootstrapSpec['companies'][number]['accounts'][number]['kind'];
const ACCOUNTS: [string, string, Kind][] = [
  ['1910', 'Cash', 'asset'],
  ['1920', 'Pleo EUR wallet', 'asset'],
  ['1921', 'Pleo EUR wallet (item contra)', 'asset'],
  ['1922', 'Pleo EUR wallet (per currency)', 'asset'],
  ['1930', 'Bank', 'asset'],
  ['2440', 'Accounts payable', 'payable'],
  ['2441', 'Accounts payable Acme', 'payable'],
  ['2610', 'Output VAT', 'tax'],
  ['2615', 'Output VAT reverse charge', 'tax'],
  ['2617', 'Output VAT reverse charge (item)', 'tax'],
  ['2640', 'Input VAT', 'tax'],
  ['2641', 'Input VAT S25', 'tax'],
  ['2645', 'Input VAT reverse charge', 'tax'],
  ['2647', 'Input VAT reverse charge (item)', 'tax'],
  ['2820', 'Employee payables', 'liability'],
  ['3740', 'Rounding differences', 'expense'],
  ['3990', 'Cashback', 'revenue'],
  ['5800', 'Travel (out of pocket)', 'expense'],
  ['5810', 'Mileage', 'expense'],
  ['5820', 'Per diem', 'expense'],
  ['6010', 'Hotel', 'expense'],
  ['6011', 'Hotel (override)', 'expense'],
  ['6020', 'Software', 'expense'],
  ['6540', 'IT services', 'expense'],
  ['6570', 'Bank fees', 'expense'],
  ['7210', 'External reimbursements', 'asset'],
];

export const TRYTON_USER = { login: 'pleo-eur', password: 'Tq7m-Kx2p-Wz9r-Eu4b' };
export const TRYTON_COMPANY = 'Pleo Test EUR';

export const TRYTON_SPEC: TrytonBootstrapSpec = {
  currencies: [
    { code: 'EUR', name: 'Euro', digits: 2, rates: [{ date: '2020-01-01', rate: '1' }] },
    { code: 'USD', name: 'US Dollar', digits: 2, rates: [{ date: '2020-01-01', rate: '1.1' }] },
    { code: 'JPY', name: 'Yen', digits: 0, rates: [{ date: '2020-01-01', rate: '160' }] },
    { code: 'KWD', name: 'Kuwaiti Dinar', digits: 3, rates: [{ date: '2020-01-01', rate: '0.33' }] },
    { code: 'DKK', name: 'Danish Krone', digits: 2, rates: [{ date: '2020-01-01', rate: '7.46' }] },
    { code: 'SEK', name: 'Swedish Krona', digits: 2, rates: [{ date: '2020-01-01', rate: '11.2' }] },
  ],
  companies: [
    {
      name: TRYTON_COMPANY,
      currency: 'EUR',
      fiscalYears: [2025, 2026, 2027],
      taxAccount: '2640',
      accounts: ACCOUNTS.map(([code, name, kind]) => ({ code, name, kind })),
      users: [TRYTON_USER],
    },
    {
      name: 'Other Company DKK',
      currency: 'DKK',
      fiscalYears: [2026],
      accounts: [{ code: '1920', name: 'Pleo DKK', kind: 'asset' }],
      users: [{ login: 'pleo-dkk', password: 'Rn3v-Lc8d-Hy5s-Jp6f' }],
    },
  ],
};

export const ADMIN_PASSWORD = 'Zk4w-Admin-Vb7n-Qe2t';

let template: Promise<{ file: string; summary: BootstrapSummary }> | undefined;

/** The cached template (built on first use: 15-100 s). Throws when Tryton is not installed. */
export function trytonTemplate(): Promise<{ file: string; summary: BootstrapSummary }> {
  const missing = trytonMissing();
  if (missing) throw new Error(`Tryton is required for these tests and is not installed here: ${missing}`);
  template ??= prepareTrytonTemplate({
    cacheDir: join(tmpdir(), 'pleo-export-tryton-cache'),
    spec: TRYTON_SPEC,
    adminPassword: ADMIN_PASSWORD,
  });
  return template;
}

export interface TestTryton extends RunningTryton {
  summary: BootstrapSummary;
  options(extra?: Partial<TrytonAdapterOptions>): TrytonAdapterOptions;
  adapter(extra?: Partial<TrytonAdapterOptions>): TrytonAdapter;
  /** An admin adapter (for reading the books independently of the user under test). */
  admin(): TrytonAdapter;
  cleanup(): Promise<void>;
}

/** Starts a fresh server on a copy of the template. */
export async function startTestTryton(): Promise<TestTryton> {
  const { file, summary } = await trytonTemplate();
  const dir = await mkdtemp(join(tmpdir(), 'pleo-tryton-'));
  const server = await startTryton({ templateFile: file, dir, database: 'pleo' });
  const options = (extra: Partial<TrytonAdapterOptions> = {}): TrytonAdapterOptions => ({
    url: server.url,
    database: server.database,
    username: TRYTON_USER.login,
    password: TRYTON_USER.password,
    company: TRYTON_COMPANY,
    ...extra,
  });
  return {
    ...server,
    summary,
    options,
    adapter: (extra) => createTrytonAdapter(options(extra)),
    admin: () => createTrytonAdapter(options({ username: 'admin', password: ADMIN_PASSWORD })),
    async cleanup() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface BookedLine {
  account: string;
  /** debit − credit in company currency minor units (EUR cents). */
  amount: number;
  second?: { currency: string; value: number };
  party: number | null;
}

const minor = (text: unknown, digits: number): number => {
  const [whole = '0', frac = ''] = String(text).replace('-', '').split('.');
  const v = Number(`${whole}${frac.padEnd(digits, '0').slice(0, digits)}`);
  return String(text).startsWith('-') ? -v : v;
};

/** Everything Tryton holds for a key, read as admin: documents, their states and move lines. */
export async function inspectKey(admin: TrytonAdapter, key: string) {
  const rpc = admin.rpc;
  const domain = (markers: string[]) => [
    'OR',
    ...markers.flatMap((m) => [
      ['description', '=', `${m}:${key}`],
      ['description', 'like', `${m}:${key} %`],
    ]),
  ];
  const moves = await rpc.searchRead(
    'account.move',
    domain(['pleo', 'pleo-pending', 'pleo-posted', 'pleo-settlement']),
    ['description', 'state', 'number', 'lines'],
  );
  const invoices = await rpc.searchRead('account.invoice', domain(['pleo', 'pleo-pending', 'pleo-posted']), [
    'description',
    'state',
    'move',
    'number',
    'reference',
    'party',
  ]);
  const moveIds = [
    ...moves.map((m) => m['id'] as number),
    ...invoices.map((i) => i['move']).filter((m): m is number => typeof m === 'number'),
  ];
  const rows = moveIds.length
    ? await rpc.searchRead(
        'account.move.line',
        [['move', 'in', moveIds]],
        ['account.code', 'debit', 'credit', 'amount_second_currency', 'second_currency.code', 'party'],
      )
    : [];
  const currencies: Record<string, number> = { EUR: 2, USD: 2, JPY: 0, KWD: 3, DKK: 2, SEK: 2 };
  const lines: BookedLine[] = rows.map((r) => {
    const rel = (name: string, field: string): unknown =>
      (r[`${name}.`] as Record<string, unknown> | null | undefined)?.[field];
    const second = rel('second_currency', 'code');
    const line: BookedLine = {
      account: String(rel('account', 'code')),
      amount: minor(r['debit'], 2) - minor(r['credit'], 2),
      party: (r['party'] as number | null) ?? null,
    };
    if (typeof second === 'string')
      line.second = { currency: second, value: minor(r['amount_second_currency'], currencies[second] ?? 2) };
    return line;
  });
  const resources = [
    ...moves.map((m) => `account.move,${String(m['id'])}`),
    ...invoices.map((i) => `account.invoice,${String(i['id'])}`),
  ];
  const attachments = resources.length
    ? await rpc.searchRead(
        'ir.attachment',
        [['resource', 'in', resources]],
        ['name', 'resource', 'data_size'],
      )
    : [];
  return { moves, invoices, lines, attachments };
}
