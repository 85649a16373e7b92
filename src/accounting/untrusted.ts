/**
 * Pleo's data is untrusted input (issue 17): every value of an export item that reaches a file, a
 * terminal or another system is either checked against the spec or neutralised here, before any
 * adapter sees the entry.
 *
 * - **Formats and enums** (`type`, `subType`, `bookkeeping.method`, tax `type`, dates, UUIDs,
 *   `companyId`): a value the spec does not allow refuses the item (`validation_failure`, with the
 *   field and the value, escaped, in the reason). Nothing is guessed.
 * - **Identifiers the accounting system matches** (account codes, tax codes, tag codes, vendor and
 *   supplier codes, line and reconciliation ids): a control character refuses the item with the
 *   failure type Pleo has for that identifier (`account_unknown`, `tax_code_unknown`, `tag_unknown`,
 *   `vendor_unknown`, `validation_failure`); rewriting them would book against another code.
 * - **Free text** (description, note, names, attendees, invoice number, tax identifier, metadata):
 *   every control character becomes one space and a lone surrogate becomes U+FFFD, so the text keeps
 *   its length and stays readable.
 *
 * "Control character" means {@link CONTROL_CHARACTERS}: C0 (NUL, ESC, tab, CR, LF, …), DEL, C1,
 * the bidirectional controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069) and the line and
 * paragraph separators U+2028/2029. Adapters then escape the entry for their own syntax (hledger:
 * `;`, `|`, `,`, tag colons, account-name rules); JSON needs nothing more.
 */
import { specEnumValues, type ExportItem, type SpecEnumName } from '../client/index.js';
import { MappingFailure } from './resolve.js';
import type { AccountingEntry, ItemFailure, MappingContext, Posting } from './types.js';

/** Every character that may never reach a journal, a terminal or another system from Pleo's data. */
export const CONTROL_CHARACTERS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const CONTROLS_GLOBAL = new RegExp(CONTROL_CHARACTERS.source, 'gu');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** True when `value` holds a {@link CONTROL_CHARACTERS} character or a lone surrogate. */
export function hasControlCharacter(value: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return CONTROL_CHARACTERS.test(value) || LONE_SURROGATE.test(value);
}

/** Free text made safe for any sink: each control character → one space, lone surrogate → U+FFFD. */
export function cleanText(value: string): string {
  return value.replace(CONTROLS_GLOBAL, ' ').replace(LONE_SURROGATE, '\ufffd');
}

/**
 * `value` as it may appear inside a failure reason or a log line: JSON-quoted (control characters
 * become `\u001b`-style escapes, quotes are escaped) and cut at 80 characters.
 */
export function quoteUntrusted(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  return JSON.stringify(cut)
    .replace(CONTROLS_GLOBAL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(LONE_SURROGATE, '\ufffd');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d|60)(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$/i;

/**
 * True for a calendar date `YYYY-MM-DD` (when `dateOnly` is allowed) or an RFC 3339 date-time
 * whose date part exists (no 2026-02-30). The spec types the item's dates as `date-time`; its
 * invoice dates said `YYYY-MM-DD` in a pattern (docs/decisions.md#s11), so those accept both.
 */
export function isSpecDate(value: unknown, options: { dateOnly: boolean }): value is string {
  if (typeof value !== 'string') return false;
  const match = DATE_TIME.exec(value) ?? (options.dateOnly ? DATE.exec(value) : null);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function refuse(failureReasonType: ItemFailure['failureReasonType'], failureReason: string): MappingFailure {
  return new MappingFailure({ failureReasonType, failureReason });
}

function invalidField(field: string, value: unknown, expected: string): MappingFailure {
  return refuse(
    'validation_failure',
    `The expense's ${field} ${quoteUntrusted(value)} is not ${expected} as Pleo's Export API defines it; it was not booked. Report the expense to Pleo support.`,
  );
}

function checkEnum(field: string, value: unknown, schema: SpecEnumName, optional: boolean): void {
  if (optional && (value === undefined || value === null)) return;
  if (typeof value !== 'string' || !specEnumValues(schema).has(value))
    throw invalidField(field, value, `one of ${schema}`);
}

function checkDate(field: string, value: unknown, optional: boolean, dateOnly: boolean): void {
  if (optional && (value === undefined || value === null)) return;
  if (!isSpecDate(value, { dateOnly })) throw invalidField(field, value, 'a valid date');
}

/**
 * Checks the item's spec formats and enums and that it belongs to the job's company; throws a
 * {@link MappingFailure} (caught by `mapExportItem`) naming the first violation.
 */
export function checkItemFormats(item: ExportItem, ctx: MappingContext): void {
  if (item.companyId !== ctx.companyId) {
    throw refuse(
      'validation_failure',
      `The expense belongs to company ${quoteUntrusted(item.companyId)}, not to company ${ctx.companyId} whose export job listed it; it was not booked in this company's books. Report the expense to Pleo support.`,
    );
  }
  if (!isUuid(item.accountingEntryId))
    throw invalidField('accountingEntryId', item.accountingEntryId, 'a UUID');
  checkEnum('type', item.type, 'ExportItemTypeV3', false);
  checkEnum('subType', item.subType, 'ExportItemSubTypeV3', true);
  if (item.bookkeeping !== undefined && item.bookkeeping !== null)
    checkEnum('bookkeeping.method', item.bookkeeping.method, 'BookkeepingMethodV3', false);
  checkDate('date', item.date, false, false);
  const invoice = item.additionalInformation?.invoiceInformation;
  if (invoice) {
    checkDate('invoice date', invoice.invoiceDate, false, true);
    checkDate('invoice due date', invoice.dueDate, true, true);
  }
  if (item.servicePeriod) {
    checkDate('service period start', item.servicePeriod.from, false, false);
    checkDate('service period end', item.servicePeriod.to, false, false);
  }
  item.accountingEntryLines.forEach((line, index) => {
    if (!isUuid(line.accountingEntryLineId))
      throw invalidField(`line ${index + 1} id`, line.accountingEntryLineId, 'a UUID');
    if (line.tax) checkEnum(`line ${index + 1} tax type`, line.tax.type, 'TaxTypeV3', false);
  });
}

function checkCode(
  value: string | undefined,
  failureReasonType: ItemFailure['failureReasonType'],
  what: string,
  check: string,
): void {
  if (value === undefined || !hasControlCharacter(value)) return;
  throw refuse(
    failureReasonType,
    `${what} ${quoteUntrusted(value)} contains a control character and cannot be booked. Check ${check}.`,
  );
}

function cleanPosting(posting: Posting): Posting {
  checkCode(posting.account, 'account_unknown', 'Account No.', 'Category');
  checkCode(posting.tax?.code, 'tax_code_unknown', 'Tax code', 'the tax code of the expense');
  checkCode(posting.party, 'vendor_unknown', 'Vendor', 'the vendor of the expense');
  checkCode(posting.lineId, 'validation_failure', 'Line id', 'the expense in Pleo');
  for (const [group, code] of Object.entries(posting.dimensions)) {
    checkCode(group, 'tag_unknown', 'Tag group', 'the Tag');
    checkCode(code, 'tag_unknown', 'Tag with code', 'the Tag');
  }
  return posting.accountName === undefined
    ? posting
    : { ...posting, accountName: cleanText(posting.accountName) };
}

const cleanOptional = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : cleanText(value);

/**
 * The entry with its free text cleaned, or a {@link MappingFailure} when an identifier holds a
 * control character. Applied to every mapped entry, so no adapter sees raw Pleo text.
 */
export function cleanEntry(entry: AccountingEntry): AccountingEntry {
  checkCode(entry.reconciliationId, 'validation_failure', 'Reconciliation id', 'the expense in Pleo');
  for (const id of entry.reconciledEntries)
    checkCode(id, 'validation_failure', 'Reconciled entry', 'the expense in Pleo');
  const postings = entry.postings.map(cleanPosting);
  const { counterparty, team, user, invoice } = entry;
  if (counterparty) {
    checkCode(
      counterparty.code,
      counterparty.source === 'vendor' ? 'vendor_unknown' : 'validation_failure',
      counterparty.source === 'vendor' ? 'Vendor' : 'Supplier code',
      `the ${counterparty.source} of the expense`,
    );
    checkCode(counterparty.account, 'account_unknown', 'Account No.', 'the vendor account');
  }
  checkCode(team?.code, 'validation_failure', 'Team code', 'the team in Pleo');
  checkCode(user?.code, 'validation_failure', 'User code', 'the employee code in Pleo');
  const note = cleanOptional(entry.note);
  const name = cleanOptional(counterparty?.name);
  const taxIdentifier = cleanOptional(counterparty?.taxIdentifier);
  return {
    ...entry,
    description: cleanText(entry.description),
    ...(note === undefined ? {} : { note }),
    attendees: entry.attendees.map(cleanText),
    postings,
    ...(counterparty
      ? {
          counterparty: {
            ...counterparty,
            ...(name === undefined ? {} : { name }),
            ...(taxIdentifier === undefined ? {} : { taxIdentifier }),
          },
        }
      : {}),
    ...(team ? { team: { ...team, name: cleanText(team.name) } } : {}),
    ...(user ? { user: { ...user, name: cleanText(user.name) } } : {}),
    ...(invoice ? { invoice: { ...invoice, number: cleanText(invoice.number) } } : {}),
    files: entry.files.map((f) => ({ ...f, contentType: cleanText(f.contentType) })),
    metadata: Object.fromEntries(
      Object.entries(entry.metadata).map(([k, v]) => [cleanText(k), cleanText(v)]),
    ),
  };
}

/** A failure whose reason text is safe for every sink (it may quote Pleo's values). */
export function cleanFailure(failure: ItemFailure): ItemFailure {
  return { ...failure, failureReason: cleanText(failure.failureReason) };
}
