/**
 * The Tryton adapter as the registry sees it: `adapter: {type: tryton, …}` in the configuration,
 * `create` for the runtime and `check` for `pleo-export check`.
 */
import { join, relative } from 'node:path';

import { describeError } from '../../errors/index.js';
import type { AdapterCheck, AdapterDeps, AdapterDescriptor } from '../descriptor.js';
import type { AccountingAdapter } from '../types.js';
import { createTrytonAdapter } from './adapter.js';
import { resolveTrytonPassword, trytonConfigSchema, type ParsedTrytonConfig } from './config.js';
import { startTrytonDemo } from './demo.js';

function adapterFor(config: ParsedTrytonConfig, deps: Pick<AdapterDeps, 'fetch' | 'now'>) {
  return createTrytonAdapter({
    url: config.url,
    database: config.database,
    username: config.username,
    password: resolveTrytonPassword(config),
    company: config.company,
    journal: config.journal,
    invoiceJournal: config.invoiceJournal,
    supplierInvoices: config.supplierInvoices,
    accounts: config.accounts,
    timeoutMs: config.timeoutMs,
    language: config.language,
    fetch: deps.fetch,
    now: deps.now,
    ...(config.postingMode === undefined ? {} : { postingMode: config.postingMode }),
  });
}

/**
 * Connection and configuration checks, in the order a person fixes them: reachable, login, company,
 * fiscal year and period open today, journals, mapped accounts.
 */
export async function checkTryton(
  config: ParsedTrytonConfig,
  deps: Pick<AdapterDeps, 'fetch' | 'now'>,
): Promise<AdapterCheck[]> {
  const checks: AdapterCheck[] = [];
  const where = `Tryton at ${config.url}, database ${config.database}`;
  let adapter;
  try {
    adapter = adapterFor(config, deps);
  } catch (error) {
    return [{ ok: false, what: 'the Tryton password is available', fix: describeError(error) }];
  }
  try {
    try {
      await adapter.rpc.whoami();
      checks.push({ ok: true, what: `${where} answers and the login of ${config.username} works` });
    } catch (error) {
      checks.push({
        ok: false,
        what: `${where} answers and the login of ${config.username} works`,
        fix: `${describeError(error)}. Start trytond (trytond -c <config>), check adapter.url and adapter.database, and the user's login and password in Tryton (Administration › Users).`,
      });
      return checks;
    }
    let companyName: string;
    try {
      const company = await adapter.books.companyInfo();
      companyName = company.name;
      checks.push({
        ok: true,
        what: `company ${company.name} (id ${company.id}, ${company.currencyCode}) exists and the user works for it`,
      });
    } catch (error) {
      checks.push({
        ok: false,
        what: `company ${JSON.stringify(config.company)} exists and the user works for it`,
        fix: describeError(error),
      });
      return checks;
    }
    const today = new Date(deps.now()).toISOString().slice(0, 10);
    const period = await adapter.books.period(today);
    checks.push(
      period?.state === 'open'
        ? { ok: true, what: `a fiscal year with an open period covers today (${today}): ${period.name}` }
        : {
            ok: false,
            what: `a fiscal year with an open period covers today (${today})`,
            fix: period
              ? `Period ${period.name} is closed: reopen it, or expect entries dated today to fail.`
              : `Create the fiscal year ${today.slice(0, 4)} of ${companyName} with its periods (Financial › Fiscal Years › Create Periods).`,
          },
    );
    for (const [key, code] of [
      ['journal', config.journal],
      ['invoiceJournal', config.invoiceJournal],
    ] as const) {
      if (key === 'invoiceJournal' && !config.supplierInvoices) continue;
      const id = await adapter.books.journal(code);
      checks.push(
        id === undefined
          ? {
              ok: false,
              what: `journal ${code} (adapter.${key}) exists`,
              fix: `Create a journal with code ${code} in Tryton (Financial › Configuration › Journals) or set adapter.${key} to an existing code.`,
            }
          : { ok: true, what: `journal ${code} (adapter.${key}) exists` },
      );
    }
    const mapped = Object.entries(config.accounts);
    if (mapped.length > 0) {
      const chart = await adapter.books.loadAccounts();
      const missing = mapped.filter(([, code]) => !chart.has(code) || chart.get(code)?.closed === true);
      checks.push(
        missing.length === 0
          ? { ok: true, what: `the ${mapped.length} mapped accounts (adapter.accounts) exist and are open` }
          : {
              ok: false,
              what: 'the mapped accounts (adapter.accounts) exist and are open',
              fix: `Missing or closed in ${companyName}'s chart: ${missing.map(([from, to]) => `${from} → ${to}`).join(', ')}. Create them in Tryton or correct adapter.accounts.`,
            },
      );
    }
    return checks;
  } catch (error) {
    checks.push({ ok: false, what: `${where} answers every check`, fix: describeError(error) });
    return checks;
  } finally {
    await adapter.close();
  }
}

export const trytonDescriptor: AdapterDescriptor<ParsedTrytonConfig> = {
  type: 'tryton',
  summary: 'Tryton 6 ERP over JSON-RPC: account moves, supplier invoices, receipts as attachments',
  configSchema: trytonConfigSchema,
  supportsScaleOut: false,
  create(config: ParsedTrytonConfig, deps: AdapterDeps): Promise<AccountingAdapter> {
    return Promise.resolve(adapterFor(config, deps));
  },
  check: checkTryton,
  async demo(dir, context) {
    // A throwaway trytond in the demo's folder, its chart built from the demo's configuration.
    const tryton = await startTrytonDemo({
      dir: join(dir, 'tryton'),
      accounting: context.accounting,
      currency: context.currency,
    });
    return {
      config: tryton.adapter,
      location: `${tryton.url} (database in ${relative(process.cwd(), tryton.dir) || tryton.dir})`,
      report: () =>
        Promise.resolve({
          ok: true,
          lines: [
            `Tryton:      ${tryton.url} (stopped when the demo ends; the moves stay in its database)`,
            `Database:    ${relative(process.cwd(), tryton.dir) || tryton.dir} (trytond's configuration, SQLite database and log)`,
          ],
          json: { tryton: tryton.url, trytonDir: tryton.dir },
        }),
      close: () => tryton.stop(),
    };
  },
};
