/**
 * `check`: validate the configuration, the Pleo credentials and the accounting system (no job
 * needed). For the accounting system it runs the adapter descriptor's own checks (connection,
 * configuration, files) and then the adapter's `validate`, and prints each finding with what to do
 * about it.
 */
import { Command } from 'commander';

import { jobFailureOf, type AdapterCheck } from '../../adapters/index.js';
import type { ExportJobFailureReasonType } from '../../client/index.js';
import type { CompiledCompany, CompiledConfig } from '../../config/index.js';
import { describeError } from '../../errors/index.js';
import { adapterDeps, adapterDescriptor, createClient } from '../../runtime/index.js';
import type { Store } from '../../store/index.js';
import {
  configFromOptions,
  openStore,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import { json, shorten, table, type Io } from '../output.js';

/** What to do when `validate` fails with a given job failure type (the adapter's reason comes first). */
const VALIDATE_FIX: Partial<Record<ExportJobFailureReasonType, string>> = {
  accounting_system_authentication_failure:
    'The accounting system refused the credentials: check the secrets in the adapter block (inline, …Env or …File) and that they are still valid.',
  authorization_failure:
    'The credentials lack a permission the export needs: grant it to the integration user in the accounting system.',
  accounting_system_unreachable:
    'Make sure the accounting system is running and reachable from this machine, and that the adapter block points at it.',
  accounting_system_timeout:
    'The accounting system answered too slowly: check its health, or raise the adapter timeout if it has one.',
  accounting_system_rate_limit:
    'The accounting system is limiting requests right now: run check again later.',
  invalid_configuration: 'Fix the adapter block of the configuration as the reason says.',
  missing_configuration:
    'Add what the reason says is missing to the adapter block or to the accounting system.',
  validation_failure: 'Fix what the accounting system reports, then run check again.',
  integration_unusable: 'The integration cannot be used as configured: reconnect or reconfigure it.',
};

export interface AccountingCheck {
  /** One cell for the table: `ok (hledger)` or `FAILED …`. */
  summary: string;
  ok: boolean;
  checks: AdapterCheck[];
}

/**
 * A fault thrown by `validate`, as the refusal `check` reports (the engine retries a transient one
 * and fails the job for the others; `check` says what each means).
 */
function refusalOf(error: unknown): {
  ok: false;
  failureReasonType: ExportJobFailureReasonType;
  failureReason: string;
} {
  return {
    ok: false,
    failureReasonType: jobFailureOf(error).failureReasonType,
    failureReason: describeError(error),
  };
}

/** The descriptor's checks, then the adapter's `validate`; never throws. */
export async function checkAccounting(
  config: CompiledConfig,
  company: CompiledCompany,
  store: Store,
): Promise<AccountingCheck> {
  const type = company.adapter.type;
  const descriptor = adapterDescriptor(company);
  const deps = adapterDeps(config, company, store);
  const checks: AdapterCheck[] = [];
  if (descriptor.check) {
    try {
      checks.push(...(await descriptor.check(company.adapter, deps)));
    } catch (error) {
      checks.push({
        ok: false,
        what: `The ${type} adapter's checks ran`,
        fix: `They stopped with: ${describeError(error)}`,
      });
    }
  }
  let validated: string;
  try {
    const adapter = await descriptor.create(company.adapter, deps);
    try {
      const result = await adapter
        .validate({ companyId: company.id, vendorBasedBookkeeping: false })
        .catch((error: unknown) => refusalOf(error));
      if (result.ok) {
        validated = `ok (${adapter.name})`;
        checks.push({ ok: true, what: `The ${type} accounting system accepts the export (validate)` });
      } else {
        validated = `FAILED (${result.failureReasonType}): ${result.failureReason}`;
        checks.push({
          ok: false,
          what: `The ${type} accounting system accepts the export (validate)`,
          fix: `${result.failureReason} (${result.failureReasonType}). ${VALIDATE_FIX[result.failureReasonType] ?? 'Fix what the reason says, then run check again.'}`,
        });
      }
    } finally {
      await adapter.close();
    }
  } catch (error) {
    validated = `FAILED: ${describeError(error)}`;
    checks.push({
      ok: false,
      what: `The ${type} adapter starts`,
      fix: `${describeError(error)}. ${VALIDATE_FIX.accounting_system_unreachable ?? ''}`,
    });
  }
  const failed = checks.filter((c) => !c.ok);
  const ok = failed.length === 0;
  const summary =
    ok || validated.startsWith('FAILED') ? validated : `FAILED: ${failed.map((c) => c.what).join('; ')}`;
  return { summary, ok, checks };
}

export function checkCommand(io: Io): Command {
  return withConfigOptions(new Command('check'))
    .description('validate the configuration, the Pleo credentials and the accounting system connection')
    .option('--json', 'machine-readable output')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      const store = await openStore(config);
      const rows: {
        company: string;
        adapter: string;
        pleo: string;
        accounting: string;
        checks: AdapterCheck[];
      }[] = [];
      let exitCode: number = EXIT.ok;
      try {
        for (const company of config.companies) {
          let pleo = 'ok';
          try {
            const client = await createClient(config, company, store);
            for await (const page of client.listJobs(
              { statuses: ['pending', 'in_progress'] },
              { pageSize: 1 },
            )) {
              pleo = `ok (${page.pagination.total ?? page.data.length} open job(s))`;
              break;
            }
          } catch (error) {
            pleo = `FAILED: ${describeError(error)}`;
            exitCode = EXIT.pleo;
          }
          const accounting = await checkAccounting(config, company, store);
          if (!accounting.ok && exitCode === EXIT.ok) exitCode = EXIT.accounting;
          rows.push({
            company: company.name,
            adapter: company.adapter.type,
            pleo,
            accounting: accounting.summary,
            checks: accounting.checks,
          });
        }
      } finally {
        await store.close();
      }
      if (options.json === true) {
        io.out(json({ configuration: 'ok', companies: rows }));
      } else {
        io.out(`configuration: ok${config.source ? ` (${config.source})` : ''}`);
        io.out(
          table(
            ['company', 'Pleo', 'accounting system'],
            rows.map((r) => [r.company, shorten(r.pleo, 70), shorten(r.accounting, 70)]),
          ),
        );
        for (const row of rows) {
          io.out(`\n${row.company} (${row.adapter}):`);
          for (const c of row.checks) {
            io.out(`  ${c.ok ? 'ok    ' : 'FAILED'} ${c.what}`);
            if (!c.ok && c.fix) io.out(`         → ${c.fix}`);
          }
        }
      }
      process.exitCode = exitCode;
    });
}
