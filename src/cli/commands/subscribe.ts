/**
 * `subscribe`: register the daemon's webhook endpoint with Pleo for every configured company
 * (`POST /v1/subscriptions` for `v1.export-job.created`), fetch each subscription's signing secret
 * (`GET /v1/subscriptions/{id}/secret`) and keep it, with the subscription id, in the local state,
 * where the daemon verifies deliveries with it (docs/decisions.md#w10).
 */
import { Command } from 'commander';

import { createSubscriptionsClient } from '../../client/index.js';
import { ConfigError, describeError } from '../../errors/index.js';
import { clientOptions } from '../../runtime/index.js';
import { EXPORT_JOB_CREATED_EVENTS, saveWebhookSecret, WEBHOOK_PATH } from '../../server/index.js';
import {
  configFromOptions,
  openStore,
  requireCompanies,
  withConfigOptions,
  type CommonOptions,
} from '../context.js';
import { EXIT } from '../exit-codes.js';
import { json, table, type Io } from '../output.js';

export function subscribeCommand(io: Io): Command {
  return withConfigOptions(new Command('subscribe'))
    .description("subscribe each company's export-job webhooks to the daemon and keep their signing secrets")
    .option('--url <url>', 'public URL of the daemon (default: server.publicUrl)')
    .option('--json', 'machine-readable output')
    .action(async (options: CommonOptions & { url?: string; json?: boolean }) => {
      const config = configFromOptions(options);
      requireCompanies(config);
      const base = options.url ?? config.server.publicUrl;
      if (base === undefined)
        throw new ConfigError('subscribe: set server.publicUrl (or pass --url): Pleo must reach the daemon');
      const endpointUrl = `${base.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
      const store = await openStore(config);
      const rows: { company: string; subscriptionId: string | null; result: string }[] = [];
      try {
        for (const company of config.companies) {
          try {
            const subscriptions = createSubscriptionsClient(await clientOptions(config, company, store));
            const created = await subscriptions.create({
              endpointUrl,
              eventTypes: [EXPORT_JOB_CREATED_EVENTS[0] ?? 'v1.export-job.created'],
            });
            const secret = await subscriptions.secret(created.id);
            await saveWebhookSecret(store, company.id, secret);
            await store.setValue(`subscription:${company.id}`, created.id);
            rows.push({ company: company.name, subscriptionId: created.id, result: 'subscribed' });
          } catch (error) {
            rows.push({
              company: company.name,
              subscriptionId: null,
              result: `FAILED: ${describeError(error)}`,
            });
            process.exitCode = EXIT.pleo;
          }
        }
      } finally {
        await store.close();
      }
      if (options.json === true) io.out(json({ endpointUrl, companies: rows }));
      else {
        io.out(`Webhook endpoint: ${endpointUrl}`);
        io.out(
          table(
            ['company', 'subscription', 'result'],
            rows.map((r) => [r.company, r.subscriptionId, r.result]),
          ),
        );
      }
    });
}
