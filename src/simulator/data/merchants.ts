/**
 * Merchants (card and invoice counterparties) and ATMs: name, MCC, country, currency, the
 * expense account and tax code a bookkeeper would use, the vendor they are in the accounting
 * system (if any) and a typical amount range in EUR.
 *
 * @module
 */
import type { Currency } from './money.js';
import type { Country } from './reference.js';

/** Where a merchant shows up: card spend, supplier invoices, or both. */
export type MerchantUse = 'card' | 'invoice' | 'both';

export interface MerchantSpec {
  readonly name: string;
  readonly mcc: string;
  readonly country: Country;
  readonly currency: Currency;
  readonly account: string;
  readonly taxCode: string;
  readonly vendorCode: string | null;
  readonly minEur: number;
  readonly maxEur: number;
  readonly use: MerchantUse;
}

const m = (
  name: string,
  mcc: string,
  country: Country,
  currency: Currency,
  account: string,
  taxCode: string,
  vendorCode: string | null,
  minEur: number,
  maxEur: number,
  use: MerchantUse = 'card',
): MerchantSpec => ({ name, mcc, country, currency, account, taxCode, vendorCode, minEur, maxEur, use });

export const MERCHANTS: readonly MerchantSpec[] = [
  m('AWS EMEA SARL', '5734', 'LU', 'EUR', '6030', 'RC25', 'V1001', 20, 2500, 'both'),
  m('GOOGLE*ADS8693645259', '7311', 'IE', 'EUR', '6050', 'RC25', 'V1002', 50, 4000, 'both'),
  m('MSFT*Microsoft 365', '5734', 'IE', 'EUR', '6030', 'RC25', 'V1003', 10, 600, 'both'),
  m('SLACK T0123ABCD', '5734', 'US', 'USD', '6030', 'E0875', 'V1004', 8, 900),
  m('ZOOM.US 888-799-9666', '5734', 'US', 'USD', '6030', 'E0875', null, 15, 300),
  m('COURSERA.ORG', '8299', 'US', 'USD', '6100', 'E0875', null, 40, 500),
  m('NOTION LABS', '5734', 'US', 'USD', '6030', 'RC25', null, 8, 400),
  m('SAS Scandinavian Airlines', '4511', 'DK', 'DKK', '6010', 'I0', 'V1005', 80, 1500, 'both'),
  m('DSB Billetautomat', '4111', 'DK', 'DKK', '6010', 'I25', null, 3, 60),
  m('Taxa 4x35', '4121', 'DK', 'DKK', '6010', 'I25', null, 10, 80),
  m('Café Ørsted', '5812', 'DK', 'DKK', '6020', 'I25', null, 5, 120),
  m('Restaurant Kødbyen', '5812', 'DK', 'DKK', '6020', 'I25', null, 40, 900),
  m('Circle K Valby', '5541', 'DK', 'DKK', '6080', 'I25', null, 20, 150),
  m('Lyreco Danmark', '5943', 'DK', 'DKK', '6040', 'I25', 'V1008', 10, 800, 'both'),
  m('TDC Erhverv', '4814', 'DK', 'DKK', '6060', 'I25', 'V1011', 20, 600, 'both'),
  m('Scandic Hotels', '7011', 'SE', 'SEK', '6070', 'I12', 'V1006', 90, 900, 'both'),
  m('Restaurang Tradition', '5812', 'SE', 'SEK', '6020', 'I12', null, 20, 300),
  m('SJ AB', '4112', 'SE', 'SEK', '6010', 'I06', null, 10, 200),
  m('Kontorland', '5943', 'SE', 'SEK', '6040', 'I25', 'V1015', 15, 600, 'both'),
  m('Telenor Norge', '4814', 'NO', 'NOK', '6060', 'I25', 'V1010', 20, 500, 'both'),
  m('Vy Tog', '4112', 'NO', 'NOK', '6010', 'I12', null, 8, 150),
  m('Hilton London Paddington', '7011', 'GB', 'GBP', '6070', 'I20', 'V1007', 120, 1200, 'both'),
  m('Pret A Manger', '5814', 'GB', 'GBP', '6020', 'I20', null, 4, 40),
  m('Trainline.com', '4112', 'GB', 'GBP', '6010', 'I0', null, 10, 300),
  m('DB Fernverkehr', '4112', 'DE', 'EUR', '6010', 'I19', 'V1016', 20, 400, 'both'),
  m('Uber *Trip', '4121', 'NL', 'EUR', '6010', 'I0', null, 8, 90),
  m('LinkedIn Ads', '7311', 'IE', 'EUR', '6050', 'RC25', 'V1012', 50, 3000, 'both'),
  m('Apple Store Online', '5732', 'IE', 'EUR', '6045', 'RC25', 'V1009', 30, 4000, 'both'),
  m('Hotel Okura Tokyo', '7011', 'JP', 'JPY', '6070', 'I10', null, 150, 900),
  m('Tokyo MK Taxi', '4121', 'JP', 'JPY', '6010', 'I10', null, 10, 120),
  m('スターバックス 渋谷店', '5814', 'JP', 'JPY', '6020', 'I08', null, 4, 30),
  m('Office Tokyo KK', '5943', 'JP', 'JPY', '6040', 'I10', 'V1017', 30, 2000, 'both'),
  m('The Avenues Mall', '5999', 'KW', 'KWD', '6040', 'I0', null, 10, 400),
  m('Jazeera Airways', '4511', 'KW', 'KWD', '6010', 'I0', null, 80, 900),
  m('Al Ghanim Business Services', '7399', 'KW', 'KWD', '6200', 'I0', 'V1018', 200, 5000, 'both'),
  m('SWISS.COM', '4511', 'CH', 'CHF', '6010', 'I081', 'V1019', 100, 1800, 'both'),
  m('Żabka Warszawa', '5411', 'PL', 'PLN', '6020', 'I23', null, 2, 40),
  m('Deloitte', '8931', 'DK', 'DKK', '6200', 'I25', 'V1013', 500, 20000, 'invoice'),
  m('Regus Copenhagen', '6513', 'DK', 'DKK', '6210', 'I25', 'V1014', 300, 8000, 'invoice'),
];

/** Merchants for cash withdrawals (MCC 6011). */
export const ATMS: readonly MerchantSpec[] = [
  m('Danske Bank ATM Nørreport', '6011', 'DK', 'DKK', '5810', 'I0', null, 20, 400),
  m('Seven Bank ATM 新宿', '6011', 'JP', 'JPY', '5810', 'I0', null, 60, 500),
  m('NBK ATM Kuwait City', '6011', 'KW', 'KWD', '5810', 'I0', null, 50, 500),
  m('Barclays Cash Machine', '6011', 'GB', 'GBP', '5810', 'I0', null, 20, 300),
];
