/**
 * The pieces of the DATEV format: CP1252 against Node's own windows-1252 decoder, hostile text,
 * amounts, the CSV parser, and the validator — the reviewed golden file passes, and each kind of
 * defect DATEV's format description rules out is reported at its line and field.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  COLUMNS,
  datevAmount,
  decodeCp1252,
  encodeCp1252,
  parseLine,
  toCp1252Text,
  validateDatevFile,
  type DatevProblem,
} from '../../src/adapters/datev/index.js';

const GOLDEN_FILE = fileURLToPath(new URL('./fixtures/datev/EXTF_golden.csv', import.meta.url));

describe('CP1252', () => {
  it('agrees with the WHATWG windows-1252 decoder on every defined byte, both ways', () => {
    const reference = new TextDecoder('windows-1252');
    for (let byte = 0; byte < 256; byte++) {
      if ([0x81, 0x8d, 0x8f, 0x90, 0x9d].includes(byte)) continue;
      const char = reference.decode(Uint8Array.of(byte));
      expect(decodeCp1252(Uint8Array.of(byte))).toBe(char);
      expect([...encodeCp1252(char)]).toEqual([byte]);
    }
    expect(() => encodeCp1252('☕')).toThrow(/not in CP1252/);
  });

  it('hostile text becomes one CP1252 line, deterministically', () => {
    expect(toCp1252Text('Café\r\n"Zur Post";\tMünchen\u2028€ 5 – ok')).toBe(
      'Café "Zur Post"; München € 5 – ok',
    );
    expect(toCp1252Text('Łódź Őrség ﬁle Ａ ☕ 🙂 \u0000x')).toBe('Lódz Orség file A ? ? x');
    expect(toCp1252Text('  \u00a0 ')).toBe('');
  });
});

describe('amounts and fields', () => {
  it('minor units become DATEV amounts with two decimals, or null when not exact', () => {
    expect(datevAmount(12345, 'EUR')).toBe('123,45');
    expect(datevAmount(-5, 'EUR')).toBe('0,05');
    expect(datevAmount(12345, 'JPY')).toBe('12345,00');
    expect(datevAmount(10500, 'KWD')).toBe('10,50');
    expect(datevAmount(10503, 'KWD')).toBeNull();
    expect(datevAmount(0, 'EUR')).toBeNull();
    expect(datevAmount(1_000_000_000_000, 'EUR')).toBeNull(); // 11 digits before the comma
  });

  it('parses quoted fields with ; and doubled quotes; rejects broken quoting', () => {
    expect(parseLine('1,00;"a;""b""";;"";x')).toEqual([
      { value: '1,00', quoted: false },
      { value: 'a;"b"', quoted: true },
      { value: '', quoted: false },
      { value: '', quoted: true },
      { value: 'x', quoted: false },
    ]);
    expect(parseLine('"open;1')).toBeNull();
    expect(parseLine('"a"b;1')).toBeNull();
    expect(parseLine('a"b;1')).toBeNull();
  });
});

describe('EXTF validator', () => {
  const golden = async (): Promise<string> => decodeCp1252(await readFile(GOLDEN_FILE));
  const check = (text: string): DatevProblem[] => validateDatevFile(encodeCp1252(text)).problems;
  const lines = (text: string): string[] => text.split('\r\n');
  /** Replaces field `field` (1-based) of line `line` (1-based, no quotes inside the line's fields). */
  const withField = (text: string, line: number, field: number, value: string): string => {
    const all = lines(text);
    const fields = parseLine(all[line - 1]!)!.map((f) =>
      f.quoted ? `"${f.value.replace(/"/g, '""')}"` : f.value,
    );
    fields[field - 1] = value;
    all[line - 1] = fields.join(';');
    return all.join('\r\n');
  };
  const only = (problems: DatevProblem[]) => problems.map((p) => [p.line, p.field, p.message]);

  it('the golden file is valid: 31 header fields, 125 columns in order, 9 rows', async () => {
    const result = validateDatevFile(await readFile(GOLDEN_FILE));
    expect(result.problems).toEqual([]);
    expect(result.parsed?.header).toHaveLength(31);
    expect(COLUMNS).toHaveLength(125);
    expect(result.parsed?.rows).toHaveLength(9);
  });

  it('encoding: UTF-8 (with or without BOM), LF line ends, a missing final CRLF', async () => {
    const text = await golden();
    const utf8 = Buffer.from(text, 'utf8');
    expect(
      validateDatevFile(utf8)
        .problems.map((p) => p.message)
        .join('\n'),
    ).toMatch(/column 8 must be "Gegenkonto \(ohne BU-Schlüssel\)"/);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encodeCp1252(text)]);
    expect(validateDatevFile(bom).problems[0]?.message).toContain('byte order mark');
    expect(check(text.replace(/\r\n/g, '\n')).some((p) => p.message.includes('end with CRLF'))).toBe(true);
    expect(check(text.slice(0, -2)).some((p) => p.message.includes('end with CRLF'))).toBe(true);
    expect(
      validateDatevFile(Uint8Array.from([...encodeCp1252(text.slice(0, 100)), 0x81, 0x0d, 0x0a])).problems[0]
        ?.message,
    ).toContain('0x81');
  });

  it('header: version, category, format version, numbers, dates and the fiscal-year period', async () => {
    const text = await golden();
    expect(only(check(withField(text, 1, 2, '510')))).toEqual([
      [1, 2, 'header: header version must be 700, found "510"'],
    ]);
    expect(only(check(withField(text, 1, 5, '12')))).toEqual([
      [1, 5, 'header: format version must be 13, found "12"'],
    ]);
    expect(only(check(withField(text, 1, 11, '999')))).toEqual([
      [1, 11, 'header: Beraternummer must be 1001-9999999'],
    ]);
    expect(only(check(withField(text, 1, 14, '9')))).toContainEqual([
      1,
      14,
      'header: Sachkontenlänge must be 4-8',
    ]);
    expect(only(check(withField(text, 1, 16, '20270131')))).toEqual([
      [1, 15, 'header: the batch period must lie within the fiscal year that starts at WJ-Beginn'],
    ]);
    expect(only(check(withField(text, 1, 4, 'Buchungsstapel')))).toEqual([
      [1, 4, 'header: text field must be quoted'],
    ]);
    expect(check(lines(text).slice(1).join('\r\n')).length).toBeGreaterThan(0);
  });

  it('column line: count and order', async () => {
    const text = await golden();
    expect(only(check(withField(text, 2, 7, 'Gegenkonto')))).toEqual([
      [2, 7, 'column 7 must be "Konto", found "Gegenkonto"'],
    ]);
    const all = lines(text);
    all[1] = all[1]!.split(';').slice(0, 116).join(';');
    expect(only(check(all.join('\r\n')))).toEqual([
      [2, undefined, 'column line: 116 columns, format version 13 has 125'],
    ]);
  });

  it('rows: field count, amounts, S/H, accounts and their length, dates, Belegfeld, quoting, lengths', async () => {
    const text = await golden();
    const all = lines(text);
    expect(only(check([...all.slice(0, 3), `${all[3]!};`, ...all.slice(4)].join('\r\n')))).toEqual([
      [4, undefined, '126 fields, format version 13 has 125'],
    ]);
    expect(only(check(withField(text, 3, 1, '100.00')))).toContainEqual([
      3,
      1,
      'Umsatz must be a positive amount with a comma and two decimals (1234,56)',
    ]);
    expect(only(check(withField(text, 3, 1, '0,00')))).toContainEqual([
      3,
      1,
      'Umsatz must be a positive amount with a comma and two decimals (1234,56)',
    ]);
    expect(only(check(withField(text, 3, 1, '-1,00')))).toContainEqual([
      3,
      1,
      'number or date field holds other characters than digits and comma',
    ]);
    expect(only(check(withField(text, 3, 2, '"X"')))).toEqual([
      [3, 2, 'Soll/Haben-Kennzeichen must be S or H'],
    ]);
    expect(only(check(withField(text, 3, 7, '465000')))).toEqual([
      [3, 7, 'account 465000 is longer than the Sachkontenlänge 4 (+1 for Personenkonten)'],
    ]);
    expect(only(check(withField(text, 3, 7, '70001')))).toEqual([]); // a Personenkonto: one digit more
    expect(only(check(withField(text, 3, 8, '4650')))).toEqual([[3, 8, 'Konto and Gegenkonto are the same']]);
    expect(only(check(withField(text, 3, 10, '3102')))).toEqual([
      [3, 10, 'Belegdatum 3102 is not a date between "Datum vom" and "Datum bis" of the header'],
    ]);
    expect(only(check(withField(text, 3, 10, '10.3')))).toContainEqual([3, 10, 'Belegdatum must be DDMM']);
    expect(only(check(withField(text, 3, 11, '"RE 17.3"')))).toEqual([
      [3, 11, 'Belegfeld allows only A-Z a-z 0-9 _ $ % - /'],
    ]);
    expect(only(check(withField(text, 3, 14, `"${'x'.repeat(61)}"`)))).toEqual([
      [3, 14, 'longer than 60 characters'],
    ]);
    expect(only(check(withField(text, 3, 14, 'unquoted')))).toEqual([[3, 14, 'text field must be quoted']]);
    expect(only(check(withField(text, 3, 3, '"USD"')))).toEqual([
      [3, 4, 'a row in USD in a EUR batch needs Kurs, Basis-Umsatz and WKZ Basis-Umsatz'],
    ]);
    expect(only(check(withField(text, 3, 117, '31022026')))).toEqual([[3, 117, 'date must be DDMMYYYY']]);
    expect(only(check(withField(text, 3, 37, '"Sales & Co"')))).toEqual([
      [3, 37, 'KOST allows letters, digits and spaces only'],
    ]);
    expect(only(check(`${lines(text).slice(0, 3).join('\r\n')}\r\n"broken;1\r\n`))).toContainEqual([
      4,
      undefined,
      'broken quoting',
    ]);
  });
});
