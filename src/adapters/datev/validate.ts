/**
 * A validator for DATEV EXTF "Buchungsstapel" files (header version 700, format category 21,
 * format version 13), written from DATEV's published format description: encoding (CP1252, CRLF,
 * no byte order mark), the 31 header fields, the 125 column names in order, and per row the field
 * count, quoting of text fields, number and date formats, account lengths, allowed characters and
 * field lengths. Every file the adapter's tests write is checked with it; `check` uses it on the
 * files already in the output directory.
 */
import { COL, COLUMNS, HEADER_FIELD_COUNT, HEADER_TEXT_FIELDS, TEXT_COLUMNS } from './columns.js';
import { decodeCp1252, isUndefinedCp1252Byte } from './cp1252.js';

export interface DatevProblem {
  /** 1-based line number in the file (0 = the file as a whole). */
  line: number;
  /** 1-based field (header) or column (rows) number, when the problem is in one field. */
  field?: number;
  message: string;
}

export interface ParsedField {
  value: string;
  quoted: boolean;
}

/** Splits one CSV line (`;`-separated, `"` quoting with `""` escapes). Null when the quoting is broken. */
export function parseLine(line: string): ParsedField[] | null {
  const fields: ParsedField[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= line.length) return null; // unterminated quote
        const ch = line[i];
        if (ch === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += ch;
        i += 1;
      }
      fields.push({ value, quoted: true });
      if (i === line.length) return fields;
      if (line[i] !== ';') return null; // text after the closing quote
      i += 1;
    } else {
      const end = line.indexOf(';', i);
      const value = end === -1 ? line.slice(i) : line.slice(i, end);
      if (value.includes('"')) return null;
      fields.push({ value, quoted: false });
      if (end === -1) return fields;
      i = end + 1;
    }
  }
}

export interface ParsedBatch {
  header: ParsedField[];
  rows: { line: number; fields: ParsedField[] }[];
}

const isoOf = (yyyymmdd: string): string =>
  `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function validYyyymmdd(s: string): boolean {
  if (!/^\d{8}$/.test(s)) return false;
  return validDate(Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8)));
}

function validDdmmyyyy(s: string): boolean {
  if (!/^\d{8}$/.test(s)) return false;
  return validDate(Number(s.slice(4, 8)), Number(s.slice(2, 4)), Number(s.slice(0, 2)));
}

const AMOUNT = /^\d{1,10},\d{2}$/;
const BELEGFELD = /^[A-Za-z0-9_$%/-]*$/;

/** Maximum lengths of text columns (1-based) that the format description limits. */
function textMax(column: number): number {
  if (column === COL.belegfeld1) return 36;
  if (column === COL.belegfeld2) return 12;
  if (column === COL.buchungstext) return 60;
  if (column >= 21 && column <= 36) return column % 2 === 1 ? 20 : 210;
  if (column >= 48 && column <= 87) return column % 2 === 0 ? 20 : 210;
  if (column === COL.kost1 || column === COL.kost2) return 36;
  if (column === 40 || column === 123) return 15;
  return 210;
}

/**
 * Validates the bytes of an EXTF Buchungsstapel file. Returns the problems (empty = valid) and,
 * when the structure could be read, the parsed header and rows.
 */
export function validateDatevFile(bytes: Uint8Array): { problems: DatevProblem[]; parsed?: ParsedBatch } {
  const problems: DatevProblem[] = [];
  const problem = (line: number, message: string, field?: number): void => {
    problems.push(field === undefined ? { line, message } : { line, field, message });
  };
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    problem(
      0,
      'the file starts with a UTF-8 byte order mark; DATEV expects CP1252 (Windows-1252) without one',
    );
  }
  const undefinedByte = bytes.findIndex((b) => isUndefinedCp1252Byte(b));
  if (undefinedByte !== -1) {
    problem(
      0,
      `byte 0x${(bytes[undefinedByte] ?? 0).toString(16)} at offset ${String(undefinedByte)} is not a CP1252 character`,
    );
  }
  const text = decodeCp1252(bytes);
  if (!text.endsWith('\r\n')) problem(0, 'the file must end with CRLF after its last line');
  const lines = text.split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(l)) problem(i + 1, 'control character (a line break inside a field?)');
  });
  if (lines.length < 2) {
    problem(0, 'a Buchungsstapel needs a header line and a column line');
    return { problems };
  }

  // Header (line 1).
  const header = parseLine(lines[0] ?? '');
  let currency = '';
  let accountLength = 0;
  let dateFrom = '';
  let dateTo = '';
  if (!header) problem(1, 'header: broken quoting');
  else if (header.length !== HEADER_FIELD_COUNT) {
    problem(
      1,
      `header: ${String(header.length)} fields, format version 13 has ${String(HEADER_FIELD_COUNT)}`,
    );
  } else {
    const h = (n: number): string => header[n - 1]?.value ?? '';
    header.forEach((f, i) => {
      const n = i + 1;
      if (HEADER_TEXT_FIELDS.has(n) && !f.quoted) problem(1, 'header: text field must be quoted', n);
      if (!HEADER_TEXT_FIELDS.has(n) && f.quoted) problem(1, 'header: number field must not be quoted', n);
    });
    const expect = (n: number, value: string, what: string): void => {
      if (h(n) !== value) problem(1, `header: ${what} must be ${value}, found "${h(n)}"`, n);
    };
    expect(1, 'EXTF', 'DATEV format mark');
    expect(2, '700', 'header version');
    expect(3, '21', 'format category (Buchungsstapel)');
    expect(4, 'Buchungsstapel', 'format name');
    expect(5, '13', 'format version');
    const created = h(6);
    if (
      !/^\d{17}$/.test(created) ||
      !validYyyymmdd(created.slice(0, 8)) ||
      !/^([01]\d|2[0-3])[0-5]\d[0-5]\d\d{3}$/.test(created.slice(8))
    ) {
      problem(1, 'header: "Erzeugt am" must be yyyyMMddHHmmssfff', 6);
    }
    const consultant = Number(h(11));
    if (!/^\d+$/.test(h(11)) || consultant < 1001 || consultant > 9999999) {
      problem(1, 'header: Beraternummer must be 1001-9999999', 11);
    }
    const client = Number(h(12));
    if (!/^\d+$/.test(h(12)) || client < 1 || client > 99999)
      problem(1, 'header: Mandantennummer must be 1-99999', 12);
    if (!validYyyymmdd(h(13))) problem(1, 'header: WJ-Beginn must be a date yyyyMMdd', 13);
    accountLength = /^[4-8]$/.test(h(14)) ? Number(h(14)) : 0;
    if (accountLength === 0) problem(1, 'header: Sachkontenlänge must be 4-8', 14);
    if (!validYyyymmdd(h(15))) problem(1, 'header: "Datum vom" must be a date yyyyMMdd', 15);
    if (!validYyyymmdd(h(16))) problem(1, 'header: "Datum bis" must be a date yyyyMMdd', 16);
    if (validYyyymmdd(h(13)) && validYyyymmdd(h(15)) && validYyyymmdd(h(16))) {
      dateFrom = isoOf(h(15));
      dateTo = isoOf(h(16));
      const fyStart = isoOf(h(13));
      const fyEnd = `${String(Number(fyStart.slice(0, 4)) + 1)}${fyStart.slice(4)}`;
      if (dateFrom > dateTo) problem(1, 'header: "Datum vom" is after "Datum bis"', 15);
      if (dateFrom < fyStart || dateTo >= fyEnd) {
        problem(1, 'header: the batch period must lie within the fiscal year that starts at WJ-Beginn', 15);
      }
    }
    if (h(17).length > 30) problem(1, 'header: Bezeichnung is longer than 30 characters', 17);
    if (!/^([A-Z]{2})?$/.test(h(18)))
      problem(1, 'header: Diktatkürzel must be empty or two capital letters', 18);
    if (!/^[12]$/.test(h(19))) problem(1, 'header: Buchungstyp must be 1 or 2', 19);
    if (!/^(0|30|40|50|64)$/.test(h(20)))
      problem(1, 'header: Rechnungslegungszweck must be 0, 30, 40, 50 or 64', 20);
    if (!/^[01]?$/.test(h(21))) problem(1, 'header: Festschreibung must be 0 or 1', 21);
    currency = h(22);
    if (!/^[A-Z]{3}$/.test(currency)) problem(1, 'header: WKZ must be an ISO currency code', 22);
    if (!/^(\d{2})?$/.test(h(27))) problem(1, 'header: Sachkontenrahmen must be empty or two digits', 27);
    for (const n of [7, 23, 25, 26, 28, 29])
      if (h(n) !== '') problem(1, 'header: reserved field must be empty', n);
  }

  // Column names (line 2).
  const columns = parseLine(lines[1] ?? '');
  if (!columns) problem(2, 'column line: broken quoting');
  else if (columns.length !== COLUMNS.length) {
    problem(
      2,
      `column line: ${String(columns.length)} columns, format version 13 has ${String(COLUMNS.length)}`,
    );
  } else {
    columns.forEach((c, i) => {
      if (c.value !== COLUMNS[i])
        problem(2, `column ${String(i + 1)} must be "${COLUMNS[i] ?? ''}", found "${c.value}"`, i + 1);
    });
  }

  // Rows.
  const rows: ParsedBatch['rows'] = [];
  lines.slice(2).forEach((l, index) => {
    const line = index + 3;
    const fields = parseLine(l);
    if (!fields) {
      problem(line, 'broken quoting');
      return;
    }
    if (fields.length !== COLUMNS.length) {
      problem(line, `${String(fields.length)} fields, format version 13 has ${String(COLUMNS.length)}`);
      return;
    }
    rows.push({ line, fields });
    const v = (n: number): string => fields[n - 1]?.value ?? '';
    fields.forEach((f, i) => {
      const n = i + 1;
      if (TEXT_COLUMNS.has(n)) {
        if (!f.quoted) problem(line, 'text field must be quoted', n);
        else if (f.value.length > textMax(n))
          problem(line, `longer than ${String(textMax(n))} characters`, n);
      } else if (f.quoted) problem(line, 'number or date field must not be quoted', n);
      else if (!/^[0-9,]*$/.test(f.value))
        problem(line, 'number or date field holds other characters than digits and comma', n);
    });
    if (!AMOUNT.test(v(COL.umsatz)) || /^0+,00$/.test(v(COL.umsatz))) {
      problem(line, 'Umsatz must be a positive amount with a comma and two decimals (1234,56)', COL.umsatz);
    }
    if (!/^[SH]$/.test(v(COL.sollHaben)))
      problem(line, 'Soll/Haben-Kennzeichen must be S or H', COL.sollHaben);
    const wkz = v(COL.wkzUmsatz);
    if (!/^([A-Z]{3})?$/.test(wkz)) problem(line, 'WKZ Umsatz must be an ISO currency code', COL.wkzUmsatz);
    if (wkz !== '' && currency !== '' && wkz !== currency && (v(4) === '' || v(5) === '' || v(6) === '')) {
      problem(
        line,
        `a row in ${wkz} in a ${currency} batch needs Kurs, Basis-Umsatz and WKZ Basis-Umsatz`,
        4,
      );
    }
    if (!/^([1-9]\d{0,3},\d{2,6})?$/.test(v(4))) problem(line, 'Kurs must look like 1234,123456', 4);
    if (v(5) !== '' && !AMOUNT.test(v(5))) problem(line, 'Basis-Umsatz must look like 1234,56', 5);
    for (const n of [COL.konto, COL.gegenkonto]) {
      const account = v(n);
      if (!/^\d{1,9}$/.test(account) || /^0+$/.test(account))
        problem(line, 'account must be 1-9 digits, not all zeros', n);
      else if (accountLength > 0 && account.length > accountLength + 1) {
        problem(
          line,
          `account ${account} is longer than the Sachkontenlänge ${String(accountLength)} (+1 for Personenkonten)`,
          n,
        );
      }
    }
    if (v(COL.konto) !== '' && v(COL.konto) === v(COL.gegenkonto))
      problem(line, 'Konto and Gegenkonto are the same', COL.gegenkonto);
    if (!/^(\d{1,4})?$/.test(v(COL.buSchluessel)))
      problem(line, 'BU-Schlüssel must be up to 4 digits', COL.buSchluessel);
    const day = v(COL.belegdatum);
    if (!/^\d{4}$/.test(day)) problem(line, 'Belegdatum must be DDMM', COL.belegdatum);
    else if (dateFrom !== '') {
      const inPeriod = [Number(dateFrom.slice(0, 4)), Number(dateTo.slice(0, 4))].some((year) => {
        const iso = `${String(year)}-${day.slice(2, 4)}-${day.slice(0, 2)}`;
        return (
          validDate(year, Number(day.slice(2, 4)), Number(day.slice(0, 2))) &&
          iso >= dateFrom &&
          iso <= dateTo
        );
      });
      if (!inPeriod)
        problem(
          line,
          `Belegdatum ${day} is not a date between "Datum vom" and "Datum bis" of the header`,
          COL.belegdatum,
        );
    }
    for (const n of [COL.belegfeld1, COL.belegfeld2]) {
      if (!BELEGFELD.test(v(n))) problem(line, 'Belegfeld allows only A-Z a-z 0-9 _ $ % - /', n);
    }
    if (v(13) !== '' && !AMOUNT.test(v(13))) problem(line, 'Skonto must look like 1234,56', 13);
    for (const n of [COL.kost1, COL.kost2]) {
      if (!/^[A-Za-z0-9 ]*$/.test(v(n))) problem(line, 'KOST allows letters, digits and spaces only', n);
    }
    if (!/^[01]?$/.test(v(COL.festschreibung)))
      problem(line, 'Festschreibung must be 0 or 1', COL.festschreibung);
    for (const n of [COL.faelligkeit, 115, 116]) {
      if (v(n) !== '' && !validDdmmyyyy(v(n))) problem(line, 'date must be DDMMYYYY', n);
    }
  });
  return header && columns ? { problems, parsed: { header, rows } } : { problems };
}

/** Human-readable problems, one per line ("line 3, column 7: …"). */
export function describeProblems(problems: readonly DatevProblem[]): string {
  return problems
    .map(
      (p) =>
        `${p.line === 0 ? 'file' : `line ${String(p.line)}`}${p.field === undefined ? '' : `, field ${String(p.field)}`}: ${p.message}`,
    )
    .join('\n');
}
