/** Health: companies and their last poll, the queue, lease takeovers and error rates; and sign-in. */
import type { Registry } from 'prom-client';

import type { JobStats } from '../store/index.js';
import { html, type Html } from './html.js';
import { BASE, formatTime, page, scroller, type PageContext } from './layout.js';
import type { ConsoleHealth } from './types.js';

type Sample = { labels: Record<string, string | number>; value: number };

/** The samples of each metric, by name (labels and values only). */
export async function readMetrics(registry: Registry): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  for (const metric of await registry.getMetricsAsJSON()) {
    out.set(
      metric.name,
      (metric.values as { labels: Record<string, string | number>; value: number }[]).map((v) => ({
        labels: v.labels,
        value: v.value,
      })),
    );
  }
  return out;
}

function sum(
  samples: Sample[] | undefined,
  where: (labels: Record<string, string | number>) => boolean = () => true,
): number {
  return (samples ?? []).filter((s) => where(s.labels)).reduce((n, s) => n + s.value, 0);
}

function rate(part: number, total: number): string {
  return total === 0 ? '—' : `${((100 * part) / total).toFixed(1)} %`;
}

function metricsSection(metrics: Map<string, Sample[]>, mode: ConsoleHealth['mode']): Html {
  const requests = metrics.get('pleo_export_pleo_requests_total');
  const total = sum(requests);
  const errors = sum(requests, (l) => !/^2\d\d$/.test(String(l['status'])));
  const items = metrics.get('pleo_export_items_total');
  const booked = sum(items, (l) => l['outcome'] === 'booked');
  const failed = sum(items, (l) => l['outcome'] === 'failed');
  const refusedBySystem = sum(
    items,
    (l) =>
      l['outcome'] === 'failed' && /^(accounting|receipt_upload|integration)/.test(String(l['failure_type'])),
  );
  const polls = metrics.get('pleo_export_polls_total');
  const queue = metrics.get('pleo_export_queue_messages');
  const byState = (state: string): number => sum(queue, (l) => l['state'] === state);
  const failedTypes = new Map<string, number>();
  for (const s of items ?? []) {
    if (s.labels['outcome'] !== 'failed' || s.value === 0) continue;
    const type = String(s.labels['failure_type']);
    failedTypes.set(type, (failedTypes.get(type) ?? 0) + s.value);
  }
  return html`<h2>Since this process started</h2>
    <dl class="summary">
      <div>
        <dt>Pleo requests</dt>
        <dd>${total} (errors: ${errors}, ${rate(errors, total)})</dd>
      </div>
      <div>
        <dt>Entries recorded</dt>
        <dd>${booked + failed} (failed: ${failed}, ${rate(failed, booked + failed)})</dd>
      </div>
      <div>
        <dt>Refused by the accounting system</dt>
        <dd>${refusedBySystem} (${rate(refusedBySystem, booked + failed)})</dd>
      </div>
      <div>
        <dt>Polls</dt>
        <dd>${sum(polls)} (failed: ${sum(polls, (l) => l['outcome'] === 'error')})</dd>
      </div>
      ${
        mode === 'scaled-out'
          ? html`<div>
                <dt>Work queue</dt>
                <dd>
                  ${byState('queued')} waiting (${byState('ready')} ready), ${byState('active')} running,
                  ${byState('failed')} failed
                </dd>
              </div>
              <div>
                <dt>Lease takeovers (this process)</dt>
                <dd>${sum(metrics.get('pleo_export_lease_takeovers_total'))}</dd>
              </div>
              <div>
                <dt>Redeliveries (this process)</dt>
                <dd>${sum(metrics.get('pleo_export_queue_redeliveries_total'))}</dd>
              </div>`
          : html`<div>
              <dt>Companies waiting for a slot</dt>
              <dd>${sum(metrics.get('pleo_export_queue_depth'))}</dd>
            </div>`
      }
    </dl>
    ${
      failedTypes.size === 0
        ? ''
        : scroller(
            'Failures by type',
            html`<table>
              <caption>
                Failed entries by type
              </caption>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Entries</th>
                </tr>
              </thead>
              <tbody>
                ${[...failedTypes].map(
                  ([t, n]) =>
                    html`<tr>
                      <th scope="row"><code>${t}</code></th>
                      <td class="num">${n}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`,
          )
    }`;
}

export async function healthPage(ctx: PageContext, health: ConsoleHealth, stats: JobStats): Promise<string> {
  const metrics = health.metrics ? await readMetrics(health.metrics) : null;
  const running = Object.entries(stats.byPhase)
    .filter(([phase]) => phase !== 'done')
    .reduce((n, [, count]) => n + count, 0);
  return page(
    'Health',
    ctx,
    html`<h1>Health</h1>
      <p>
        Mode:
        <strong
          >${health.mode === 'scaled-out' ? 'scaled out (PostgreSQL store and work queue)' : health.mode === 'embedded' ? 'embedded (one process)' : 'read-only console (no daemon in this process)'}</strong
        >. Jobs in the store: ${stats.byPhase.done} done, ${running} not finished.
      </p>
      <h2>Companies</h2>
      ${scroller(
        'Companies',
        html`<table>
          <caption>
            Configured companies
          </caption>
          <thead>
            <tr>
              <th scope="col">Company</th>
              <th scope="col">Id</th>
              <th scope="col">Last poll</th>
              <th scope="col">Outcome</th>
              <th scope="col">Now</th>
            </tr>
          </thead>
          <tbody>
            ${health.companies.map(
              (c) =>
                html`<tr>
                  <th scope="row">${c.name}</th>
                  <td class="mono">${c.id}</td>
                  <td>${c.lastPoll ? `${formatTime(c.lastPoll.at)} (${c.lastPoll.trigger})` : 'none yet'}</td>
                  <td>${c.lastPoll?.outcome ?? ''}</td>
                  <td>${c.state ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>`,
      )}
      ${metrics ? metricsSection(metrics, health.mode) : html`<p>Error rates and the queue are measured by the daemon: open the console of <code>pleo-export serve</code> to see them.</p>`}`,
  );
}

export function loginPage(ctx: PageContext, error: string | null): string {
  return page(
    'Sign in',
    ctx,
    html`<h1>Sign in to the pleo-export console</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <form method="post" action="${BASE}/login" class="login">
        <label for="token">Console token <span class="muted">(server.console.token)</span></label>
        <input id="token" name="token" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>`,
  );
}
