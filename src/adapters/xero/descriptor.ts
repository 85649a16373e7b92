/**
 * The Xero adapter's descriptor for the adapter registry: configuration schema, factory and the
 * connection checks of `pleo-export check`.
 */
import { ExportError } from '../../errors/index.js';
import type { components } from '../../generated/xero-accounting.js';
import type { AdapterCheck, AdapterDeps, AdapterDescriptor } from '../descriptor.js';
import { createXeroAdapter } from './adapter.js';
import { compileXeroConfig, xeroConfigSchema, type ParsedXeroConfig } from './config.js';

type Account = components['schemas']['Account'];
type TrackingCategory = components['schemas']['TrackingCategory'];
type TaxRate = components['schemas']['TaxRate'];

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Every finding `pleo-export check` reports for a Xero configuration. */
export async function checkXero(input: ParsedXeroConfig, deps: AdapterDeps): Promise<AdapterCheck[]> {
  const checks: AdapterCheck[] = [];
  let config;
  try {
    config = compileXeroConfig(input);
    checks.push({ ok: true, what: 'Xero configuration is complete (client id, secret)' });
  } catch (error) {
    return [{ ok: false, what: 'Xero configuration is complete', fix: message(error) }];
  }
  const adapter = createXeroAdapter(config, deps);
  const get = async <T>(path: string): Promise<T> => {
    const answer = await adapter.http.call<T>({ method: 'GET', path });
    if (!answer.ok) throw new Error(answer.failureReason);
    return answer.body;
  };

  // The token (and its rotation through the store) first: everything else needs it.
  let token: string;
  try {
    token = await adapter.tokens.accessToken();
    checks.push({ ok: true, what: `Xero token endpoint ${config.tokenUrl} gives an access token` });
  } catch (error) {
    checks.push({
      ok: false,
      what: `Xero token endpoint ${config.tokenUrl} gives an access token`,
      fix: message(error),
    });
    return checks;
  }

  try {
    const response = await deps.fetch(config.connectionsUrl, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    if (!response.ok) throw new Error(`GET ${config.connectionsUrl} answered HTTP ${response.status}`);
    const connections = (await response.json()) as { tenantId?: string; tenantName?: string }[];
    const mine = connections.find((c) => c.tenantId === config.tenantId);
    checks.push(
      mine
        ? {
            ok: true,
            what: `Xero organisation ${mine.tenantName ?? ''} (${config.tenantId}) is connected to the app`,
          }
        : {
            ok: false,
            what: `Xero organisation ${config.tenantId} is connected to the app`,
            fix: `Set adapter.tenantId to one of the connected organisations: ${
              connections.map((c) => `${c.tenantName ?? '?'} (${c.tenantId ?? '?'})`).join(', ') || 'none'
            }; or connect the organisation by running the consent flow again with it selected.`,
          },
    );
    if (!mine) return checks;
  } catch (error) {
    checks.push({ ok: false, what: 'Xero lists the connected organisations', fix: message(error) });
    return checks;
  }

  let base: string | undefined;
  try {
    const org = await get<components['schemas']['Organisations']>('/Organisation');
    base = org.Organisations?.[0]?.BaseCurrency;
    checks.push({ ok: true, what: `Xero organisation answers (base currency ${base ?? '?'})` });
    if (config.baseCurrency !== undefined && base !== undefined && base !== config.baseCurrency) {
      checks.push({
        ok: false,
        what: `adapter.baseCurrency ${config.baseCurrency} matches Xero's base currency`,
        fix: `Xero's base currency is ${base}: remove adapter.baseCurrency or set it to ${base}.`,
      });
    }
  } catch (error) {
    checks.push({ ok: false, what: 'Xero organisation answers', fix: message(error) });
    return checks;
  }

  try {
    const { Accounts = [] } = await get<{ Accounts?: Account[] }>('/Accounts');
    for (const [currency, code] of Object.entries(config.bankAccounts)) {
      const account = Accounts.find((a) => a.Code === code);
      const what = `adapter.bankAccounts.${currency}: Xero bank account ${code} in ${currency}`;
      const accountCurrency = account?.CurrencyCode ?? base;
      if (account === undefined) {
        checks.push({
          ok: false,
          what,
          fix: `Xero has no account with code ${code}: add a bank account for the Pleo ${currency} wallet (Xero → Accounting → Bank accounts) and give it code ${code}, or correct the code.`,
        });
      } else if (account.Type !== 'BANK' || account.Status === 'ARCHIVED') {
        checks.push({
          ok: false,
          what,
          fix: `Xero account ${code} (${account.Name ?? ''}) is ${account.Status === 'ARCHIVED' ? 'archived' : `of type ${account.Type ?? '?'}`}: use an active bank account.`,
        });
      } else if (accountCurrency !== currency) {
        checks.push({
          ok: false,
          what,
          fix: `Xero bank account ${code} is in ${accountCurrency ?? '?'}, not ${currency}: pick the bank account of the ${currency} wallet.`,
        });
      } else {
        checks.push({ ok: true, what });
      }
    }
    if (Object.keys(config.bankAccounts).length === 0) {
      checks.push({
        ok: false,
        what: 'adapter.bankAccounts names a Xero bank account per wallet currency',
        fix: 'Without adapter.bankAccounts card spend can only be booked as manual journals (base currency only): add e.g. bankAccounts: { EUR: "090" }.',
      });
    }
  } catch (error) {
    checks.push({ ok: false, what: 'Xero chart of accounts can be read', fix: message(error) });
  }

  try {
    const { TaxRates = [] } = await get<{ TaxRates?: TaxRate[] }>('/TaxRates');
    const wanted = new Map<string, string>([
      ['noTaxType', config.noTaxType],
      ...Object.entries(config.taxTypes).map(([code, type]): [string, string] => [`taxTypes.${code}`, type]),
    ]);
    for (const [key, type] of wanted) {
      const rate = TaxRates.find((t) => t.TaxType === type);
      const what = `adapter.${key}: Xero tax rate ${type} is active`;
      checks.push(
        rate !== undefined && rate.Status === 'ACTIVE'
          ? { ok: true, what: `${what} (${rate.Name ?? ''})` }
          : {
              ok: false,
              what,
              fix: `Xero has no active tax rate with TaxType ${type} (Xero → Accounting → Advanced → Tax rates): use one of ${
                TaxRates.filter((t) => t.Status === 'ACTIVE')
                  .map((t) => `${t.TaxType ?? '?'} (${t.Name ?? ''})`)
                  .join(', ') || 'none'
              }.`,
            },
      );
    }
  } catch (error) {
    checks.push({ ok: false, what: 'Xero tax rates can be read', fix: message(error) });
  }

  if (Object.keys(config.tracking).length > 0) {
    try {
      const { TrackingCategories = [] } = await get<{ TrackingCategories?: TrackingCategory[] }>(
        '/TrackingCategories',
      );
      for (const [group, name] of Object.entries(config.tracking)) {
        const found = TrackingCategories.find(
          (t) => t.Name === name && t.Status !== 'ARCHIVED' && t.Status !== 'DELETED',
        );
        checks.push(
          found
            ? { ok: true, what: `adapter.tracking.${group}: Xero tracking category "${name}" is active` }
            : {
                ok: false,
                what: `adapter.tracking.${group}: Xero tracking category "${name}" is active`,
                fix: `Create the tracking category "${name}" in Xero (Accounting → Advanced → Tracking categories) or map the tag group to one of: ${TrackingCategories.map((t) => t.Name).join(', ') || 'none'}.`,
              },
        );
      }
    } catch (error) {
      checks.push({ ok: false, what: 'Xero tracking categories can be read', fix: message(error) });
    }
  }
  return checks;
}

export const xeroDescriptor: AdapterDescriptor<ParsedXeroConfig> = {
  type: 'xero',
  summary: 'Xero: card spend as bank transactions, bills as ACCPAY invoices, receipts attached (OAuth 2.0)',
  configSchema: xeroConfigSchema,
  supportsScaleOut: false,
  create(config, deps) {
    try {
      return Promise.resolve(createXeroAdapter(compileXeroConfig(config), deps));
    } catch (error) {
      return Promise.reject(error instanceof ExportError ? error : new Error(message(error)));
    }
  },
  check: checkXero,
};
