/**
 * Tryton adapter: books entries into a Tryton 6 ERP over JSON-RPC.
 *
 * - Journal entries become `account.move` (journal `journal`, period of the entry's date), draft
 *   or posted; supplier invoices (accounts payable method) become `account.invoice` (type in)
 *   with their expense lines and Pleo's tax amounts as manual invoice taxes, and the payment half
 *   of a card purchase as a move next to it.
 * - Receipts become `ir.attachment` records on the move (or invoice), named by attachment key.
 * - The wallet amount is booked in the company currency; a supplier currency that differs is kept
 *   as the lines' second currency. A wallet currency that differs from the company currency is
 *   converted at Tryton's own rates and kept as second currency.
 * - Exactly once without an idempotency key: see `markers.ts`. `record` looks up first, resumes a
 *   half-done write (pending marker) and never creates a second document for a key; a lost answer
 *   is found by the same lookup. Within one process, concurrent records of one key share one write.
 */
import { readFile } from 'node:fs/promises';

import {
  balanceProblem,
  currencyExponent,
  extensionForContentType,
  type AccountingEntry,
  type Posting,
} from '../../accounting/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import { classifyAccountingError, jobFailureOf } from '../errors.js';
import { keyedSingleFlight } from '../single-flight.js';
import type {
  AccountingAdapter,
  AdapterContext,
  ItemRefusal,
  RecordedEntry,
  RecordOutcome,
  StoredAttachment,
  ValidationResult,
} from '../types.js';
import { convert, toDecimal } from './amounts.js';
import { accountRefusal, Books, type CompanyInfo } from './books.js';
import { described, KEY_PATTERN, keyDomain, parseDescription, type Marker } from './markers.js';
import { bytes, date, decimal, TrytonRpc, TrytonUserError, type TrytonRpcOptions } from './rpc.js';

export interface TrytonAdapterOptions extends TrytonRpcOptions {
  company: number | string;
  /** @default 'CASH' */
  journal?: string;
  /** @default 'EXP' */
  invoiceJournal?: string;
  /** Absent: each entry's `posting` decides (final → posted). */
  postingMode?: 'posted' | 'draft';
  /** @default true */
  supplierInvoices?: boolean;
  /** Pleo account code → Tryton account code. */
  accounts?: Readonly<Record<string, string>>;
  /** Clock for `recordedAt` of new documents (found ones carry Tryton's create_date). */
  now?: () => number;
  /** Crash-test hook: called after each RPC step of a write (never set in production). */
  onStep?: (step: string, key: string) => void | Promise<void>;
}

export interface TrytonAdapter extends AccountingAdapter {
  readonly rpc: TrytonRpc;
  readonly books: Books;
}

type Row = Record<string, unknown>;
type Doc = {
  model: 'account.move' | 'account.invoice';
  id: number;
  number: string;
  state: string;
  marker: Marker;
  createdAt: string;
};
type Failure = ItemRefusal;

const refuse = (failureReasonType: ItemRefusal['failureReasonType'], failureReason: string): Failure => ({
  status: 'failed',
  failureReasonType,
  failureReason,
});

/** UserErrors that are about the item (its date, amounts, accounts), not about the connection. */
function userErrorRefusal(error: TrytonUserError, entry: AccountingEntry): Failure {
  const text = error.message;
  if (/closed (period|journal)|period.*closed|clôtur/i.test(text)) {
    return refuse(
      'accounting_system_validation_failure',
      `Tryton refused the entry dated ${entry.date}: ${text} Reopen the period in Tryton, or set accounting.closedPeriod: move to book into the first open date.`,
    );
  }
  if (/not allowed|access/i.test(text)) {
    return refuse(
      'authorization_failure',
      `Tryton refused the entry: ${text} Give the integration user the Accounting groups and this company.`,
    );
  }
  return refuse('accounting_system_validation_failure', `Tryton refused the entry: ${text}`);
}

export function createTrytonAdapter(options: TrytonAdapterOptions): TrytonAdapter {
  const rpc = new TrytonRpc(options);
  const books = new Books(rpc, options.company);
  const journalCode = options.journal ?? 'CASH';
  const invoiceJournalCode = options.invoiceJournal ?? 'EXP';
  const supplierInvoices = options.supplierInvoices ?? true;
  const accountMap = options.accounts ?? {};
  const inFlight = keyedSingleFlight<RecordOutcome>();
  const now = options.now ?? Date.now;
  let closed = false;
  const step = async (name: string, key: string): Promise<void> => {
    await options.onStep?.(name, key);
  };
  const baseUrl = rpc.url;
  const urlOf = (doc: Pick<Doc, 'model' | 'id'>): string =>
    `${baseUrl.replace(/^http/, 'tryton').replace(/\/+$/, '')}/${encodeURIComponent(rpc.database)}/model/${doc.model}/${doc.id}`;

  const wantPosted = (entry?: AccountingEntry): boolean =>
    options.postingMode !== undefined ? options.postingMode === 'posted' : entry?.posting === 'final';

  // ── lookup ──────────────────────────────────────────────────────────────────────────────────

  async function findDocs(
    key: string,
    signal?: AbortSignal,
  ): Promise<{ moves: Doc[]; invoices: Doc[]; settlement: Doc[] }> {
    const fields = ['description', 'state', 'number', 'create_date'];
    const [moveRows, invoiceRows] = await Promise.all([
      rpc.searchRead(
        'account.move',
        keyDomain(key, ['pending', 'draft', 'posted', 'settlement']),
        [...fields, 'origin'],
        {
          order: [['id', 'ASC']],
          signal,
        },
      ),
      rpc.searchRead('account.invoice', keyDomain(key, ['pending', 'draft', 'posted']), fields, {
        order: [['id', 'ASC']],
        signal,
      }),
    ]);
    const toDoc =
      (model: Doc['model']) =>
      (r: Row): Doc | null => {
        const parsed = parseDescription(r['description']);
        if (!parsed || parsed.key !== key) return null;
        return {
          model,
          id: Number(r['id']),
          number:
            typeof r['number'] === 'string' && r['number'] !== ''
              ? r['number']
              : `${model}#${String(r['id'])}`,
          state: String(r['state']),
          marker: parsed.marker,
          createdAt: typeof r['create_date'] === 'string' ? r['create_date'] : new Date(now()).toISOString(),
        };
      };
    const moves = moveRows.map(toDoc('account.move')).filter((d): d is Doc => d !== null);
    const invoices = invoiceRows.map(toDoc('account.invoice')).filter((d): d is Doc => d !== null);
    return {
      moves: moves.filter((d) => d.marker !== 'settlement'),
      invoices,
      settlement: moves.filter((d) => d.marker === 'settlement'),
    };
  }

  const isComplete = (doc: Doc): boolean =>
    doc.marker === 'draft' || (doc.marker === 'posted' && doc.state === 'posted');

  const recorded = (doc: Doc): RecordedEntry => ({
    externalId: `${doc.model},${doc.id}`,
    externalUrl: urlOf(doc),
    recordedAt: doc.createdAt,
  });

  // ── building lines ──────────────────────────────────────────────────────────────────────────

  interface Built {
    lines: Row[];
    company: CompanyInfo;
    journal: number;
    period: number;
  }

  async function partyFor(
    entry: AccountingEntry,
    posting: Posting,
    signal?: AbortSignal,
  ): Promise<number | Failure> {
    const cp = entry.counterparty;
    const code = posting.party ?? cp?.code;
    const name = cp?.name;
    if ((code === undefined || code === '') && (name === undefined || name === '')) {
      return refuse(
        'vendor_unknown',
        `Account No. ${posting.account} needs a party in Tryton, but the expense has no vendor or supplier. Set the vendor in Pleo, or map the account to one without "Party Required".`,
      );
    }
    return books.party({ ...(code ? { code } : {}), ...(name ? { name } : {}) }, signal);
  }

  /** Company-currency amounts per posting (converted when the wallet currency differs). */
  async function companyAmounts(
    entry: AccountingEntry,
    company: CompanyInfo,
    signal?: AbortSignal,
  ): Promise<number[] | Failure> {
    const values = entry.postings.map((p) => p.amount.value);
    if (entry.currency === company.currencyCode) return values;
    const wallet = await books.currency(entry.currency, signal);
    if (!wallet) return missingCurrency(entry.currency);
    const [fromRate, toRate] = await Promise.all([
      books.rate(wallet.id, entry.date, signal),
      books.rate(company.currencyId, entry.date, signal),
    ]);
    if (fromRate === undefined || toRate === undefined) {
      const which = fromRate === undefined ? entry.currency : company.currencyCode;
      return refuse(
        'missing_configuration',
        `Tryton has no exchange rate for ${which} on or before ${entry.date}: add one (Currency › Currencies › ${which} › Rates) to book ${entry.currency} wallet entries into ${company.name} (${company.currencyCode}).`,
      );
    }
    const wd = currencyExponent(entry.currency);
    const converted = values.map((v) => convert(v, wd, fromRate, company.digits, toRate));
    // Rounding each line can leave a residue: put it on the largest counter-side line.
    const residue = converted.reduce((s, v) => s + v, 0);
    if (residue !== 0) {
      let target = 0;
      entry.postings.forEach((p, i) => {
        const best = converted[target] ?? 0;
        if (['contra', 'payable'].includes(p.role) && Math.abs(converted[i] ?? 0) >= Math.abs(best))
          target = i;
      });
      converted[target] = (converted[target] ?? 0) - residue;
    }
    return converted;
  }

  /** The document just created (its marker still `pending`), or a refusal when Tryton gave no id. */
  function createdDoc(model: Doc['model'], id: number | undefined): Doc {
    const kind = model === 'account.move' ? 'move' : 'invoice';
    if (id === undefined)
      throw new AccountingSystemError(`Tryton created no ${kind}`, {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      });
    return {
      model,
      id,
      number: `${kind}#${id}`,
      state: 'draft',
      marker: 'pending',
      createdAt: new Date(now()).toISOString(),
    };
  }

  function missingCurrency(code: string): Failure {
    return refuse(
      'missing_configuration',
      `Currency ${code} does not exist in Tryton: add it (Currency › Currencies, code ${code}) so entries in ${code} can be booked.`,
    );
  }

  function lineDescription(entry: AccountingEntry, p: Posting): string {
    const parts = [entry.description];
    if (p.tax)
      parts.push(
        `${p.role === 'reverse_charge_tax' ? 'reverse charge' : 'VAT'} ${(p.tax.rate * 100).toFixed(2).replace(/\.?0+$/, '')}%`,
      );
    const dims = Object.entries(p.dimensions).map(([k, v]) => `${k}=${v}`);
    if (dims.length > 0) parts.push(dims.join(', '));
    if (entry.originalDate) parts.push(`dated ${entry.originalDate} in Pleo`);
    return parts.join(' · ');
  }

  async function context(
    entry: AccountingEntry,
    journalCodeWanted: string,
    signal?: AbortSignal,
  ): Promise<Omit<Built, 'lines'> | Failure> {
    const company = await books.companyInfo(signal);
    const journal = await books.journal(journalCodeWanted, signal);
    if (journal === undefined) {
      throw new AccountingSystemError(
        `Tryton has no journal with code ${journalCodeWanted}: create it (Financial › Configuration › Journals) or set adapter.${journalCodeWanted === journalCode ? 'journal' : 'invoiceJournal'} to an existing code`,
        { code: 'ACCOUNTING_REJECTED', retryable: false },
      );
    }
    const period = await books.period(entry.date, signal);
    if (!period) {
      return refuse(
        'accounting_system_validation_failure',
        `Tryton has no fiscal year covering ${entry.date} for ${company.name}: create it with its periods (Financial › Fiscal Years) and export again.`,
      );
    }
    if (period.state !== 'open') {
      return refuse(
        'accounting_system_validation_failure',
        `Period ${period.name} is closed in Tryton, so the entry dated ${entry.date} cannot be booked. Reopen the period in Tryton, or set accounting.closedPeriod: move to book into the first open date.`,
      );
    }
    return { company, journal, period: period.id };
  }

  async function moveLines(
    entry: AccountingEntry,
    postings: readonly { posting: Posting; amount: number }[],
    company: CompanyInfo,
    signal?: AbortSignal,
  ): Promise<Row[] | Failure> {
    const lines: Row[] = [];
    for (const { posting: p, amount } of postings) {
      const code = accountMap[p.account] ?? p.account;
      const account = await books.account(code, signal);
      if (!account || account.closed) return accountRefusal(code, account?.closed ?? false);
      const line: Row = {
        account: account.id,
        debit: decimal(toDecimal(Math.max(amount, 0), company.digits)),
        credit: decimal(toDecimal(Math.max(-amount, 0), company.digits)),
        description: lineDescription(entry, p),
      };
      if (account.partyRequired) {
        const party = await partyFor(entry, p, signal);
        if (typeof party !== 'number') return party;
        line['party'] = party;
      }
      const second =
        entry.currency !== company.currencyCode
          ? { currency: entry.currency, value: p.amount.value }
          : p.cost && p.cost.currency !== company.currencyCode
            ? p.cost
            : undefined;
      if (second) {
        const currency = await books.currency(second.currency, signal);
        if (!currency) return missingCurrency(second.currency);
        line['second_currency'] = currency.id;
        line['amount_second_currency'] = decimal(toDecimal(second.value, currencyExponent(second.currency)));
      }
      lines.push(line);
    }
    return lines;
  }

  // ── receipts ────────────────────────────────────────────────────────────────────────────────

  const attachmentName = (a: StoredAttachment): string => {
    const ext = extensionForContentType(a.contentType);
    return `${a.key}.${ext === 'bin' ? (a.name.split('.').pop() ?? 'bin').replace(/[^A-Za-z0-9]/g, '') || 'bin' : ext}`;
  };

  async function attach(
    doc: Pick<Doc, 'model' | 'id'>,
    attachments: readonly StoredAttachment[],
    signal?: AbortSignal,
  ): Promise<Failure | null> {
    if (attachments.length === 0) return null;
    const resource = `${doc.model},${doc.id}`;
    const existing = await rpc.searchRead('ir.attachment', [['resource', '=', resource]], ['name'], {
      signal,
    });
    const have = new Set(existing.map((r) => String(r['name'])));
    for (const a of attachments) {
      const name = attachmentName(a);
      if (have.has(name)) continue;
      let data: Buffer;
      try {
        data = await readFile(a.path);
      } catch (error) {
        return refuse(
          'receipt_upload_failure',
          `Receipt ${a.name} could not be read for upload to Tryton (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Export the expense again to retry.`,
        );
      }
      await rpc.create(
        'ir.attachment',
        [{ name, resource, type: 'data', data: bytes(data), description: a.name }],
        signal,
      );
      have.add(name);
    }
    return null;
  }

  async function readable(attachments: readonly StoredAttachment[]): Promise<Failure | null> {
    for (const a of attachments) {
      try {
        await readFile(a.path, { flag: 'r' }).then(() => undefined);
      } catch (error) {
        return refuse(
          'receipt_upload_failure',
          `Receipt ${a.name} could not be read for upload to Tryton (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Export the expense again to retry.`,
        );
      }
    }
    return null;
  }

  // ── writing ─────────────────────────────────────────────────────────────────────────────────

  const finalMarker = (entry: AccountingEntry): Marker => (wantPosted(entry) ? 'posted' : 'draft');

  /** Marks a document complete and posts it when wanted (resuming whatever step is missing). */
  async function finish(doc: Doc, entry: AccountingEntry, key: string, signal?: AbortSignal): Promise<Doc> {
    const marker = finalMarker(entry);
    let current = doc;
    if (current.marker === 'pending' && current.state !== 'posted') {
      await rpc.call(
        `model.${doc.model}.write`,
        [[doc.id], { description: described(marker, key, entry.description) }],
        signal,
      );
      await step('marked', key);
      current = { ...current, marker };
    }
    if (current.marker === 'posted' && current.state !== 'posted') {
      if (doc.model === 'account.invoice') await rpc.call('model.account.invoice.post', [[doc.id]], signal);
      else await rpc.call('model.account.move.post', [[doc.id]], signal);
      await step('posted', key);
      current = { ...current, state: 'posted' };
    }
    return current;
  }

  async function bookMove(
    entry: AccountingEntry,
    key: string,
    attachments: readonly StoredAttachment[],
    existing: Doc | undefined,
    signal?: AbortSignal,
  ): Promise<RecordOutcome> {
    let doc = existing;
    if (!doc) {
      const ctx = await context(entry, journalCode, signal);
      if ('status' in ctx) return ctx;
      const amounts = await companyAmounts(entry, ctx.company, signal);
      if (!Array.isArray(amounts)) return amounts;
      const lines = await moveLines(
        entry,
        entry.postings.map((posting, i) => ({ posting, amount: amounts[i] ?? 0 })),
        ctx.company,
        signal,
      );
      if (!Array.isArray(lines)) return lines;
      const unreadable = await readable(attachments);
      if (unreadable) return unreadable;
      const description = described('pending', key, entry.description);
      const [id] = await rpc.create(
        'account.move',
        [
          {
            journal: ctx.journal,
            period: ctx.period,
            date: date(entry.date),
            description,
            lines: [['create', lines]],
          },
        ],
        signal,
      );
      await step('created', key);
      doc = createdDoc('account.move', id);
    }
    if (doc.marker === 'pending') {
      const failed = await attach(doc, attachments, signal);
      if (failed) return failed;
      await step('attached', key);
    }
    const done = await finish(doc, entry, key, signal);
    return { status: 'booked', ...recorded(done) };
  }

  /**
   * Splits a supplier-invoice entry into the invoice (line side up to and including the first
   * payable posting, which must carry the invoice total) and the settlement (the rest). Null when
   * the entry does not have that shape (it is then booked as a journal move).
   */
  function invoiceShape(
    entry: AccountingEntry,
  ): { invoice: Posting[]; payable: Posting; settlement: Posting[] } | null {
    const at = entry.postings.findIndex((p) => p.role === 'payable');
    const payable = entry.postings[at];
    if (at <= 0 || !payable) return null;
    const invoice = entry.postings.slice(0, at);
    if (!invoice.every((p) => ['expense', 'tax', 'reverse_charge_tax', 'rounding', 'other'].includes(p.role)))
      return null;
    if (invoice.reduce((s, p) => s + p.amount.value, 0) !== -payable.amount.value) return null;
    const settlement = entry.postings.slice(at + 1);
    if (settlement.length > 0 && settlement.reduce((s, p) => s + p.amount.value, 0) !== 0) return null;
    return { invoice, payable, settlement };
  }

  async function bookInvoice(
    entry: AccountingEntry,
    key: string,
    attachments: readonly StoredAttachment[],
    shape: NonNullable<ReturnType<typeof invoiceShape>>,
    found: { invoices: Doc[]; settlement: Doc[] },
    signal?: AbortSignal,
  ): Promise<RecordOutcome> {
    let doc = found.invoices[0];
    const company = await books.companyInfo(signal);
    if (!doc) {
      const ctx = await context(entry, invoiceJournalCode, signal);
      if ('status' in ctx) return ctx;
      const currency = await books.currency(entry.currency, signal);
      if (!currency) return missingCurrency(entry.currency);
      const payableCode = accountMap[shape.payable.account] ?? shape.payable.account;
      const payable = await books.account(payableCode, signal);
      if (!payable || payable.closed) return accountRefusal(payableCode, payable?.closed ?? false);
      const party = await partyFor(entry, shape.payable, signal);
      if (typeof party !== 'number') return party;
      const address = await books.partyAddress(party, signal);
      const digits = currencyExponent(entry.currency);
      const lines: Row[] = [];
      const taxes: Row[] = [];
      for (const p of shape.invoice) {
        const code = accountMap[p.account] ?? p.account;
        const account = await books.account(code, signal);
        if (!account || account.closed) return accountRefusal(code, account?.closed ?? false);
        if (p.role === 'tax' || p.role === 'reverse_charge_tax') {
          const base = shape.invoice
            .filter((q) => q.role === 'expense' && q.lineId !== undefined && q.lineId === p.lineId)
            .reduce((s, q) => s + q.amount.value, 0);
          taxes.push({
            manual: true,
            account: account.id,
            base: decimal(toDecimal(base, digits)),
            amount: decimal(toDecimal(p.amount.value, digits)),
            description: lineDescription(entry, p),
          });
        } else {
          lines.push({
            type: 'line',
            account: account.id,
            quantity: 1,
            unit_price: decimal(toDecimal(p.amount.value, digits)),
            description: lineDescription(entry, p),
          });
        }
      }
      const unreadable = await readable(attachments);
      if (unreadable) return unreadable;
      const values: Row = {
        type: 'in',
        company: company.id,
        party,
        account: payable.id,
        journal: ctx.journal,
        currency: currency.id,
        invoice_date: date(entry.invoice?.date ?? entry.date),
        accounting_date: date(entry.date),
        description: described('pending', key, entry.description),
        lines: [['create', lines]],
        taxes: [['create', taxes]],
      };
      if (address !== undefined) values['invoice_address'] = address;
      if (entry.invoice?.number) values['reference'] = entry.invoice.number;
      const [id] = await rpc.create('account.invoice', [values], signal);
      await step('created', key);
      doc = createdDoc('account.invoice', id);
    }
    if (doc.marker === 'pending') {
      const failed = await attach(doc, attachments, signal);
      if (failed) return failed;
      await step('attached', key);
      if (shape.settlement.length > 0) {
        let settlement = found.settlement[0];
        if (!settlement) {
          const ctx = await context(entry, journalCode, signal);
          if ('status' in ctx) return ctx;
          const sub: AccountingEntry = { ...entry, postings: shape.settlement };
          const amounts = await companyAmounts(sub, ctx.company, signal);
          if (!Array.isArray(amounts)) return amounts;
          const lines = await moveLines(
            sub,
            shape.settlement.map((posting, i) => ({ posting, amount: amounts[i] ?? 0 })),
            ctx.company,
            signal,
          );
          if (!Array.isArray(lines)) return lines;
          const [id] = await rpc.create(
            'account.move',
            [
              {
                journal: ctx.journal,
                period: ctx.period,
                date: date(entry.date),
                description: described('settlement', key, entry.description),
                origin: `account.invoice,${doc.id}`,
                lines: [['create', lines]],
              },
            ],
            signal,
          );
          await step('settlement', key);
          settlement = {
            model: 'account.move',
            id: id ?? 0,
            number: '',
            state: 'draft',
            marker: 'settlement',
            createdAt: '',
          };
        }
        if (wantPosted(entry) && settlement.state !== 'posted') {
          await rpc.call('model.account.move.post', [[settlement.id]], signal);
          await step('settlement-posted', key);
        }
      }
    }
    const done = await finish(doc, entry, key, signal);
    return { status: 'booked', ...recorded(done) };
  }

  async function doRecord(
    entry: AccountingEntry,
    key: string,
    attachments: readonly StoredAttachment[],
    signal?: AbortSignal,
  ): Promise<RecordOutcome> {
    if (closed)
      throw new AccountingSystemError('The Tryton adapter is closed', {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
      });
    if (!KEY_PATTERN.test(key)) {
      throw new AccountingSystemError(
        `Entry key ${JSON.stringify(key)} cannot be used as a Tryton reference`,
        { code: 'ACCOUNTING_REJECTED', retryable: false },
      );
    }
    const problem = balanceProblem(entry);
    if (problem)
      return refuse(
        'validation_failure',
        `The entry does not balance (${problem}); it was not sent to Tryton.`,
      );
    const found = await findDocs(key, signal);
    const useInvoice =
      supplierInvoices && (entry.kind === 'supplier_invoice' || entry.kind === 'supplier_credit_note')
        ? invoiceShape(entry)
        : null;
    try {
      if (found.invoices.length > 0 || (useInvoice && found.moves.length === 0)) {
        if (useInvoice) return await bookInvoice(entry, key, attachments, useInvoice, found, signal);
        // Written as an invoice by an earlier configuration: finish it as it is.
        const doc = found.invoices[0];
        if (doc) return { status: 'booked', ...recorded(await finish(doc, entry, key, signal)) };
      }
      return await bookMove(entry, key, attachments, found.moves[0], signal);
    } catch (error) {
      if (error instanceof TrytonUserError) return userErrorRefusal(error, entry);
      throw error;
    }
  }

  return {
    name: 'tryton',
    supportsScaleOut: false,
    rpc,
    books,

    async validate(ctx: AdapterContext & { vendorBasedBookkeeping: boolean }): Promise<ValidationResult> {
      try {
        const company = await books.companyInfo(ctx.signal);
        if ((await books.journal(journalCode, ctx.signal)) === undefined) {
          return {
            ok: false,
            failureReasonType: 'invalid_configuration',
            failureReason: `Tryton has no journal with code ${journalCode} (adapter.journal).`,
          };
        }
        if (
          ctx.vendorBasedBookkeeping &&
          supplierInvoices &&
          (await books.journal(invoiceJournalCode, ctx.signal)) === undefined
        ) {
          return {
            ok: false,
            failureReasonType: 'invalid_configuration',
            failureReason: `Tryton has no journal with code ${invoiceJournalCode} for supplier invoices (adapter.invoiceJournal).`,
          };
        }
        void company;
        return { ok: true };
      } catch (error) {
        // The one fault policy (adapters/errors.ts): a transient fault is the engine's to retry.
        if (classifyAccountingError(error).kind === 'transient') throw error;
        return { ok: false, ...jobFailureOf(error) };
      }
    },

    async findExisting(idempotencyKey: string, ctx: AdapterContext): Promise<RecordedEntry | null> {
      if (!KEY_PATTERN.test(idempotencyKey)) return null;
      const found = await findDocs(idempotencyKey, ctx.signal);
      const doc = [...found.invoices, ...found.moves].find(isComplete);
      return doc ? recorded(doc) : null;
    },

    record(entry, ctx): Promise<RecordOutcome> {
      const key = ctx.idempotencyKey;
      return inFlight.run(key, () => doRecord(entry, key, ctx.attachments, ctx.signal));
    },

    async close(): Promise<void> {
      await inFlight.settled();
      closed = true;
      await rpc.logout();
    },
  };
}
