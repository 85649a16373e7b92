/**
 * The DATEV-Format "Buchungsstapel" (format category 21, format version 13, header version 700)
 * as DATEV's format description lays it out: a 31-field header line, a line of 125 column names,
 * then one line per booking. Names are spelled as in DATEV's sample file (including its
 * "Zusatzinformation- Inhalt" spelling); DATEV reads the columns by position.
 */

export const HEADER_VERSION = 700;
export const FORMAT_CATEGORY = 21;
export const FORMAT_NAME = 'Buchungsstapel';
export const FORMAT_VERSION = 13;
export const HEADER_FIELD_COUNT = 31;

const pairs = (art: string, inhalt: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => [`${art} ${String(i + 1)}`, `${inhalt} ${String(i + 1)}`]).flat();

/** The 125 column names of format version 13, in order. */
export const COLUMNS: readonly string[] = Object.freeze([
  'Umsatz (ohne Soll/Haben-Kz)',
  'Soll/Haben-Kennzeichen',
  'WKZ Umsatz',
  'Kurs',
  'Basis-Umsatz',
  'WKZ Basis-Umsatz',
  'Konto',
  'Gegenkonto (ohne BU-Schlüssel)',
  'BU-Schlüssel',
  'Belegdatum',
  'Belegfeld 1',
  'Belegfeld 2',
  'Skonto',
  'Buchungstext',
  'Postensperre',
  'Diverse Adressnummer',
  'Geschäftspartnerbank',
  'Sachverhalt',
  'Zinssperre',
  'Beleglink',
  ...pairs('Beleginfo - Art', 'Beleginfo - Inhalt', 8),
  'KOST1 - Kostenstelle',
  'KOST2 - Kostenstelle',
  'Kost-Menge',
  'EU-Land u. UStID (Bestimmung)',
  'EU-Steuersatz (Bestimmung)',
  'Abw. Versteuerungsart',
  'Sachverhalt L+L',
  'Funktionsergänzung L+L',
  'BU 49 Hauptfunktionstyp',
  'BU 49 Hauptfunktionsnummer',
  'BU 49 Funktionsergänzung',
  ...pairs('Zusatzinformation - Art', 'Zusatzinformation- Inhalt', 20),
  'Stück',
  'Gewicht',
  'Zahlweise',
  'Forderungsart',
  'Veranlagungsjahr',
  'Zugeordnete Fälligkeit',
  'Skontotyp',
  'Auftragsnummer',
  'Buchungstyp',
  'USt-Schlüssel (Anzahlungen)',
  'EU-Land (Anzahlungen)',
  'Sachverhalt L+L (Anzahlungen)',
  'EU-Steuersatz (Anzahlungen)',
  'Erlöskonto (Anzahlungen)',
  'Herkunft-Kz',
  'Buchungs GUID',
  'KOST-Datum',
  'SEPA-Mandatsreferenz',
  'Skontosperre',
  'Gesellschaftername',
  'Beteiligtennummer',
  'Identifikationsnummer',
  'Zeichnernummer',
  'Postensperre bis',
  'Bezeichnung SoBil-Sachverhalt',
  'Kennzeichen SoBil-Buchung',
  'Festschreibung',
  'Leistungsdatum',
  'Datum Zuord. Steuerperiode',
  'Fälligkeit',
  'Generalumkehr (GU)',
  'Steuersatz',
  'Land',
  'Abrechnungsreferenz',
  'BVV-Position',
  'EU-Land u. UStID (Ursprung)',
  'EU-Steuersatz (Ursprung)',
  'Abw. Skontokonto',
]);

/** 1-based positions of the columns we fill (the rest stay empty). */
export const COL = {
  umsatz: 1,
  sollHaben: 2,
  wkzUmsatz: 3,
  konto: 7,
  gegenkonto: 8,
  buSchluessel: 9,
  belegdatum: 10,
  belegfeld1: 11,
  belegfeld2: 12,
  buchungstext: 14,
  beleglink: 20,
  /** Beleginfo - Art n is 21 + 2(n-1), Inhalt n the next one. */
  beleginfoArt1: 21,
  kost1: 37,
  kost2: 38,
  /** Zusatzinformation - Art n is 48 + 2(n-1), Inhalt n the next one. */
  zusatzArt1: 48,
  festschreibung: 114,
  faelligkeit: 117,
} as const;

/**
 * 1-based positions of the text columns: written in double quotes, also when empty (`""`), as in
 * DATEV's sample file; every other column is a number, a date or empty.
 */
export const TEXT_COLUMNS: ReadonlySet<number> = new Set([
  2,
  3,
  6,
  9,
  11,
  12,
  14,
  16,
  20,
  ...Array.from({ length: 18 }, (_, i) => 21 + i),
  40,
  42,
  ...Array.from({ length: 40 }, (_, i) => 48 + i),
  91,
  95,
  96,
  98,
  102,
  103,
  105,
  107,
  109,
  110,
  112,
  118,
  120,
  121,
  123,
]);

/** 1-based positions of the header's text fields (quoted). */
export const HEADER_TEXT_FIELDS: ReadonlySet<number> = new Set([1, 4, 8, 9, 10, 17, 18, 22, 24, 27, 30, 31]);

/** What the adapter writes into Beleginfo / Zusatzinformation (max. 20 characters each). */
export const INFO = {
  entryId: 'Pleo-Buchungs-ID',
  row: 'Pleo-Zeile',
  reconciliation: 'Pleo-Abstimmung',
  job: 'Pleo-Exportauftrag',
  receipts: 'Pleo-Belege',
  receipt: 'Pleo-Beleg',
  supplierAmount: 'Betrag Lieferant',
  party: 'Lieferant',
} as const;
