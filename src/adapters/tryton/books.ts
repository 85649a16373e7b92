/**
 * What the Tryton adapter reads from the books and caches: the company (and its currency), the
 * journals, the chart of accounts, currencies and their rates, periods and parties. Everything
 * here is a read except {@link Books.party}, which creates a missing supplier party.
 */
import { AccountingSystemError } from '../../errors/index.js';
import type { ItemRefusal } from '../types.js';
import { date, TrytonUserError, type TrytonRpc } from './rpc.js';

export interface CompanyInfo {
  id: number;
  name: string;
  currencyId: number;
  currencyCode: string;
  digits: number;
}

export interface AccountInfo {
  id: number;
  code: string;
  name: string;
  partyRequired: boolean;
  closed: boolean;
  payable: boolean;
}

export interface CurrencyInfo {
  id: number;
  code: string;
  digits: number;
}

type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** Many2One values come back as an id (or null). */
/** Booleans: trytond on SQLite answers 1/0 for stored Boolean fields. */
const bool = (v: unknown): boolean => v === true || v === 1;
const ref = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export class Books {
  private company: Promise<CompanyInfo> | undefined;
  private accounts: Map<string, AccountInfo> | undefined;
  private readonly currencies = new Map<string, CurrencyInfo>();
  private readonly journals = new Map<string, number>();
  private readonly parties = new Map<string, Promise<number>>();

  private readonly rpc: TrytonRpc;
  private readonly companyRef: number | string;

  constructor(rpc: TrytonRpc, companyRef: number | string) {
    this.rpc = rpc;
    this.companyRef = companyRef;
  }

  /** The configured company; also checks that the user works for it (Tryton's record rules). */
  companyInfo(signal?: AbortSignal): Promise<CompanyInfo> {
    if (!this.company) {
      const pending = this.loadCompany(signal);
      this.company = pending;
      pending.catch(() => {
        if (this.company === pending) this.company = undefined;
      });
    }
    return this.company;
  }

  private async loadCompany(signal?: AbortSignal): Promise<CompanyInfo> {
    const { context } = await this.rpc.whoami(signal);
    const current = ref(context['company']);
    const companies = await this.rpc.searchRead('company.company', [], ['rec_name', 'currency'], { signal });
    const wanted = companies.find((c) =>
      typeof this.companyRef === 'number' ? c['id'] === this.companyRef : c['rec_name'] === this.companyRef,
    );
    const names = companies.map((c) => `${str(c['rec_name'])} (id ${num(c['id'])})`).join(', ');
    if (!wanted) {
      throw new AccountingSystemError(
        `Tryton has no company ${JSON.stringify(this.companyRef)} visible to this user (it sees: ${names || 'none'}). Set adapter.company to one of them, or add the company to the user's companies in Tryton.`,
        { code: 'ACCOUNTING_REJECTED', retryable: false },
      );
    }
    if (current !== wanted['id']) {
      throw new AccountingSystemError(
        `The Tryton user works for company id ${String(current)}, not for ${str(wanted['rec_name'])} (id ${num(wanted['id'])}): set that user's current company to ${str(wanted['rec_name'])} (Tryton › Preferences › Company), or use one integration user per company.`,
        { code: 'ACCOUNTING_REJECTED', retryable: false },
      );
    }
    const currencyId = ref(wanted['currency']);
    const [currency] = await this.rpc.searchRead(
      'currency.currency',
      [['id', '=', currencyId]],
      ['code', 'digits'],
      {
        signal,
      },
    );
    if (!currency)
      throw new AccountingSystemError('Tryton company has no readable currency', {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      });
    this.currencies.set(str(currency['code']), {
      id: num(currency['id']),
      code: str(currency['code']),
      digits: num(currency['digits']),
    });
    return {
      id: num(wanted['id']),
      name: str(wanted['rec_name']),
      currencyId: num(currency['id']),
      currencyCode: str(currency['code']),
      digits: num(currency['digits']),
    };
  }

  /** The chart of accounts by code; reloaded once when `code` is missing (an account added since). */
  async account(code: string, signal?: AbortSignal): Promise<AccountInfo | undefined> {
    if (!this.accounts?.has(code)) await this.loadAccounts(signal);
    return this.accounts?.get(code);
  }

  async loadAccounts(signal?: AbortSignal): Promise<Map<string, AccountInfo>> {
    const company = await this.companyInfo(signal);
    const rows = await this.rpc.searchRead(
      'account.account',
      [
        ['company', '=', company.id],
        ['code', '!=', null],
      ],
      ['code', 'name', 'party_required', 'closed', 'type.payable'],
      { signal },
    );
    const map = new Map<string, AccountInfo>();
    for (const r of rows) {
      map.set(str(r['code']), {
        id: num(r['id']),
        code: str(r['code']),
        name: str(r['name']),
        partyRequired: bool(r['party_required']),
        closed: bool(r['closed']),
        payable: bool((r['type.'] as Row | null | undefined)?.['payable']),
      });
    }
    this.accounts = map;
    return map;
  }

  async journal(code: string, signal?: AbortSignal): Promise<number | undefined> {
    const cached = this.journals.get(code);
    if (cached !== undefined) return cached;
    const [row] = await this.rpc.searchRead('account.journal', [['code', '=', code]], ['code', 'type'], {
      limit: 1,
      signal,
    });
    if (!row) return undefined;
    this.journals.set(code, num(row['id']));
    return num(row['id']);
  }

  async currency(code: string, signal?: AbortSignal): Promise<CurrencyInfo | undefined> {
    const cached = this.currencies.get(code);
    if (cached) return cached;
    const [row] = await this.rpc.searchRead('currency.currency', [['code', '=', code]], ['code', 'digits'], {
      limit: 1,
      signal,
    });
    if (!row) return undefined;
    const info = { id: num(row['id']), code, digits: num(row['digits']) };
    this.currencies.set(code, info);
    return info;
  }

  /** Tryton's rate of a currency on a day (the latest rate on or before it), as a decimal string. */
  async rate(currencyId: number, day: string, signal?: AbortSignal): Promise<string | undefined> {
    const [row] = await this.rpc.searchRead(
      'currency.currency.rate',
      [
        ['currency', '=', currencyId],
        ['date', '<=', date(day)],
      ],
      ['rate', 'date'],
      { limit: 1, order: [['date', 'DESC']], signal },
    );
    return row ? str(row['rate']) : undefined;
  }

  /** The standard period of the company that contains `day`, with its state. */
  async period(
    day: string,
    signal?: AbortSignal,
  ): Promise<{ id: number; name: string; state: string } | undefined> {
    const company = await this.companyInfo(signal);
    const [row] = await this.rpc.searchRead(
      'account.period',
      [
        ['company', '=', company.id],
        ['type', '=', 'standard'],
        ['start_date', '<=', date(day)],
        ['end_date', '>=', date(day)],
      ],
      ['name', 'state'],
      { limit: 1, signal },
    );
    return row ? { id: num(row['id']), name: str(row['name']), state: str(row['state']) } : undefined;
  }

  /**
   * The party for a supplier: found by code (the vendor code), else by exact name, else created
   * (with an empty address, which supplier invoices need). Concurrent creations of one code are
   * resolved by Tryton's unique party code: the loser searches again.
   */
  party(who: { code?: string; name?: string }, signal?: AbortSignal): Promise<number> {
    const key = who.code !== undefined && who.code !== '' ? `code:${who.code}` : `name:${who.name ?? ''}`;
    let pending = this.parties.get(key);
    if (!pending) {
      pending = this.findOrCreateParty(who, signal);
      this.parties.set(key, pending);
      pending.catch(() => this.parties.delete(key));
    }
    return pending;
  }

  private async findOrCreateParty(
    who: { code?: string; name?: string },
    signal?: AbortSignal,
  ): Promise<number> {
    const domain =
      who.code !== undefined && who.code !== '' ? [['code', '=', who.code]] : [['name', '=', who.name ?? '']];
    const find = async (): Promise<number | undefined> => {
      const [row] = await this.rpc.searchRead('party.party', domain, ['code'], { limit: 1, signal });
      return row ? num(row['id']) : undefined;
    };
    const found = await find();
    if (found !== undefined) return found;
    const values: Record<string, unknown> = {
      name: who.name ?? who.code ?? 'Pleo supplier',
      addresses: [['create', [{}]]],
    };
    if (who.code !== undefined && who.code !== '') values['code'] = who.code;
    try {
      const [id] = await this.rpc.create('party.party', [values], signal);
      if (id === undefined) throw new Error('no id');
      return id;
    } catch (error) {
      // Another writer created the same code meanwhile (unique constraint): use theirs.
      if (error instanceof TrytonUserError) {
        const again = await find();
        if (again !== undefined) return again;
      }
      throw error;
    }
  }

  /** The first address of a party (supplier invoices need one). */
  async partyAddress(partyId: number, signal?: AbortSignal): Promise<number | undefined> {
    const [row] = await this.rpc.searchRead('party.address', [['party', '=', partyId]], ['id'], {
      limit: 1,
      signal,
    });
    if (row) return num(row['id']);
    const [id] = await this.rpc.create('party.address', [{ party: partyId }], signal);
    return id;
  }
}

/** An item refusal for an account the chart does not have (or has closed). */
export function accountRefusal(code: string, closed: boolean): ItemRefusal {
  return {
    status: 'failed',
    failureReasonType: 'account_unknown',
    failureReason: closed
      ? `Account No. ${code} is closed in Tryton. Reopen it or check Category.`
      : `Account No. ${code} does not exist in the Accounting System. Check Category.`,
  };
}
