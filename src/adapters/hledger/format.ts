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
import { currencyExponent, formatMinor } from '../../accounting/index.js';

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

/** A value safe inside an hledger tag (commas end a tag value; newlines end the comment). */
export function tagValue(value: string): string {
  return value
    .replace(/[,\r\n\t]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

function description(value: string): string {
  // ';' would start a comment, '|' splits payee and note: keep the text readable without them.
  return value
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/;/g, ',')
    .replace(/\|/g, '/')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

/** Why `account` cannot be written as an hledger account name, or null. */
export function accountNameProblem(account: string): string | null {
  if (!account.trim()) return 'it is empty';
  if (/[;\r\n\t]/.test(account)) return 'it contains ";" or a line break or tab';
  if (/\s{2,}/.test(account)) return 'it contains two spaces in a row';
  if (account !== account.trim()) return 'it has leading or trailing spaces';
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
  const tags = Object.entries(posting.dimensions).map(([k, v]) => `${tagName(k)}:${tagValue(v)}`);
  if (posting.tax?.code) tags.push(`tax-code:${tagValue(posting.tax.code)}`);
  if (posting.tax && posting.role !== 'expense') tags.push(`tax-rate:${posting.tax.rate}`);
  if (posting.party) tags.push(`vendor:${tagValue(posting.party)}`);
  if (posting.cost && costNotation === 'tag')
    tags.push(`supplier-amount:${amountText(posting.cost.value, posting.cost.currency)}`);
  return tags;
}

/** Tag names are words; anything else becomes '-'. */
function tagName(name: string): string {
  return name.replace(/[^\p{L}\p{N}_-]+/gu, '-') || 'tag';
}

export function blockHash(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Renders the block for `entry`. Accounts and commodities not in `state` are declared in it. */
export function renderBlock(
  entry: AccountingEntry,
  state: RenderState,
  options: RenderOptions,
): RenderedBlock {
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
      lines.push(name ? `account ${account}  ; ${description(name)}` : `account ${account}`);
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
    `pleo-type:${entry.itemType}${entry.itemSubType ? `/${entry.itemSubType}` : ''}`,
    `pleo-recorded:${options.recordedAt}`,
  ];
  const headerLine = lines.length;
  const mark = entry.posting === 'final' ? '*' : '!';
  lines.push(
    `${entry.date} ${mark} (${options.code}) ${description(entry.description)}  ; ${headerTags.join(', ')}`,
  );

  const extra: string[] = [`kind:${entry.kind}`, `method:${entry.method}`];
  if (entry.originalDate) extra.push(`original-date:${entry.originalDate}`);
  if (entry.counterparty?.code)
    extra.push(`${entry.counterparty.source}:${tagValue(entry.counterparty.code)}`);
  if (entry.counterparty?.taxIdentifier) extra.push(`tax-id:${tagValue(entry.counterparty.taxIdentifier)}`);
  if (entry.invoice)
    extra.push(`invoice:${tagValue(entry.invoice.number)}`, `invoice-date:${entry.invoice.date}`);
  if (entry.invoice?.dueDate) extra.push(`due-date:${entry.invoice.dueDate}`);
  if (entry.servicePeriod)
    extra.push(`service-period:${entry.servicePeriod.from}..${entry.servicePeriod.to}`);
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
