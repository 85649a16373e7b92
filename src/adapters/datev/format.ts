/**
 * Renders DATEV EXTF lines: the header, the column line and the rows of one accounting entry.
 *
 * Mapping of a balanced entry to DATEV rows (each row books one amount from `Konto` (debit, "S")
 * to `Gegenkonto` (credit)):
 * 1. a self-assessed tax pair (input tax debit and output tax credit of one line, equal amounts)
 *    becomes one row input → output;
 * 2. the other postings are paired in order, debits against credits, splitting an amount where one
 *    posting meets several on the other side. An expense with VAT paid from the wallet gives two
 *    rows (expense → wallet, input VAT → wallet); an AP card purchase gives the invoice rows against
 *    the vendor and the settlement row vendor → wallet.
 * VAT is booked as explicit rows on the configured tax accounts with an empty BU-Schlüssel, so the
 * file holds exactly the entry's postings (DATEV does not add tax of its own).
 */
import { currencyExponent, type AccountingEntry, type Posting } from '../../accounting/index.js';
import {
  COL,
  COLUMNS,
  FORMAT_CATEGORY,
  FORMAT_NAME,
  FORMAT_VERSION,
  HEADER_FIELD_COUNT,
  HEADER_TEXT_FIELDS,
  HEADER_VERSION,
  INFO,
  TEXT_COLUMNS,
} from './columns.js';
import { toCp1252Text } from './cp1252.js';

export const LINE_END = '\r\n';

/** A text field: CP1252-safe, one line, at most `max` characters, quotes doubled. */
export function textField(value: string, max: number): string {
  return `"${toCp1252Text(value).slice(0, max).replace(/"/g, '""')}"`;
}

/** Minor units → DATEV amount without sign, comma decimal, exactly two decimals ("1234,50"). */
export function datevAmount(minor: number, currency: string): string | null {
  const exponent = currencyExponent(currency);
  const abs = Math.abs(minor);
  let cents: number;
  if (exponent <= 2) cents = abs * 10 ** (2 - exponent);
  else {
    const factor = 10 ** (exponent - 2);
    if (abs % factor !== 0) return null; // DATEV amounts have two decimals: not representable
    cents = abs / factor;
  }
  if (!Number.isSafeInteger(cents) || cents === 0 || cents > 9_999_999_999_99) return null;
  const text = String(cents).padStart(3, '0');
  return `${text.slice(0, -2)},${text.slice(-2)}`;
}

const compact = (isoDate: string): string => isoDate.replace(/-/g, '');
/** ISO date → DDMM (Belegdatum). */
export const ddmm = (isoDate: string): string => `${isoDate.slice(8, 10)}${isoDate.slice(5, 7)}`;
/** ISO date → DDMMYYYY (Fälligkeit, Leistungsdatum). */
export const ddmmyyyy = (isoDate: string): string =>
  `${isoDate.slice(8, 10)}${isoDate.slice(5, 7)}${isoDate.slice(0, 4)}`;

/** Belegfeld 1 keeps only the characters DATEV allows there (A-Z a-z 0-9 _ $ % - /), max. 36. */
export function belegfeld(value: string): string {
  return value.replace(/[^A-Za-z0-9_$%/-]/g, '').slice(0, 36);
}

export interface BatchHeader {
  /** `yyyyMMddHHmmssfff`, fixed when the file is created. */
  createdAt: string;
  consultantNumber: number;
  clientNumber: number;
  /** ISO dates. */
  fiscalYearStart: string;
  accountLength: number;
  dateFrom: string;
  dateTo: string;
  description: string;
  dictationInitials: string;
  currency: string;
  /** '03', '04' or '' */
  chart: string;
}

export function headerLine(h: BatchHeader): string {
  const fields: string[] = new Array<string>(HEADER_FIELD_COUNT).fill('');
  const set = (n: number, value: string | number): void => {
    fields[n - 1] = HEADER_TEXT_FIELDS.has(n) ? `"${String(value)}"` : String(value);
  };
  for (const n of HEADER_TEXT_FIELDS) set(n, '');
  set(1, 'EXTF');
  set(2, HEADER_VERSION);
  set(3, FORMAT_CATEGORY);
  set(4, FORMAT_NAME);
  set(5, FORMAT_VERSION);
  set(6, h.createdAt);
  set(9, 'pleo-export');
  set(11, h.consultantNumber);
  set(12, h.clientNumber);
  set(13, compact(h.fiscalYearStart));
  set(14, h.accountLength);
  set(15, compact(h.dateFrom));
  set(16, compact(h.dateTo));
  fields[16] = textField(h.description, 30);
  set(18, h.dictationInitials);
  set(19, 1); // Buchungstyp 1 = Finanzbuchführung
  set(20, 0); // Rechnungslegungszweck 0 = unabhängig
  set(21, 0); // Festschreibung per row (column 114)
  set(22, h.currency);
  set(27, h.chart);
  return fields.join(';');
}

export function columnLine(): string {
  return COLUMNS.join(';');
}

export interface Row {
  debit: Posting;
  credit: Posting;
  /** Minor units, > 0. */
  value: number;
}

/** Pairs the postings of a balanced entry into DATEV rows (see the module comment). */
export function pairPostings(postings: readonly Posting[]): Row[] {
  const rows: Row[] = [];
  const rest: { posting: Posting; left: number }[] = postings
    .filter((p) => p.amount.value !== 0)
    .map((p) => ({ posting: p, left: p.amount.value }));
  const isTax = (p: Posting): boolean => p.role === 'tax' || p.role === 'reverse_charge_tax';
  for (let i = 0; i + 1 < rest.length; i++) {
    const a = rest[i];
    const b = rest[i + 1];
    if (!a || !b || a.left === 0 || b.left === 0) continue;
    if (!isTax(a.posting) || !isTax(b.posting) || a.posting.lineId !== b.posting.lineId) continue;
    if (a.left !== -b.left) continue;
    const [debit, credit] = a.left > 0 ? [a, b] : [b, a];
    rows.push({ debit: debit.posting, credit: credit.posting, value: debit.left });
    a.left = 0;
    b.left = 0;
  }
  const debits = rest.filter((r) => r.left > 0);
  const credits = rest.filter((r) => r.left < 0);
  let d = 0;
  let c = 0;
  while (d < debits.length && c < credits.length) {
    const debit = debits[d];
    const credit = credits[c];
    if (!debit || !credit) break;
    const value = Math.min(debit.left, -credit.left);
    rows.push({ debit: debit.posting, credit: credit.posting, value });
    debit.left -= value;
    credit.left += value;
    if (debit.left === 0) d += 1;
    if (credit.left === 0) c += 1;
  }
  if (d < debits.length || c < credits.length) throw new Error('entry does not balance');
  return rows;
}

export interface RowOptions {
  /** Beleglink for the entry's first receipt (already expanded), or ''. */
  beleglink: string;
  /** Links of the 2nd-4th receipts (Beleginfo 6-8); all receipts are counted in Beleginfo 5. */
  moreReceipts: readonly string[];
  receiptCount: number;
  /** Dimension keys to write as KOST1 / KOST2. */
  kost1?: string;
  kost2?: string;
}

function lineSide(row: Row): Posting {
  const lineRoles = new Set(['expense', 'tax', 'reverse_charge_tax', 'revenue', 'rounding', 'other']);
  return lineRoles.has(row.debit.role) ? row.debit : row.credit;
}

/** KOST1/KOST2: letters, digits and spaces only, max. 36 (DATEV's Kostenstelle format). */
export function kostField(value: string | undefined): string {
  return `"${toCp1252Text(value ?? '')
    .replace(/[^A-Za-z0-9 ]/g, '')
    .replace(/ +/g, ' ')
    .trim()
    .slice(0, 36)}"`;
}

/** The entry's rows as CSV lines (without line ends). Amounts are checked by the caller. */
export function entryLines(entry: AccountingEntry, rows: readonly Row[], options: RowOptions): string[] {
  const document =
    (entry.kind === 'supplier_invoice' ||
      entry.kind === 'supplier_credit_note' ||
      entry.kind === 'payment') &&
    entry.invoice
      ? belegfeld(entry.invoice.number)
      : '';
  const belegfeld1 = document || belegfeld(entry.accountingEntryId);
  const infos: [string, string][] = [];
  if (entry.metadata.supplierAmount) infos.push([INFO.supplierAmount, entry.metadata.supplierAmount]);
  if (entry.counterparty?.name) infos.push([INFO.party, entry.counterparty.name]);
  return rows.map((row, index) => {
    const f: string[] = COLUMNS.map((_, i) => (TEXT_COLUMNS.has(i + 1) ? '""' : ''));
    const put = (n: number, value: string): void => {
      f[n - 1] = value;
    };
    put(COL.umsatz, datevAmount(row.value, entry.currency) ?? '');
    put(COL.sollHaben, '"S"');
    put(COL.wkzUmsatz, `"${entry.currency}"`);
    put(COL.konto, row.debit.account);
    put(COL.gegenkonto, row.credit.account);
    put(COL.belegdatum, ddmm(entry.date));
    put(COL.belegfeld1, `"${belegfeld1}"`);
    put(COL.buchungstext, textField(entry.description, 60));
    put(COL.beleglink, textField(options.beleglink, 210));
    const beleginfo: [string, string][] = [
      [INFO.entryId, entry.accountingEntryId],
      [INFO.row, `${String(index + 1)}/${String(rows.length)}`],
      [INFO.reconciliation, entry.reconciliationId],
      [INFO.job, entry.jobId],
    ];
    if (options.receiptCount > 0) {
      beleginfo.push([INFO.receipts, String(options.receiptCount)]);
      for (const more of options.moreReceipts.slice(0, 3)) beleginfo.push([INFO.receipt, more]);
    }
    beleginfo.forEach(([art, inhalt], i) => {
      put(COL.beleginfoArt1 + 2 * i, textField(art, 20));
      put(COL.beleginfoArt1 + 2 * i + 1, textField(inhalt, 210));
    });
    const dims = lineSide(row).dimensions;
    if (options.kost1) put(COL.kost1, kostField(dims[options.kost1]));
    if (options.kost2) put(COL.kost2, kostField(dims[options.kost2]));
    infos.forEach(([art, inhalt], i) => {
      put(COL.zusatzArt1 + 2 * i, textField(art, 20));
      put(COL.zusatzArt1 + 2 * i + 1, textField(inhalt, 210));
    });
    put(COL.festschreibung, entry.posting === 'final' ? '1' : '0');
    if (entry.invoice?.dueDate) put(COL.faelligkeit, ddmmyyyy(entry.invoice.dueDate));
    return f.join(';');
  });
}
