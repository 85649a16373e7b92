/**
 * Property (issue 17): hostile strings in every string field of an export item — line breaks, `;`,
 * `include`, directives, fake transactions, NUL, ESC and CSI/OSC sequences, C1, DEL, bidi controls,
 * U+2028/2029, lone surrogates, very long strings — never break a sink:
 *
 * - **mapping**: a value that must match the spec (enum, date, UUID, the job's company) refuses the
 *   item with `validation_failure`; an accepted entry holds no control character anywhere; free
 *   text comes through as documented (each control character one space); failure reasons hold no
 *   control character either;
 * - **HTTP adapter**: the request body is JSON that parses back to exactly the entry;
 * - **hledger journal**: each run's block is checked in-process line by line (markers, directives,
 *   header, comment tags, one posting line per posting, nothing else); then every accepted entry is
 *   written through the real adapter into a few journals, which `hledger check --strict` accepts
 *   and whose `hledger print -O json` holds exactly the intended transactions, each with its own
 *   postings and only the tags pleo-export writes, and whose declared accounts are exactly the
 *   entries' accounts;
 * - **terminal**: tables and output lines show no control character; a JSON log line escaped for
 *   the terminal still parses to the same value.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import {
  cleanText,
  compileAccountingConfig,
  currencyExponent,
  mapExportItem,
  type AccountingEntry,
} from '../../src/accounting/index.js';
import { createHledgerAdapter, createHttpAdapter } from '../../src/adapters/index.js';
import {
  accountNameProblem,
  dimensionTagName,
  renderBlock,
  tagValue,
} from '../../src/adapters/hledger/format.js';
import { table, terminalText, type Cell } from '../../src/cli/output.js';
import { specEnumValues, type ExportItem } from '../../src/client/index.js';
import { hledger } from '../adapters/hledger-cli.js';
import { BASE_CONFIG } from '../accounting/golden-cases.js';
import { COMPANY, JOB, item, line } from '../accounting/items.js';
import { Rng } from '../../src/simulator/data/index.js';

const RUNS = Number(process.env['SINKS_RUNS'] ?? 5000);
const PER_JOURNAL = 1250;
/**
 * cli-table3 takes milliseconds per table; every run checks `terminalText` on every raw value, and
 * every TABLE_EVERY-th run also a whole table of them (`table` escapes each cell with it).
 */
const TABLE_EVERY = 10;
let run = 0;
// Every character no sink may receive from Pleo's data (a lone surrogate included).
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex -- the point of the test
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const SNIPPETS = [
  '\n',
  '\r\n',
  '\r',
  ';',
  '; ',
  '  ',
  '\t',
  ',',
  ':',
  '|',
  '#',
  '(',
  ')',
  '[',
  '*',
  '!',
  '@@',
  '=',
  '"',
  '\\',
  '\u00a0\u00a0',
  'include /etc/passwd',
  '\ninclude /etc/passwd\n',
  '\n2026-01-01 * (P999999) fake  ; pleo-entry:eeeeeeee-0000-4000-8000-000000000001\n    6010  1.00 EUR\n    1920\n',
  '\naccount 9999  ; type:A\n',
  '\ncommodity 1.00 XXX\n',
  '\n# pleo-end:x 0000000000000000\n',
  'type:L',
  'pleo-entry:eeeeeeee-0000-4000-8000-000000000001',
  'pleo-recorded:1999-01-01T00:00:00.000Z',
  '\u0000',
  '\u001b[31m',
  '\u001b]0;owned\u0007',
  '\u001b[2J',
  '\u009b31m',
  '\u0085',
  '\u007f',
  '\u202e',
  '\u2066',
  '\u200f',
  '\u061c',
  '\u2028',
  '\u2029',
  '\ud800',
  '\udfff',
  '💸',
  'é',
  '2026-13-45',
  '-1.00 EUR',
];

// Code points worth trying beyond the snippets: C0, DEL, C1, bidi and other format characters,
// separators, NBSP, lone surrogates, ordinary and astral letters.
const POINTS = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x206f],
  [0xa0, 0xa0],
  [0xd800, 0xdfff],
  [0xfeff, 0xfeff],
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0xc0, 0x17f],
  [0x1f300, 0x1f64f],
] as const;

/** A deterministic pseudo-random generator (mulberry32): one fast-check integer → one string. */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/**
 * The hostile string numbered `seed`: up to six pieces (snippets, single code points of every
 * class above, short words), and for one seed in 150 a run of 1,000-6,000 letters around them.
 * Generating each string from one integer keeps 5,000 cases of ~60 strings fast, and shrinking the
 * integer towards 0 shrinks the string towards ''.
 */
function hostileFrom(seed: number): string {
  const next = random(seed);
  const pick = (n: number): number => Math.floor(next() * n);
  let text = '';
  for (let n = seed % 7; n > 0; n--) {
    const kind = pick(10);
    if (kind < 5) text += SNIPPETS[pick(SNIPPETS.length)]!;
    else if (kind < 8) {
      const [lo, hi] = POINTS[pick(POINTS.length)]!;
      text += String.fromCodePoint(lo + pick(hi - lo + 1));
    } else text += ['Hotel', 'Café', 'x', '6010', 'A B'][pick(5)]!;
  }
  if (seed % 150 === 149) text = `${'W'.repeat(1000 + pick(5000))}${text}${'w'.repeat(pick(100))}`;
  return text;
}

/** Any string, leaning hostile. */
const hostile: fc.Arbitrary<string> = fc.integer({ min: 0, max: 0x7fffffff }).map(hostileFrom);
/** A value that must be an identifier: usually a plain one, sometimes hostile. */
const code = (...plain: string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...plain) }, { weight: 1, arbitrary: hostile });

/** A format-constrained field: valid, or (rarely) its valid value spoiled by a non-empty hostile suffix. */
interface Spoilable {
  value: string;
  spoiled: boolean;
}
const spoil = (valid: fc.Arbitrary<string>, weight = 1): fc.Arbitrary<Spoilable> =>
  fc.oneof(
    { weight: 120, arbitrary: valid.map((value) => ({ value, spoiled: false })) },
    {
      weight,
      arbitrary: fc
        .tuple(
          valid,
          hostile.filter((s) => s.length > 0),
        )
        .map(([v, s]) => ({ value: `${v}${s}`, spoiled: true })),
    },
  );

// The spec's own enums: a value outside them is refused, so the generator draws from them.
const TYPES = [...specEnumValues('ExportItemTypeV3')];
const SUBTYPES = [...specEnumValues('ExportItemSubTypeV3')];

let serial = 0;
const entryId = fc.constant(null).map(() => {
  serial += 1;
  return `eeeeeeee-0000-4000-8000-${serial.toString(16).padStart(12, '0')}`;
});
const dateTime = fc
  .record({ d: fc.integer({ min: 1, max: 28 }), m: fc.integer({ min: 1, max: 12 }) })
  .map(({ d, m }) => `2026-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T10:00:00Z`);

interface Case {
  item: ExportItem;
  /** Fields whose value cannot match the spec: the item must be refused. */
  spoiled: string[];
}

const lineArb = fc.record({
  amount: fc.integer({ min: 1, max: 5_000_000 }),
  account: code('6010', '6020', 'Expenses:Travel', 'Kosten Reise'),
  accountName: hostile,
  identifier: hostile,
  taxed: fc.boolean(),
  taxCode: fc.option(code('S25', 'V12'), { nil: undefined }),
  ingoing: fc.option(code('2640', '2641'), { nil: undefined }),
  tags: fc.array(fc.record({ groupCode: code('DEPT', 'PROJ'), code: code('Sales', 'P-1') }), {
    maxLength: 2,
  }),
  lineId: spoil(fc.uuid({ version: 4 })),
});

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    id: spoil(entryId),
    company: spoil(fc.constant(COMPANY)),
    type: spoil(fc.constantFrom(...TYPES)),
    subType: fc.option(spoil(fc.constantFrom(...SUBTYPES)), { nil: undefined }),
    method: fc.option(spoil(fc.constantFrom('journal', 'none')), { nil: undefined }),
    date: spoil(dateTime),
    lines: fc.array(lineArb, { minLength: 1, maxLength: 3 }),
    supplier: fc.record({
      name: hostile,
      code: code('S-1', 'Hotel Alpha AB'),
      account: hostile,
      categoryCode: hostile,
      taxIdentifier: hostile,
    }),
    vendor: fc.option(
      fc.record({
        name: hostile,
        code: code('V-1'),
        externalId: code('X-1'),
        registrationNumber: hostile,
        taxRegistrationNumber: hostile,
      }),
      { nil: undefined },
    ),
    user: fc.record({ name: hostile, code: fc.option(code('JD', 'E-7'), { nil: undefined }) }),
    team: fc.option(fc.record({ name: hostile, code: fc.option(code('T1'), { nil: undefined }) }), {
      nil: undefined,
    }),
    note: fc.option(hostile, { nil: undefined }),
    attendees: fc.array(hostile, { maxLength: 3 }),
    reconciliationId: code('R-1', 'c0ffee00-0000-4000-8000-000000000001'),
    reconciledEntries: fc.array(code('R-2'), { maxLength: 2 }),
    invoice: fc.option(
      fc.record({
        number: hostile,
        status: hostile,
        date: spoil(fc.constantFrom('2026-03-01', '2026-03-01T00:00:00Z')),
        due: fc.option(spoil(fc.constantFrom('2026-04-01', '2026-04-01T00:00:00+02:00')), {
          nil: undefined,
        }),
        paymentDate: hostile,
        bank: fc.record({ iban: hostile, bic: hostile, bankName: hostile, accountNumber: hostile }),
      }),
      { nil: undefined },
    ),
    servicePeriod: fc.option(fc.record({ from: spoil(dateTime), to: spoil(dateTime) }), {
      nil: undefined,
    }),
    contra: fc.option(fc.record({ code: code('1920', '1921'), name: hostile, identifier: hostile }), {
      nil: undefined,
    }),
    files: fc.array(fc.record({ type: hostile, url: hostile }), { maxLength: 2 }),
  })
  .map((g): Case => {
    const spoiled: string[] = [];
    const take = (field: string, s: Spoilable | undefined): string | undefined => {
      if (s?.spoiled) spoiled.push(field);
      return s?.value;
    };
    const lines = g.lines.map((l, i) => {
      const built = line({
        account: l.account,
        accountName: l.accountName,
        amount: -l.amount,
        ...(l.taxed
          ? {
              tax: {
                type: 'inclusive' as const,
                rate: 0.25,
                amount: -Math.floor(l.amount / 5),
                ...(l.taxCode === undefined ? {} : { code: l.taxCode }),
                ...(l.ingoing === undefined ? {} : { ingoing: l.ingoing }),
              },
            }
          : {}),
        tags: l.tags,
      });
      return {
        ...built,
        accountingEntryLineId: take(`line ${i} id`, l.lineId)!,
        account: built.account ? { ...built.account, identifier: l.identifier } : null,
      };
    });
    const subType = take('subType', g.subType);
    const method = take('method', g.method);
    const invoiceDate = take('invoiceDate', g.invoice?.date);
    const dueDate = take('dueDate', g.invoice?.due);
    const from = take('servicePeriod.from', g.servicePeriod?.from);
    const to = take('servicePeriod.to', g.servicePeriod?.to);
    const built = item({
      type: take('type', g.type) as ExportItem['type'],
      accountingEntryLines: lines,
      accountingEntryId: take('accountingEntryId', g.id)!,
      companyId: take('companyId', g.company)!,
      date: take('date', g.date)!,
      ...(subType === undefined ? {} : { subType: subType as ExportItem['subType'] }),
      ...(method === undefined ? {} : { bookkeeping: { method: method as 'journal' } }),
      supplier: g.supplier,
      ...(g.vendor
        ? { vendor: { id: '99999999-0000-4000-8000-000000000001', defaultCurrency: 'EUR', ...g.vendor } }
        : {}),
      user: {
        id: '55555555-0000-4000-8000-000000000001',
        name: g.user.name,
        ...(g.user.code ? { code: g.user.code } : {}),
      },
      ...(g.team
        ? {
            team: {
              id: '66666666-0000-4000-8000-000000000001',
              name: g.team.name,
              ...(g.team.code ? { code: g.team.code } : {}),
            },
          }
        : {}),
      ...(g.note === undefined ? {} : { note: g.note }),
      additionalInformation: {
        reconciliationId: g.reconciliationId,
        reconciledEntries: g.reconciledEntries,
        attendees: g.attendees,
        ...(g.invoice
          ? {
              invoiceInformation: {
                invoiceNumber: g.invoice.number,
                invoiceDate: invoiceDate!,
                ...(dueDate === undefined ? {} : { dueDate }),
                paymentDate: g.invoice.paymentDate,
                status: g.invoice.status,
                supplierBankAccount: g.invoice.bank,
              },
            }
          : {}),
      },
      ...(from !== undefined && to !== undefined ? { servicePeriod: { from, to } } : {}),
      ...(g.contra ? { contraAccount: { id: '33333333-0000-4000-8000-000000000001', ...g.contra } } : {}),
      files: g.files.map((f) => ({ ...f, size: 10 })),
    } as Partial<ExportItem> & Pick<ExportItem, 'type' | 'accountingEntryLines'>);
    return { item: built, spoiled };
  });

const config = compileAccountingConfig({
  ...BASE_CONFIG,
  accounts: { ...BASE_CONFIG.accounts, wallet: '1921', personalSpend: '1680', roundingDifference: '3740' },
  dimensions: { team: true, user: true },
});
const ctx = { jobId: JOB, companyId: COMPANY };

/** Throws (cheaper than `expect` in a loop of 5,000 × 100) when `text` holds a forbidden character. */
function clean(text: string, where: string): void {
  if (FORBIDDEN.test(text)) throw new Error(`a control character reached ${where}: ${JSON.stringify(text)}`);
}

/** `text` with every character outside printable ASCII as `\u{…}`, for readable failure messages. */
function visible(text: string): string {
  return [...text].map((c) => (/[ -~]/.test(c) ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`)).join('');
}

/** Every string anywhere inside `value`. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      strings(v, out);
    }
  }
  return out;
}

const TX_TAGS = ['pleo-entry', 'pleo-job', 'pleo-reconciliation', 'pleo-type', 'pleo-recorded'];
const NOTE_TAGS = new Set([
  'kind',
  'method',
  'original-date',
  'vendor',
  'supplier',
  'tax-id',
  'invoice',
  'invoice-date',
  'due-date',
  'service-period',
  'team',
  'user',
  'supplier-amount',
  'attendees',
  'reconciled-entries',
  'note',
  'receipt',
]);
/** The tags pleo-export writes on a posting: its fixed ones that apply and one per dimension. */
function postingTags(posting: AccountingEntry['postings'][number]): string[] {
  const names = Object.keys(posting.dimensions).map(dimensionTagName);
  if (posting.tax?.code) names.push('tax-code');
  if (posting.tax && posting.role !== 'expense') names.push('tax-rate');
  if (posting.party) names.push('vendor');
  if (posting.cost) names.push('supplier-amount');
  return names;
}

/** Tag names of an hledger comment as pleo-export writes it: `name:value` parts split by ", ". */
function tagNames(comment: string): string[] {
  return comment.split(', ').map((part) => {
    const match = /^([^\s:,]+):/.exec(part);
    if (!match) throw new Error(`comment part without a tag: ${JSON.stringify(part)}`);
    return match[1]!;
  });
}

/** The in-process reading of one rendered block: exactly the expected lines, nothing else. */
function checkBlock(text: string, entry: AccountingEntry): void {
  expect(text.replace(/\n/g, '')).not.toMatch(FORBIDDEN);
  const lines = text.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.at(-2)).toBe('');
  expect(lines[0]).toBe(`# pleo-begin:${entry.accountingEntryId}`);
  expect(lines.at(-3)).toMatch(new RegExp(`^# pleo-end:${entry.accountingEntryId} [0-9a-f]{16}$`));
  const accounts = new Set(entry.postings.map((p) => p.account));
  let i = 1;
  for (; !/^\d/.test(lines[i] ?? '1'); i++) {
    const directive = /^account (.+?)(?: {2}; (.*))?$/.exec(lines[i]!);
    if (directive) {
      expect(accounts.has(directive[1]!)).toBe(true);
      // hledger reads `word:` in a comment as a tag (`type:` would change the account's type).
      expect(directive[2] ?? '').not.toMatch(/\S:/);
    } else expect(lines[i]).toMatch(/^commodity 1000\.\d* [A-Z]{3}$/);
  }
  const header = /^(\d{4}-\d{2}-\d{2}) [*!] \(P\d+\) ([^;]*) {2}; (.*)$/.exec(lines[i]!);
  expect(header, lines[i]).not.toBeNull();
  expect(header![1]).toBe(entry.date);
  expect(tagNames(header![3]!)).toEqual(TX_TAGS);
  expect(header![3]).toContain(`pleo-entry:${entry.accountingEntryId},`);
  i += 1;
  for (; lines[i]!.startsWith('    ; '); i++) {
    for (const name of tagNames(lines[i]!.slice(6))) expect(NOTE_TAGS.has(name), name).toBe(true);
  }
  for (const posting of entry.postings) {
    const match = /^ {4}(\S.*?) {2,}(-?\d+(?:\.\d+)? [A-Z]{3})(?: {2}; (.*))?$/.exec(lines[i]!);
    expect(match, lines[i]).not.toBeNull();
    expect(match![1]).toBe(posting.account);
    expect(match![3] ? tagNames(match![3]) : []).toEqual(postingTags(posting));
    i += 1;
  }
  expect(i).toBe(lines.length - 3);
}

const root = mkdtempSync(join(tmpdir(), 'pleo-untrusted-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('property: hostile strings in every field of an export item never break a sink', () => {
  it(`${RUNS} generated items: mapping, HTTP JSON, journal blocks, terminal; then the journals through hledger`, async () => {
    const accepted = new Map<string, AccountingEntry>();
    const counts = { refused: 0, spoiledRefused: 0, journalRefused: 0 };
    let body: string | undefined;
    const http = createHttpAdapter({
      baseUrl: 'http://erp.invalid',
      fetch: ((_url: string, init: { body?: string }) => {
        body = init.body;
        return Promise.resolve(
          new Response(JSON.stringify({ externalId: 'X-1', recordedAt: '2026-03-10T00:00:00.000Z' }), {
            status: 201,
            headers: { 'content-type': 'application/json' },
          }),
        );
      }) as unknown as typeof fetch,
    });

    await fc.assert(
      fc.asyncProperty(caseArb, async ({ item: i, spoiled }) => {
        const result = mapExportItem(i, config, ctx);

        // Terminal: every raw value of the item, in a table and as output lines.
        const raw = strings(i);
        // cli-table3 measures every cell (slow on long ones): the printing commands shorten them too.
        const cells = raw.filter((s) => s !== '').map((s) => s.slice(0, 120));
        const rows: Cell[][] = cells.slice(0, 8).map((s, n) => [String(n), s]);
        rows.push(['lines', cells.slice(8, 12)]);
        if (run++ % TABLE_EVERY === 0) clean(table(['field', 'value'], rows).replace(/\n/g, ''), 'a table');
        for (const s of raw) {
          clean(terminalText(s), 'terminalText');
          const log = JSON.stringify({ msg: s });
          const shown = terminalText(log, { keepNewlines: true });
          clean(shown, 'a log line');
          if ((JSON.parse(shown) as { msg: string }).msg !== s)
            throw new Error(`a log line escaped for the terminal changed its value: ${log}`);
        }

        if (!result.ok) {
          counts.refused += 1;
          expect(result.failureReason).not.toMatch(FORBIDDEN);
          if (spoiled.length > 0) {
            counts.spoiledRefused += 1;
            expect(result.failureReasonType, `${spoiled.join(', ')}: ${result.failureReason}`).toBe(
              'validation_failure',
            );
          }
          return;
        }
        expect(spoiled, 'an item with a value the spec does not allow was accepted').toEqual([]);
        const { entry } = result;
        for (const s of strings(entry)) clean(s, 'the entry');
        // Free text comes through, each control character as one space (README "Untrusted data").
        if (i.note) expect(entry.note).toBe(cleanText(i.note));
        expect(entry.attendees).toEqual(
          (i.additionalInformation.attendees ?? [])
            .filter((a): a is string => typeof a === 'string')
            .map(cleanText),
        );
        if (i.additionalInformation.invoiceInformation)
          expect(entry.invoice?.number).toBe(
            cleanText(i.additionalInformation.invoiceInformation.invoiceNumber),
          );

        // HTTP adapter: the body parses back to exactly the entry.
        body = undefined;
        const outcome = await http.record(entry, {
          companyId: COMPANY,
          idempotencyKey: entry.accountingEntryId,
          attachments: [],
        });
        expect(outcome.status).toBe('booked');
        expect(body).toBeDefined();
        expect((JSON.parse(body!) as { entry: unknown }).entry).toEqual(entry);

        // Journal: accounts hledger cannot take are refused by the adapter (checked below too).
        if (entry.postings.some((p) => accountNameProblem(p.account) !== null)) {
          counts.journalRefused += 1;
          return;
        }
        const block = renderBlock(
          entry,
          { declaredAccounts: new Set(), declaredCommodities: new Set() },
          {
            code: 'P000001',
            recordedAt: '2026-03-10T00:00:00.000Z',
            receipts: [`receipts/${tagValue(entry.accountingEntryId)}-0.pdf`],
            costNotation: 'tag',
          },
        );
        checkBlock(block.text, entry);
        if (!accepted.has(entry.accountingEntryId)) accepted.set(entry.accountingEntryId, entry);
      }),
      { numRuns: RUNS, seed: 17_2026 },
    );

    // The generator must exercise both sides.
    expect(counts.spoiledRefused).toBeGreaterThan(RUNS / 50);
    expect(accepted.size).toBeGreaterThan(RUNS / 3);

    // The real adapter and the real hledger, a few journals of many entries each.
    const entries = [...accepted.values()];
    for (let start = 0; start < entries.length; start += PER_JOURNAL) {
      const chunk = entries.slice(start, start + PER_JOURNAL);
      const journalPath = join(root, `books-${start}.journal`);
      const adapter = createHledgerAdapter({ journalPath, now: () => new Date('2026-03-10T00:00:00Z') });
      const outcomes = await Promise.all(
        chunk.map((e) =>
          adapter.record(e, { companyId: COMPANY, idempotencyKey: e.accountingEntryId, attachments: [] }),
        ),
      );
      await adapter.close();
      const codes = new Map<string, string>();
      outcomes.forEach((o, n) => {
        expect(o.status, JSON.stringify(o)).toBe('booked');
        if (o.status === 'booked') codes.set(chunk[n]!.accountingEntryId, o.externalId);
      });

      hledger(journalPath, ['check', '--strict']);
      const printed = JSON.parse(hledger(journalPath, ['print', '-O', 'json'])) as {
        tcode: string;
        tdate: string;
        ttags: [string, string][];
        tpostings: {
          paccount: string;
          ptags: [string, string][];
          pamount: { acommodity: string; aquantity: { decimalMantissa: number; decimalPlaces: number } }[];
        }[];
      }[];
      expect(printed).toHaveLength(chunk.length);
      const byId = new Map(chunk.map((e) => [e.accountingEntryId, e]));
      const seen = new Set<string>();
      for (const tx of printed) {
        const ids = tx.ttags.filter(([k]) => k === 'pleo-entry').map(([, v]) => v);
        expect(ids).toHaveLength(1);
        const id = ids[0]!;
        const entry = byId.get(id);
        expect(entry, `a transaction nobody wrote: ${id}`).toBeDefined();
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        expect(tx.tcode).toBe(codes.get(id));
        expect(tx.tdate).toBe(entry!.date);
        for (const [name] of tx.ttags) expect(TX_TAGS.includes(name) || NOTE_TAGS.has(name), name).toBe(true);
        expect(tx.tpostings.map((p) => visible(p.paccount))).toEqual(
          entry!.postings.map((p) => visible(p.account)),
        );
        tx.tpostings.forEach((p, n) => {
          const expected = entry!.postings[n]!;
          expect(p.pamount).toHaveLength(1);
          const amount = p.pamount[0]!;
          expect(amount.acommodity).toBe(expected.amount.currency);
          const scale = currencyExponent(expected.amount.currency) - amount.aquantity.decimalPlaces;
          expect(amount.aquantity.decimalMantissa * 10 ** scale).toBe(expected.amount.value);
          expect(new Set(p.ptags.map(([name]) => name))).toEqual(new Set(postingTags(expected)));
        });
      }
      // Declared accounts: exactly the entries' accounts (no directive smuggled in).
      const declared = hledger(journalPath, ['accounts', '--declared']).trim().split('\n').sort();
      expect(declared).toEqual([...new Set(chunk.flatMap((e) => e.postings.map((p) => p.account)))].sort());
      // Nothing at column 0 but what the adapter writes.
      for (const text of readFileSync(journalPath, 'utf8').split('\n')) {
        expect(text).toMatch(
          /^(?:$|[ ;]|# pleo-(?:begin|end):|account |commodity |decimal-mark \.$|\d{4}-\d{2}-\d{2} [*!] \(P\d{6}\) )/,
        );
      }
    }
  }, 900_000);
});
