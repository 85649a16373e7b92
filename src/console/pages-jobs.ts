/** The jobs of every company (live), and one job: progress, failures by reason, items with filters. */
import { ITEM_STATES, type ItemRecord, type JobCounts, type JobRecord } from '../store/index.js';
import { externalLink, html, query, type Html } from './html.js';
import { BASE, formatDuration, formatMoney, formatTime, page, scroller, type PageContext } from './layout.js';
import type { ConsoleCompany } from './types.js';

/** One job as the list and the live updates show it (the same fields, so both render alike). */
export interface JobRow {
  companyId: string;
  jobId: string;
  href: string;
  created: string;
  status: string;
  running: boolean;
  items: number;
  listed: number;
  fetched: number;
  booked: number;
  failed: number;
  reported: number;
  /** reported / items, 0..100 */
  percent: number;
  duration: string;
  finalEvent: string;
  failure: string;
}

export function jobHref(companyId: string, jobId: string): string {
  return `${BASE}/companies/${encodeURIComponent(companyId)}/jobs/${encodeURIComponent(jobId)}`;
}

export function entryHref(companyId: string, entryId: string): string {
  return `${BASE}/companies/${encodeURIComponent(companyId)}/entries/${encodeURIComponent(entryId)}`;
}

export function jobRow(job: JobRecord, counts: JobCounts, now: number): JobRow {
  const items = Math.max(job.numberOfItems, counts.total);
  const end = job.completedAt ? Date.parse(job.completedAt) : now;
  const running = job.phase !== 'done';
  return {
    companyId: job.companyId,
    jobId: job.jobId,
    href: jobHref(job.companyId, job.jobId),
    created: formatTime(job.createdAt),
    status: running ? `running (${job.phase.replace('_', ' ')})` : job.pleoStatus.replaceAll('_', ' '),
    running,
    items,
    listed: counts.total,
    fetched: counts.fetched,
    booked: counts.byState.booked,
    failed: counts.byState.failed,
    reported: counts.reported,
    percent: items === 0 ? (running ? 0 : 100) : Math.round((100 * counts.reported) / items),
    duration: formatDuration(end - Date.parse(job.discoveredAt)),
    finalEvent: (job.finalEvent ?? '').replaceAll('_', ' '),
    failure: job.failureReason ?? '',
  };
}

function progress(row: JobRow): Html {
  return html`<progress max="100" value="${row.percent}" aria-label="Reported to Pleo">
      ${row.percent} %
    </progress>
    <span class="counts"
      >listed ${row.listed} · fetched ${row.fetched} · booked ${row.booked} · failed ${row.failed} · reported
      ${row.reported} of ${row.items}</span
    >`;
}

function jobTableRow(row: JobRow): Html {
  return html`<tr data-job="${row.jobId}">
    <th scope="row"><a href="${row.href}">${row.jobId}</a></th>
    <td>${row.created}</td>
    <td class="${row.running ? 'status running' : `status ${row.status.replaceAll(' ', '-')}`}">
      ${row.status}
    </td>
    <td class="progress">${progress(row)}</td>
    <td>${row.duration}</td>
    <td>${row.finalEvent}</td>
    <td class="reason">${row.failure}</td>
  </tr>`;
}

export function jobsPage(
  ctx: PageContext,
  companies: readonly ConsoleCompany[],
  rows: ReadonlyMap<string, JobRow[]>,
): string {
  const sections = companies.map((company) => {
    const list = rows.get(company.id) ?? [];
    return html`<section aria-labelledby="c-${company.id}">
      <h2 id="c-${company.id}">${company.name} <span class="muted">${company.id}</span></h2>
      ${scroller(
        `Jobs of ${company.name}`,
        html`<table data-live="jobs" data-company="${company.id}">
          <caption>
            Export jobs, oldest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Duration</th>
              <th scope="col">Final event</th>
              <th scope="col">Failure reason</th>
            </tr>
          </thead>
          <tbody>
            ${
              list.length === 0
                ? html`<tr class="empty">
                    <td colspan="7">No export jobs yet.</td>
                  </tr>`
                : list.map(jobTableRow)
            }
          </tbody>
        </table>`,
      )}
    </section>`;
  });
  return page(
    'Jobs',
    ctx,
    html`<h1>Export jobs</h1>
      <p class="live" role="status" aria-live="polite" data-live-status>
        Showing the state as of this page load.
      </p>
      ${companies.length === 0 ? html`<p>No company is configured.</p>` : sections}`,
  );
}

export interface ItemsQuery {
  state: string | null;
  type: string | null;
  offset: number;
  limit: number;
}

export function jobPage(
  ctx: PageContext,
  company: ConsoleCompany,
  job: JobRecord,
  row: JobRow,
  failures: { failureReasonType: string; failureReason: string; count: number }[],
  failureTypes: string[],
  items: ItemRecord[],
  q: ItemsQuery,
): string {
  const filterHref = (state: string | null, type: string | null): string =>
    `${row.href}${query({ state, type })}#items`;
  const failuresTable =
    failures.length === 0
      ? html`<p>No failed entries.</p>`
      : scroller(
          'Failures by reason',
          html`<table>
            <caption>
              Failed entries grouped by reason
            </caption>
            <thead>
              <tr>
                <th scope="col">Entries</th>
                <th scope="col">Type</th>
                <th scope="col">Reason (as sent to Pleo)</th>
              </tr>
            </thead>
            <tbody>
              ${failures.map(
                (f) =>
                  html`<tr>
                    <td class="num"><a href="${filterHref('failed', f.failureReasonType)}">${f.count}</a></td>
                    <td><code>${f.failureReasonType}</code></td>
                    <td class="reason">${f.failureReason}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`,
        );
  const option = (value: string, selected: string | null, label = value): Html =>
    html`<option value="${value}" ${selected === value ? html` selected` : ''}>${label}</option>`;
  const itemRows = items.map(
    (i) =>
      html`<tr>
        <td class="num">${i.seq ?? ''}</td>
        <th scope="row">
          <a href="${entryHref(i.companyId, i.accountingEntryId)}">${i.accountingEntryId}</a>
        </th>
        <td>${(i.date ?? '').slice(0, 10)}</td>
        <td class="num">${i.amount ? formatMoney(i.amount.value, i.amount.currency) : ''}</td>
        <td>
          <span class="state state-${i.state}">${i.state}</span
          >${i.reported ? '' : html` <span class="muted">(not reported yet)</span>`}
        </td>
        <td>${i.failureReasonType ? html`<code>${i.failureReasonType}</code>` : ''}</td>
        <td class="reason">${i.failureReason ?? i.reportError ?? ''}</td>
        <td>${i.externalId ? externalLink(i.externalUrl, i.externalId) : ''}</td>
      </tr>`,
  );
  const next =
    items.length === q.limit
      ? `${row.href}${query({ state: q.state, type: q.type, offset: q.offset + q.limit })}#items`
      : null;
  const prev =
    q.offset > 0
      ? `${row.href}${query({ state: q.state, type: q.type, offset: Math.max(0, q.offset - q.limit) })}#items`
      : null;
  return page(
    `Job ${job.jobId}`,
    ctx,
    html`<nav aria-label="Breadcrumb" class="crumbs"><a href="${BASE}/jobs">Jobs</a> › ${company.name}</nav>
      <h1>Job <span class="mono">${job.jobId}</span></h1>
      <dl class="summary" data-live="job" data-company="${job.companyId}" data-job="${job.jobId}">
        <div>
          <dt>Status</dt>
          <dd data-field="status">${row.status}</dd>
        </div>
        <div>
          <dt>Created at Pleo</dt>
          <dd>${row.created}</dd>
        </div>
        <div>
          <dt>Progress</dt>
          <dd data-field="progress">${progress(row)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-field="duration">${row.duration}</dd>
        </div>
        <div>
          <dt>Final event</dt>
          <dd data-field="finalEvent">${row.finalEvent || '—'}</dd>
        </div>
        <div>
          <dt>Failure reason</dt>
          <dd data-field="failure" class="reason">${row.failure || '—'}</dd>
        </div>
        <div>
          <dt>Runs</dt>
          <dd>${job.runs}</dd>
        </div>
      </dl>
      <p class="live" role="status" aria-live="polite" data-live-status></p>
      <p class="actions">
        ${job.phase === 'done' && row.failed > 0 ? html`<a class="button" href="${row.href}/retry">Retry the ${row.failed} failed entries…</a>` : ''}
        ${job.phase === 'done' ? '' : html`<a class="button secondary" href="${row.href}/preview">Preview (dry run)</a>`}
      </p>
      <h2>Failures by reason</h2>
      ${failuresTable}
      <h2 id="items">Items in processing order</h2>
      <form method="get" action="${row.href}#items" class="filters" data-autosubmit>
        <label
          >State
          <select name="state">
            ${option('', q.state, 'any')}${ITEM_STATES.map((s) => option(s, q.state))}
          </select></label
        >
        <label
          >Failure type
          <select name="type">
            ${option('', q.type, 'any')}${failureTypes.map((t) => option(t, q.type))}
          </select></label
        >
        <button type="submit">Filter</button>
      </form>
      ${scroller(
        'Items',
        html`<table>
          <caption>
            ${items.length === 0 ? 'No items match.' : `Items ${q.offset + 1}–${q.offset + items.length}`}
          </caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Entry</th>
              <th scope="col">Date</th>
              <th scope="col">Amount</th>
              <th scope="col">State</th>
              <th scope="col">Failure type</th>
              <th scope="col">Pleo message</th>
              <th scope="col">In the accounting system</th>
            </tr>
          </thead>
          <tbody>
            ${itemRows}
          </tbody>
        </table>`,
      )}
      <nav aria-label="Pages" class="pager">
        ${prev ? html`<a href="${prev}">‹ Previous</a>` : ''}
        ${next ? html`<a href="${next}">Next ›</a>` : ''}
      </nav>`,
  );
}
