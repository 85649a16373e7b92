/**
 * Static reference data the catalog and items are built from: a chart of accounts, tax codes,
 * tag groups, teams, people, vendors and merchants. Seed-independent; the catalog adds seeded
 * ids. Country codes are real ISO 3166-1 alpha-2 codes (never `UNDEFINED`, docs/decisions.md#s2).
 *
 * @module
 */
import type { Currency, TaxType } from './money.js';

/** What a chart account is used for. Expense accounts are the usual line accounts. */
export type AccountRole =
  | 'expense'
  | 'bank'
  | 'cash'
  | 'employee_receivable'
  | 'reimbursement_payable'
  | 'accounts_payable'
  | 'cashback_income'
  | 'bank_fees'
  | 'interest'
  | 'tax';

/** A real two-letter country code. */
export type Country =
  'DK' | 'SE' | 'NO' | 'DE' | 'NL' | 'IE' | 'LU' | 'GB' | 'US' | 'JP' | 'KW' | 'CH' | 'PL' | 'FR';

export const ACCOUNTS: readonly (readonly [code: string, name: string, role: AccountRole])[] = [
  ['6010', 'Travel', 'expense'],
  ['6020', 'Meals and Entertainment', 'expense'],
  ['6030', 'Software and Subscriptions', 'expense'],
  ['6040', 'Office Supplies', 'expense'],
  ['6045', 'IT Equipment', 'expense'],
  ['6050', 'Marketing and Advertising', 'expense'],
  ['6060', 'Telephone and Internet', 'expense'],
  ['6070', 'Hotels and Accommodation', 'expense'],
  ['6080', 'Fuel and Vehicle Costs', 'expense'],
  ['6085', 'Mileage Allowance', 'expense'],
  ['6090', 'Per Diem Allowance', 'expense'],
  ['6100', 'Training and Education', 'expense'],
  ['6200', 'Professional Fees', 'expense'],
  ['6210', 'Rent and Facilities', 'expense'],
  ['6300', 'Bank and Card Fees', 'bank_fees'],
  ['6310', 'Interest Expense', 'interest'],
  ['3900', 'Cashback Income', 'cashback_income'],
  ['5800', 'Bank Account', 'bank'],
  ['5810', 'Petty Cash', 'cash'],
  ['5820', 'Employee Receivables', 'employee_receivable'],
  ['7100', 'Accounts Payable', 'accounts_payable'],
  ['7110', 'Employee Reimbursements Payable', 'reimbursement_payable'],
  ['7200', 'Input VAT', 'tax'],
  ['7210', 'Output VAT', 'tax'],
  ['7220', 'Input VAT, Reverse Charge', 'tax'],
  ['7230', 'Output VAT, Reverse Charge', 'tax'],
  ['7240', 'Use Tax Payable', 'tax'],
];

/** Codes of chart accounts whose ERP identifier is unset (so `identifier: null` appears). */
export const ACCOUNTS_WITHOUT_IDENTIFIER: readonly string[] = ['6210', '3900'];

export interface TaxCodeSpec {
  readonly code: string;
  readonly rate: number;
  readonly type: TaxType;
  readonly ingoingTaxAccount?: string;
  readonly outgoingTaxAccount?: string;
}

export const TAX_CODES: readonly TaxCodeSpec[] = [
  { code: 'I25', rate: 0.25, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I20', rate: 0.2, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I19', rate: 0.19, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I12', rate: 0.12, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I10', rate: 0.1, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I08', rate: 0.08, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I081', rate: 0.081, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I23', rate: 0.23, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I06', rate: 0.06, type: 'inclusive', ingoingTaxAccount: '7200' },
  { code: 'I0', rate: 0, type: 'inclusive' },
  { code: 'E0875', rate: 0.0875, type: 'exclusive', ingoingTaxAccount: '7200', outgoingTaxAccount: '7240' },
  { code: 'RC25', rate: 0.25, type: 'reverse', ingoingTaxAccount: '7220', outgoingTaxAccount: '7230' },
];

export const TAG_GROUPS: readonly {
  code: string;
  name: string;
  tags: readonly (readonly [code: string, name: string])[];
}[] = [
  {
    code: 'DEPT',
    name: 'Department',
    tags: [
      ['D100', 'Sales'],
      ['D200', 'Engineering'],
      ['D300', 'Marketing'],
      ['D400', 'Finance'],
      ['D500', 'Operations'],
    ],
  },
  {
    code: 'PROJ',
    name: 'Project',
    tags: [
      ['P-ALPHA', 'Alpha launch'],
      ['P-BETA', 'Beta programme'],
      ['P-ORESUND', 'Øresund expansion'],
      ['P-TOKYO', 'Tokyo office 東京'],
    ],
  },
  {
    code: 'CC',
    name: 'Cost centre',
    tags: [
      ['CPH', 'Copenhagen'],
      ['STO', 'Stockholm'],
      ['OSL', 'Oslo'],
      ['LON', 'London'],
    ],
  },
];

export const TEAMS: readonly (readonly [name: string, code: string | null])[] = [
  ['Sales', 'T-SALES'],
  ['Engineering', 'T-ENG'],
  ['Marketing', 'T-MKT'],
  ['Finance', 'T-FIN'],
  ['Operations', 'T-OPS'],
  ['Leadership', null],
];

export const PEOPLE: readonly string[] = [
  'Søren Kierkegaard',
  'Karen Blixen',
  'Åsa Lindqvist',
  'Zoë Müller',
  'José García',
  'Ingrid Bjørnstad',
  'Mads Mikkelsen',
  'Freja Østergaard',
  'Liam O’Connor',
  'Yuki Tanaka',
  'Fatima Al-Sabah',
  'Noah Schmidt',
  'Emma Johansson',
  'Lars Ulrich',
  'Amélie Dubois',
  'Chen Wei 陈伟',
  'Priya Ramanathan',
  'Olga Kowalczyk',
  'Björn Ångström',
  'Ida Nørgaard',
  'Oliver Smith',
  'Sofia Rossi',
];

export interface VendorSpec {
  readonly code: string;
  readonly name: string;
  readonly currency: Currency;
  readonly country: Country;
  readonly taxRegistrationNumber?: string;
  readonly registrationNumber?: string;
  /** ERP id when it differs from the code. */
  readonly externalId?: string;
}

export const VENDORS: readonly VendorSpec[] = [
  {
    code: 'V1000',
    name: 'Pleo Technologies A/S',
    currency: 'DKK',
    country: 'DK',
    taxRegistrationNumber: 'DK36688092',
    registrationNumber: '36688092',
  },
  {
    code: 'V1001',
    name: 'Amazon Web Services EMEA SARL',
    currency: 'EUR',
    country: 'LU',
    taxRegistrationNumber: 'LU26888617',
    externalId: 'erp-7f3a01',
  },
  {
    code: 'V1002',
    name: 'Google Ireland Ltd',
    currency: 'EUR',
    country: 'IE',
    taxRegistrationNumber: 'IE6388047V',
  },
  {
    code: 'V1003',
    name: 'Microsoft Ireland Operations Ltd',
    currency: 'EUR',
    country: 'IE',
    taxRegistrationNumber: 'IE8256796U',
  },
  { code: 'V1004', name: 'Slack Technologies LLC', currency: 'USD', country: 'US' },
  {
    code: 'V1005',
    name: 'SAS Scandinavian Airlines',
    currency: 'DKK',
    country: 'DK',
    taxRegistrationNumber: 'DK56994912',
  },
  {
    code: 'V1006',
    name: 'Scandic Hotels AB',
    currency: 'SEK',
    country: 'SE',
    taxRegistrationNumber: 'SE556703748501',
    registrationNumber: '556703-7485',
  },
  {
    code: 'V1007',
    name: 'Hilton London Paddington',
    currency: 'GBP',
    country: 'GB',
    taxRegistrationNumber: 'GB123456789',
  },
  {
    code: 'V1008',
    name: 'Lyreco Danmark A/S',
    currency: 'DKK',
    country: 'DK',
    taxRegistrationNumber: 'DK16522580',
    externalId: 'erp-1c0d42',
  },
  {
    code: 'V1009',
    name: 'Apple Distribution International',
    currency: 'EUR',
    country: 'IE',
    taxRegistrationNumber: 'IE9700053D',
  },
  {
    code: 'V1010',
    name: 'Telenor Norge AS',
    currency: 'NOK',
    country: 'NO',
    taxRegistrationNumber: 'NO976967631MVA',
  },
  {
    code: 'V1011',
    name: 'TDC Erhverv A/S',
    currency: 'DKK',
    country: 'DK',
    taxRegistrationNumber: 'DK40075291',
  },
  {
    code: 'V1012',
    name: 'LinkedIn Ireland Unlimited Company',
    currency: 'EUR',
    country: 'IE',
    taxRegistrationNumber: 'IE9740425P',
  },
  {
    code: 'V1013',
    name: 'Deloitte Statsautoriseret Revisionspartnerselskab',
    currency: 'DKK',
    country: 'DK',
    taxRegistrationNumber: 'DK33963556',
  },
  {
    code: 'V1014',
    name: 'Regus Management ApS',
    currency: 'DKK',
    country: 'DK',
    registrationNumber: '25578216',
  },
  {
    code: 'V1015',
    name: 'Kontorland Sverige AB',
    currency: 'SEK',
    country: 'SE',
    taxRegistrationNumber: 'SE556012345601',
  },
  {
    code: 'V1016',
    name: 'Deutsche Bahn AG',
    currency: 'EUR',
    country: 'DE',
    taxRegistrationNumber: 'DE811569869',
  },
  {
    code: 'V1017',
    name: '株式会社オフィス東京 (Office Tokyo KK)',
    currency: 'JPY',
    country: 'JP',
    registrationNumber: 'T1234567890123',
  },
  { code: 'V1018', name: 'Al Ghanim Business Services W.L.L.', currency: 'KWD', country: 'KW' },
  {
    code: 'V1019',
    name: 'Swiss International Air Lines AG',
    currency: 'CHF',
    country: 'CH',
    taxRegistrationNumber: 'CHE-115.985.532 MWST',
  },
];

/** Vendors that deliberately do not exist in the accounting system (unknown_vendor failures). */
export const UNKNOWN_VENDORS: readonly VendorSpec[] = [
  { code: 'V9001', name: 'Blocked Supplier ApS', currency: 'DKK', country: 'DK' },
  { code: 'V9002', name: 'Deleted Vendor Ltd', currency: 'GBP', country: 'GB' },
];

export const COMPANY_NAMES: readonly string[] = [
  'Nordlys Consulting ApS',
  'Fjord & Co A/S',
  'Kaffebrænderiet ApS',
  'Skärgård Design AB',
  'Midnight Sun AS',
  'Hygge Software ApS',
  'Östersjön Logistik AB',
  'Brightwater Analytics Ltd',
];

/** Notes: short, long, and with non-ASCII text. `null` entries leave the note empty. */
export const NOTES: readonly (string | null)[] = [
  null,
  null,
  'Client lunch',
  'Team offsite',
  'Kaffe & kage til mødet ☕',
  'Taxi fra lufthavnen til hotellet',
  '東京出張 — タクシー代',
  'Licens for Q3',
  'Møde med kunden i Malmö – inkl. bro-afgift',
  'Conference travel: Web Summit 🚀',
  'Hotel for the Øresund project kick-off; breakfast included. Room upgrade paid privately.',
  'Replacement charger (old one broke) 🔌',
  'Årsabonnement — fornyes automatisk',
  'Quarterly board dinner with investors. Attendees listed separately. Wine pairing was ' +
    'approved in advance by the CFO (see e-mail thread "Board dinner budget"). The restaurant ' +
    'added a 10% service charge which is included in the total. Receipt is in Danish; the ' +
    'second page is the itemised bill. Please split between Sales and Leadership as agreed ' +
    'at the last budget review, and tag the project so marketing can report on it.',
  'Per aftale med økonomi: fordeles på to afdelinger.\nLinje 1: Salg\nLinje 2: Udvikling',
  'العشاء مع العميل',
];
