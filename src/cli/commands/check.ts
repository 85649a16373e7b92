/** `check`: validate the configuration, the Pleo credentials and the accounting system (no job needed). */
import { Command } from 'commander';

import { describeError } from '../../errors/index.js';
import { createAdapter, createClient } from '../../runtime/index.js';
import {
  configFromOptions,
  openStore,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import { json, shorten, table, type Io } from '../output.js';

export function checkCommand(io: Io): Command {
  return withConfigOptions(new Command('check'))
    .description('validate the configuration, the Pleo credentials and the accounting system connection')
    .option('--json', 'machine-readable output')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      const store = await openStore(config);
      const rows: { company: string; pleo: string; accounting: string }[] = [];
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
          let accounting = 'ok';
          const adapter = createAdapter(company);
          try {
            const result = await adapter.validate({ companyId: company.id, vendorBasedBookkeeping: false });
            if (!result.ok) {
              accounting = `FAILED (${result.failureReasonType}): ${result.failureReason}`;
              if (exitCode === EXIT.ok) exitCode = EXIT.accounting;
            } else accounting = `ok (${adapter.name})`;
          } catch (error) {
            accounting = `FAILED: ${describeError(error)}`;
            if (exitCode === EXIT.ok) exitCode = EXIT.accounting;
          } finally {
            await adapter.close();
          }
          rows.push({ company: company.name, pleo, accounting });
        }
      } finally {
        await store.close();
      }
      if (options.json === true) io.out(json({ configuration: 'ok', companies: rows }));
      else {
        io.out(`configuration: ok${config.source ? ` (${config.source})` : ''}`);
        io.out(
          table(
            ['company', 'Pleo', 'accounting system'],
            rows.map((r) => [r.company, shorten(r.pleo, 70), shorten(r.accounting, 70)]),
          ),
        );
      }
      process.exitCode = exitCode;
    });
}
