/**
 * Renders a system-neutral entry as one hledger journal block (pure; no I/O).
 *
 * A block is what one append writes, atomically from the reader's point of view:
 *
 * ```
 * # pleo-begin:<accountingEntryId>
 * account 6010  ; Travel                      ← only accounts/commodities not yet declared
 * commodity 1000.00 EUR
 * 2026-03-01 ! (P000042) Hotel Alpha · Jane Doe  ; pleo-entry:<id>, pleo-job:<job>, pleo-reconciliation:<rec>, …
 *     ; receipt:receipts/<id>-0.pdf
 *     6010         80.00 EUR  ; dept:Sales, team:T1
 *     2640         20.00 EUR  ; tax-code:S25
 *     1920       -100.00 EUR
 * # pleo-end:<accountingEntryId> <sha256 of everything above, from the begin line, 16 hex>
 * (blank line)
 * ```
 *
 * Column-0 `#` lines are journal comments for hledger (they also end the transaction), so the
 * markers are invisible to reports; the adapter uses them to detect a torn final block on open.
 */
import { createHash } from 'node:crypto';

import type { AccountingEntry, Posting } from '../../accounting/index.js';
import { cleanText, currencyExponent, formatMinor, hasControlCharacter } from '../../accounting/index.js';

export const BEGIN = '# pleo-begin:';
export const END = '# pleo-end:';

/** How the supplier-currency amount is kept. `tag`: as a posting tag; `cost`: hledger `@@` cost. */
export type CostNotation = 'tag' | 'cost';

export interface RenderState {
  declaredAccounts: ReadonlySet<string>;
  declaredCommodities: ReadonlySet<string>;
}

export interface RenderedBlock {
  text: string;
  newAccounts: string[];
  newCommodities: string[];
  /** 0-based line of the transaction header within `text`. */
  headerLine: number;
}

export interface RenderOptions {
  code: string;
  recordedAt: string;
  receipts: readonly string[];
  costNotation: CostNotation;
  accountNames?: ReadonlyMap<string, string>;
}

/*
 * Escaping for the journal (issue 17). The accounting layer already turned control characters into
 * spaces and refused identifiers holding them; these functions are the journal's own syntax rules
 * and repeat the control-character cleaning, so a caller that skipped the mapping cannot break the
 * file either:
 * - a tag value ends at a comma or the end of the line: commas become spaces (a `word:` inside a
 *   value stays part of the value; hledger 1.25 reads no tag there);
 * - a transaction description ends at `;` and splits payee/note at `|`;
 * - free text in a comment (the `account` directive's name) must not contain `word:`, which hledger
 *   reads as a tag (`type:` would even change the account's type): a space goes before the colon.
 */

/** A value safe inside an hledger tag (commas end a tag value; newlines end the comment). */
export function tagValue(value: string): string {
  return cleanText(value)
    .replace(/[,\r\n\t]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

function description(value: string): string {
  // ';' would start a comment, '|' splits payee and note: keep the text readable without them.
  return cleanText(value)
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/;/g, ',')
    .replace(/\|/g, '/')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** Free text inside a comment: a description with no `word:` tag in it. */
function commentText(value: string): string {
  return description(value).replace(/(?<=\S):/g, ' :');
}

/** Why `account` cannot be written as an hledger account name, or null. */
export function accountNameProblem(account: string): string | null {
  if (!account.trim()) return 'it is empty';
  if (/[;\r\n\t]/.test(account)) return 'it contains ";" or a line break or tab';
  if (hasControlCharacter(account)) return 'it contains a control character';
  // Any two Unicode spaces (hledger's isSpace, which includes U+00A0) end the account name.
  if (/\s{2,}/u.test(account)) return 'it contains two spaces in a row';
  if (account !== account.trim()) return 'it has leading or trailing spaces';
  // hledger reads any other space character (U+00A0, U+3000, …) as a plain space: "60\u00a010" would
  // silently become account "60 10", another account than the one Pleo named.
  if (/[^\S ]/u.test(account)) return 'it contains a space character other than a plain space';
  // `(acct)`/`[acct]` are virtual postings (hledger would not balance them); a leading `*`/`!` is
  // read as the posting's status and dropped from the name.
  if (/^[([*!]/.test(account)) return 'it starts with "(", "[", "*" or "!"';
  return null;
}

/**
 * Why `key` cannot mark an entry in the journal (`# pleo-begin:<key>`, `pleo-entry:<key>`), or null:
 * it must be one word without commas or control characters.
 */
export function entryKeyProblem(key: string): string | null {
  if (key === '') return 'it is empty';
  if (hasControlCharacter(key) || /[\s,;]/u.test(key))
    return 'it contains a space, ",", ";" or a control character';
  return null;
}

/** Why `date` cannot start an hledger transaction (`YYYY-MM-DD` of a real day), or null. */
export function journalDateProblem(date: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return 'it is not YYYY-MM-DD';
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(2000, month - 1, day));
  check.setUTCFullYear(year);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return 'no such day';
  return null;
}

/** `commodity 1000.00 EUR` with the currency's number of decimals (`1000. JPY`, `1000.000 KWD`). */
export function commodityDirective(currency: string): string {
  const decimals = currencyExponent(currency);
  return `commodity 1000.${'0'.repeat(decimals)} ${currency}`;
}

function amountText(value: number, currency: string): string {
  return `${formatMinor(value, currency)} ${currency}`;
}

function postingTags(posting: Posting, costNotation: CostNotation): string[] {
  const tags = Object.entries(posting.dimensions).map(([k, v]) => `${dimensionTagName(k)}:${tagValue(v)}`);
  if (posting.tax?.code) tags.push(`tax-code:${tagValue(posting.tax.code)}`);
  if (posting.tax && posting.role !== 'expense') tags.push(`tax-rate:${posting.tax.rate}`);
  if (posting.party) tags.push(`vendor:${tagValue(posting.party)}`);
  if (posting.cost && costNotation === 'tag')
    tags.push(`supplier-amount:${amountText(posting.cost.value, posting.cost.currency)}`);
  return tags;
}

/**
 * The tag name for a dimension (a Pleo tag group code): a word, anything else becomes '-'. hledger's
 * `tag:NAME=VALUE` query matches NAME as a regular expression anywhere in a tag's name, so no
 * dimension may contain `pleo-` (it becomes `pleo_`): a tag group called `pleo-entry` cannot make
 * `tag:pleo-entry=<id>` find the wrong transaction. Names of tags pleo-export writes itself on a
 * posting (`tax-code`, `vendor`, …) get a `dim-` prefix.
 */
export function dimensionTagName(name: string): string {
  const word = (name.replace(/[^\p{L}\p{N}_-]+/gu, '-') || 'tag').replace(
    /(pleo)-/gi,
    (_match, pleo: string) => `${pleo}_`,
  );
  return RESERVED_TAGS.has(word.toLowerCase()) ? `dim-${word}` : word;
}

/** Tag names of postings and entries that pleo-export writes itself. */
const RESERVED_TAGS = new Set([
  'tax-code',
  'tax-rate',
  'vendor',
  'supplier',
  'supplier-amount',
  'receipt',
  'type',
]);

export function blockHash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Renders the block for `entry`. Accounts and commodities not in `state` are declared in it. */
export function renderBlock(
  entry: AccountingEntry,
  state: RenderState,
  options: RenderOptions,
): RenderedBlock {
  const unsafe = entryKeyProblem(entry.accountingEntryId) ?? journalDateProblem(entry.date);
  if (unsafe) throw new Error(`renderBlock: entry ${JSON.stringify(entry.accountingEntryId)}: ${unsafe}`);
  const lines: string[] = [`${BEGIN}${entry.accountingEntryId}`];
  const newAccounts: string[] = [];
  const newCommodities: string[] = [];
  const names = new Map<string, string>();
  for (const posting of entry.postings) {
    if (posting.accountName && !names.has(posting.account)) names.set(posting.account, posting.accountName);
  }
  for (const posting of entry.postings) {
    const account = posting.account;
    if (!state.declaredAccounts.has(account) && !newAccounts.includes(account)) {
      newAccounts.push(account);
      const name = options.accountNames?.get(account) ?? names.get(account);
      const comment = name ? commentText(name) : '';
      lines.push(comment ? `account ${account}  ; ${comment}` : `account ${account}`);
    }
    const currencies = [posting.amount.currency];
    if (posting.cost && options.costNotation === 'cost') currencies.push(posting.cost.currency);
    for (const currency of currencies) {
      if (!state.declaredCommodities.has(currency) && !newCommodities.includes(currency)) {
        newCommodities.push(currency);
        lines.push(commodityDirective(currency));
      }
    }
  }

  const headerTags = [
    `pleo-entry:${tagValue(entry.accountingEntryId)}`,
    `pleo-job:${tagValue(entry.jobId)}`,
    `pleo-reconciliation:${tagValue(entry.reconciliationId)}`,
    `pleo-type:${tagValue(`${entry.itemType}${entry.itemSubType ? `/${entry.itemSubType}` : ''}`)}`,
    `pleo-recorded:${tagValue(options.recordedAt)}`,
  ];
  const headerLine = lines.length;
  const mark = entry.posting === 'final' ? '*' : '!';
  lines.push(
    `${entry.date} ${mark} (${options.code}) ${description(entry.description)}  ; ${headerTags.join(', ')}`,
  );

  const extra: string[] = [`kind:${tagValue(entry.kind)}`, `method:${tagValue(entry.method)}`];
  if (entry.originalDate) extra.push(`original-date:${tagValue(entry.originalDate)}`);
  if (entry.counterparty?.code)
    extra.push(`${entry.counterparty.source}:${tagValue(entry.counterparty.code)}`);
  if (entry.counterparty?.taxIdentifier) extra.push(`tax-id:${tagValue(entry.counterparty.taxIdentifier)}`);
  if (entry.invoice)
    extra.push(`invoice:${tagValue(entry.invoice.number)}`, `invoice-date:${tagValue(entry.invoice.date)}`);
  if (entry.invoice?.dueDate) extra.push(`due-date:${tagValue(entry.invoice.dueDate)}`);
  if (entry.servicePeriod)
    extra.push(`service-period:${tagValue(`${entry.servicePeriod.from}..${entry.servicePeriod.to}`)}`);
  if (entry.team) extra.push(`team:${tagValue(entry.team.code ?? entry.team.name)}`);
  if (entry.user) extra.push(`user:${tagValue(entry.user.code ?? entry.user.name)}`);
  if (entry.metadata['supplierAmount'])
    extra.push(`supplier-amount:${tagValue(entry.metadata['supplierAmount'])}`);
  lines.push(`    ; ${extra.join(', ')}`);
  if (entry.attendees.length > 0) lines.push(`    ; attendees:${tagValue(entry.attendees.join(' / '))}`);
  if (entry.reconciledEntries.length > 0)
    lines.push(`    ; reconciled-entries:${tagValue(entry.reconciledEntries.join(' '))}`);
  if (entry.note) lines.push(`    ; note:${tagValue(entry.note)}`);
  for (const receipt of options.receipts) lines.push(`    ; receipt:${tagValue(receipt)}`);

  const width = Math.max(...entry.postings.map((p) => p.account.length), 12);
  for (const posting of entry.postings) {
    let amount = amountText(posting.amount.value, posting.amount.currency);
    if (posting.cost && options.costNotation === 'cost') {
      // hledger cost: the posting is in the supplier currency and costs the wallet amount.
      amount = `${amountText(posting.cost.value, posting.cost.currency)} @@ ${amountText(Math.abs(posting.amount.value), posting.amount.currency)}`;
    }
    const tags = postingTags(posting, options.costNotation);
    const comment = tags.length > 0 ? `  ; ${tags.join(', ')}` : '';
    lines.push(`    ${posting.account.padEnd(width)}  ${amount.padStart(16)}${comment}`);
  }
  const body = `${lines.join('\n')}\n`;
  const text = `${body}${END}${entry.accountingEntryId} ${blockHash(body)}\n\n`;
  return { text, newAccounts, newCommodities, headerLine };
}

/** The journal's first lines, written once when the adapter creates the file. */
export const JOURNAL_HEADER = [
  '; hledger journal written by pleo-export.',
  '; Each exported Pleo entry is one block between "# pleo-begin:<id>" and "# pleo-end:<id> <hash>".',
  '; Add your own entries anywhere outside those blocks; do not edit inside them.',
  'decimal-mark .',
  '',
  '',
].join('\n');
