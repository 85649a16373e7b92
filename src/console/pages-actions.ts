/** Pending jobs at Pleo, the dry run of a job, and the retry of a job's failed entries. */
import type { PreviewResult } from '../engine/index.js';
import type { JobRecord } from '../store/index.js';
import { html } from './html.js';
import { BASE, formatMoney, formatTime, page, scroller, type PageContext } from './layout.js';
import { jobHref } from './pages-jobs.js';
import type { ConsoleCompany, RetryPlan } from './types.js';

export function pendingPage(
  ctx: PageContext,
  lists: {
    company: ConsoleCompany;
    jobs: { id: string; createdAt: string; numberOfItems: number }[] | string;
  }[],
): string {
  return page(
    'Pending at Pleo',
    ctx,
    html`<h1>Jobs waiting at Pleo</h1>
      <p>
        Jobs not claimed yet. A preview reads a job and maps every item with the current configuration,
        without claiming it or writing anything.
      </p>
      ${lists.map(
        ({ company, jobs }) =>
          html`<section>
            <h2>${company.name}</h2>
            ${
              typeof jobs === 'string'
                ? html`<p class="error" role="alert">${jobs}</p>`
                : jobs.length === 0
                  ? html`<p>No pending jobs.</p>`
                  : scroller(
                      `Pending jobs of ${company.name}`,
                      html`<table>
                        <caption>
                          Pending jobs, oldest first
                        </caption>
                        <thead>
                          <tr>
                            <th scope="col">Job</th>
                            <th scope="col">Created</th>
                            <th scope="col">Items</th>
                            <th scope="col">Preview</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${jobs.map(
                            (j) =>
                              html`<tr>
                                <th scope="row" class="mono">${j.id}</th>
                                <td>${formatTime(j.createdAt)}</td>
                                <td class="num">${j.numberOfItems}</td>
                                <td><a href="${jobHref(company.id, j.id)}/preview">Preview</a></td>
                              </tr>`,
                          )}
                        </tbody>
                      </table>`,
                    )
            }
          </section>`,
      )}`,
  );
}

export function previewPage(ctx: PageContext, company: ConsoleCompany, preview: PreviewResult): string {
  const c = preview.counts;
  const failures = preview.items.filter((i) => i.outcome === 'fail');
  const booked = preview.items.filter((i) => i.outcome === 'book').slice(0, 50);
  return page(
    `Preview of ${preview.jobId}`,
    ctx,
    html`<nav aria-label="Breadcrumb" class="crumbs">
        <a href="${BASE}/pending">Pending at Pleo</a> › ${company.name}
      </nav>
      <h1>Preview of job <span class="mono">${preview.jobId}</span></h1>
      <p>Status at Pleo: <code>${preview.status}</code>. Nothing was claimed or written.</p>
      <ul class="tally">
        <li><strong>${c.book}</strong> would be booked</li>
        <li><strong>${c.fail}</strong> would fail</li>
        <li><strong>${c.already_booked}</strong> already booked earlier (not booked again)</li>
        <li><strong>${c.already_final}</strong> already final at Pleo</li>
      </ul>
      <h2>Would fail</h2>
      ${
        failures.length === 0
          ? html`<p>Nothing would fail.</p>`
          : scroller(
              'Would fail',
              html`<table>
                <caption>
                  Fix the mapping, then export
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Entry</th>
                    <th scope="col">Date</th>
                    <th scope="col">Type</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  ${failures.map(
                    (i) =>
                      html`<tr>
                        <th scope="row" class="mono">${i.accountingEntryId}</th>
                        <td>${i.date.slice(0, 10)}</td>
                        <td><code>${i.failure?.failureReasonType ?? ''}</code></td>
                        <td class="reason">${i.failure?.failureReason ?? ''}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`,
            )
      }
      <h2>Would be booked${c.book > booked.length ? ` (first ${booked.length})` : ''}</h2>
      ${
        booked.length === 0
          ? html`<p>Nothing would be booked.</p>`
          : scroller(
              'Would be booked',
              html`<table>
                <caption>
                  Entries and their postings
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Description</th>
                    <th scope="col">Account</th>
                    <th scope="col">Amount</th>
                  </tr>
                </thead>
                <tbody>
                  ${booked.flatMap((i) =>
                    (i.entry?.postings ?? []).map(
                      (p, n) =>
                        html`<tr>
                          <td>${n === 0 ? (i.entry?.date ?? '') : ''}</td>
                          <td>${n === 0 ? (i.entry?.description ?? '') : ''}</td>
                          <td>${p.account}</td>
                          <td class="num">${formatMoney(p.amount.value, p.amount.currency)}</td>
                        </tr>`,
                    ),
                  )}
                </tbody>
              </table>`,
            )
      }`,
  );
}

export function retryPage(
  ctx: PageContext,
  company: ConsoleCompany,
  job: JobRecord,
  plan: RetryPlan,
): string {
  const fixed = plan.changes.filter((c) => c.fixed).length;
  const href = jobHref(job.companyId, job.jobId);
  return page(
    `Retry ${job.jobId}`,
    ctx,
    html`<nav aria-label="Breadcrumb" class="crumbs">
        <a href="${BASE}/jobs">Jobs</a> › ${company.name} › <a href="${href}" class="mono">${job.jobId}</a>
      </nav>
      <h1>Retry the failed entries of job <span class="mono">${job.jobId}</span></h1>
      <p>
        <strong>${fixed} of ${plan.changes.length}</strong> failed entries would now be booked with the
        current configuration.
      </p>
      <p class="effect">${plan.effect}</p>
      ${scroller(
        'Failed entries',
        html`<table>
          <caption>
            Each failed entry, mapped again now
          </caption>
          <thead>
            <tr>
              <th scope="col">Entry</th>
              <th scope="col">Failed with</th>
              <th scope="col">Now</th>
            </tr>
          </thead>
          <tbody>
            ${plan.changes.map(
              (c) =>
                html`<tr>
                  <th scope="row" class="mono">${c.accountingEntryId}</th>
                  <td class="reason">${c.before}</td>
                  <td class="${c.fixed ? 'ok' : 'reason'}">${c.now}</td>
                </tr>`,
            )}
          </tbody>
        </table>`,
      )}
      ${
        ctx.csrf === null
          ? html`<p>Sign in with the login form to retry from the console.</p>`
          : html`<form method="post" action="${href}/retry" class="confirm">
              <input type="hidden" name="csrf" value="${ctx.csrf}" />
              <button type="submit">Retry ${plan.changes.length} entries in a new export job</button>
              <a href="${href}">Cancel</a>
            </form>`
      }`,
  );
}

export function messagePage(
  ctx: PageContext,
  title: string,
  message: string,
  link: { href: string; label: string } | null,
  status: 'ok' | 'error' = 'ok',
): string {
  return page(
    title,
    ctx,
    html`<h1>${title}</h1>
      <p class="${status}" role="${status === 'error' ? 'alert' : 'status'}">${message}</p>
      ${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`,
  );
}
