/**
 * One entry's audit trail: every step the store recorded with its time, per job the entry came
 * in, and the balanced entry as it was written (the postings the intent announced).
 */
import type { AuditEvent, BookingRecord, ItemRecord } from '../store/index.js';
import { externalLink, html, type Html } from './html.js';
import { BASE, formatMoney, formatTime, page, scroller, type PageContext } from './layout.js';
import { jobHref } from './pages-jobs.js';
import type { ConsoleCompany } from './types.js';

const LABELS: Record<AuditEvent['step'], string> = {
  listed: 'Listed',
  reconciled: 'Reconciled with Pleo',
  data_fetched: 'Data fetched',
  receipts_stored: 'Receipts stored',
  intent: 'Intent recorded',
  booked: 'Booked',
  failed: 'Failed',
  reported: 'Reported to Pleo',
  report_rejected: 'Report rejected by Pleo',
};

function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

function describe(event: AuditEvent): Html {
  const d = event.detail;
  switch (event.step) {
    case 'listed':
      return d['skipped'] === true
        ? html`Already final at Pleo (<code>${str(d['pleoStatus'])}</code>): not processed.`
        : html`Stored from the job's items (Pleo status <code>${str(d['pleoStatus'])}</code>).`;
    case 'reconciled':
      return html`Pleo already holds <code>${str(d['pleoStatus'])}</code> (local state was
        ${str(d['state'])}).`;
    case 'data_fetched': {
      const pre = d['prefailure'] as { failureReasonType?: unknown; failureReason?: unknown } | undefined;
      if (d['missing'] === true) return html`Pleo returned no export data for this entry: it will fail.`;
      return html`Export data stored (date
      ${str(d['date']).slice(0, 10)}).${
        pre ? html` It will fail: <code>${str(pre.failureReasonType)}</code> ${str(pre.failureReason)}` : ''
      }`;
    }
    case 'receipts_stored': {
      const receipts = Array.isArray(d['receipts'])
        ? (d['receipts'] as { name?: unknown; size?: unknown }[])
        : [];
      return html`${receipts.length} receipt(s) kept:
      ${receipts.map((r, i) => html`${i > 0 ? ', ' : ''}${str(r.name)} (${str(r.size)} bytes)`)}`;
    }
    case 'intent':
      return html`Attempt ${event.attempt} is about to be written to the accounting system (committed first,
      so a crash cannot book twice).`;
    case 'booked': {
      const id = str(d['externalId']);
      const url = typeof d['externalUrl'] === 'string' ? d['externalUrl'] : null;
      if (typeof d['bookedInJob'] === 'string')
        return html`Already booked in job
          <a href="${jobHref(event.companyId, d['bookedInJob'])}">${d['bookedInJob']}</a> as
          ${externalLink(url, id)}: not booked again.`;
      if (d['resolvedBy'] === 'lookup')
        return html`<strong>The answer to attempt ${event.attempt} was lost.</strong> Resolved by lookup: the
          entry was found in the accounting system as ${externalLink(url, id)} and not written again.`;
      return html`Written to the accounting system as ${externalLink(url, id)}.`;
    }
    case 'failed':
      return html`<code>${str(d['failureReasonType'])}</code>
        <span class="reason">${str(d['failureReason'])}</span>`;
    case 'reported':
      return html`Pleo accepted the outcome (item status <code>${str(d['pleoStatus'])}</code>).`;
    case 'report_rejected':
      return html`${str(d['message'])}${d['giveUp'] === true ? ' — given up after repeated rejections.' : ' — will be sent again.'}`;
  }
}

interface PostingLike {
  account: string;
  accountName?: string;
  amount: { value: number; currency: string };
  role?: string;
}

function postingsOf(entry: unknown): { date: string; description: string; postings: PostingLike[] } | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const e = entry as Record<string, unknown>;
  if (!Array.isArray(e['postings'])) return null;
  const postings = (e['postings'] as unknown[]).filter((p): p is PostingLike => {
    if (typeof p !== 'object' || p === null) return false;
    const q = p as Record<string, unknown>;
    const amount = q['amount'] as Record<string, unknown> | undefined;
    return (
      typeof q['account'] === 'string' &&
      typeof amount?.['value'] === 'number' &&
      typeof amount['currency'] === 'string'
    );
  });
  return { date: str(e['date']), description: str(e['description']), postings };
}

function postingsTable(entry: unknown): Html {
  const parsed = postingsOf(entry);
  if (parsed === null || parsed.postings.length === 0) return html`<p>The intent carried no entry.</p>`;
  let debit = 0;
  let credit = 0;
  const rows = parsed.postings.map((p) => {
    if (p.amount.value >= 0) debit += p.amount.value;
    else credit -= p.amount.value;
    return html`<tr>
      <th scope="row">
        ${p.account}${p.accountName ? html` <span class="muted">${p.accountName}</span>` : ''}
      </th>
      <td>${p.role ?? ''}</td>
      <td class="num">${p.amount.value >= 0 ? formatMoney(p.amount.value, p.amount.currency) : ''}</td>
      <td class="num">${p.amount.value < 0 ? formatMoney(-p.amount.value, p.amount.currency) : ''}</td>
    </tr>`;
  });
  const currency = parsed.postings[0]?.amount.currency ?? '';
  return scroller(
    'Postings',
    html`<table class="postings">
      <caption>
        ${parsed.date} ${parsed.description}
      </caption>
      <thead>
        <tr>
          <th scope="col">Account</th>
          <th scope="col">Role</th>
          <th scope="col">Debit</th>
          <th scope="col">Credit</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          <td></td>
          <td class="num">${formatMoney(debit, currency)}</td>
          <td class="num">${formatMoney(credit, currency)}</td>
        </tr>
      </tfoot>
    </table>`,
  );
}

export function entryPage(
  ctx: PageContext,
  company: ConsoleCompany,
  entryId: string,
  records: ItemRecord[],
  trail: AuditEvent[],
  booking: BookingRecord | null,
): string {
  const sections = records.map((record) => {
    const events = trail.filter((e) => e.jobId === record.jobId);
    const intents = events.filter((e) => e.step === 'intent');
    const lastIntent = intents.at(-1);
    const booked = record.state === 'booked';
    return html`<section aria-labelledby="j-${record.jobId}">
      <h2 id="j-${record.jobId}">
        In job <a href="${jobHref(record.companyId, record.jobId)}" class="mono">${record.jobId}</a>
      </h2>
      <p>
        Now: <span class="state state-${record.state}">${record.state}</span>${
          record.failureReason
            ? html` — <code>${record.failureReasonType ?? ''}</code>
                <span class="reason">${record.failureReason}</span>`
            : ''
        }${record.amount ? html` · ${formatMoney(record.amount.value, record.amount.currency)}` : ''}${record.date ? html` · dated ${record.date.slice(0, 10)}` : ''}
      </p>
      ${
        events.length === 0
          ? html`<p>
              No audit events are kept for this job (older than the retention, or recorded before the audit
              trail existed).
            </p>`
          : scroller(
              'Audit trail',
              html`<table class="trail">
                <caption>
                  Audit trail, in the order the steps were committed
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Time (UTC)</th>
                    <th scope="col">Step</th>
                    <th scope="col">Attempt</th>
                    <th scope="col">What happened</th>
                  </tr>
                </thead>
                <tbody>
                  ${events.map(
                    (e) =>
                      html`<tr class="step-${e.step}">
                        <td class="time">${formatTime(e.at)}</td>
                        <th scope="row">${LABELS[e.step] ?? e.step}</th>
                        <td class="num">${e.attempt || ''}</td>
                        <td>${describe(e)}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`,
            )
      }
      ${
        lastIntent
          ? html`<h3>
                ${booked ? 'The balanced entry as booked' : 'The balanced entry of the last attempt'}
              </h3>
              ${postingsTable(lastIntent.detail['entry'])}`
          : ''
      }
    </section>`;
  });
  return page(
    `Entry ${entryId}`,
    ctx,
    html`<nav aria-label="Breadcrumb" class="crumbs"><a href="${BASE}/jobs">Jobs</a> › ${company.name}</nav>
      <h1>Entry <span class="mono">${entryId}</span></h1>
      ${
        booking
          ? html`<p class="ok">
              Booked once, in job
              <a href="${jobHref(booking.companyId, booking.jobId)}" class="mono">${booking.jobId}</a>, as
              ${externalLink(booking.externalUrl, booking.externalId)} (${formatTime(booking.exportedAt)}).
            </p>`
          : html`<p>Not booked in the accounting system.</p>`
      }
      ${sections}`,
  );
}
