/**
 * The console's stylesheet and script, served as files from the package (`/console/assets/…`):
 * no bundler, no CDN, nothing inline (the CSP allows scripts and styles from 'self' only).
 *
 * The script only enhances: live updates of the jobs and of one job (server-sent events, rows
 * rebuilt with textContent, never innerHTML) and filters that apply on change. Every page works
 * without it.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #595959; --bg: #fff; --line: #c8c8c8; --accent: #0b57d0;
  --ok: #146c2e; --bad: #a50e0e; --warn: #7a4d00; --soft: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, [tabindex]:focus-visible, summary:focus-visible {
  outline: 3px solid #ff9f1a; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #000; color: #fff; padding: .5rem 1rem; }
.skip:focus { left: 0; z-index: 10; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--soft); }
.brand { margin: 0; font-weight: 700; }
.brand a { color: var(--fg); text-decoration: none; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
.logout { margin-left: auto; }
main { padding: 1rem; max-width: 96rem; margin: 0 auto; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; word-break: break-all; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; }
.muted { color: var(--muted); font-weight: normal; font-size: .9em; }
.mono, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); white-space: nowrap; }
tbody th { font-weight: normal; }
td.time { white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.reason { max-width: 40rem; overflow-wrap: anywhere; }
.status.running { color: var(--warn); font-weight: 600; }
.status.completed { color: var(--ok); }
.status.failed, .status.completed-with-errors { color: var(--bad); }
.state { display: inline-block; padding: 0 .4rem; border-radius: .25rem; border: 1px solid var(--line); }
.state-booked { color: var(--ok); border-color: var(--ok); }
.state-failed { color: var(--bad); border-color: var(--bad); }
.state-booking { color: var(--warn); border-color: var(--warn); }
progress { width: 8rem; vertical-align: middle; }
.counts { display: block; font-size: .85rem; color: var(--muted); }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .5rem 1.5rem; margin: 0 0 1rem; }
.summary dt { color: var(--muted); font-size: .9rem; }
.summary dd { margin: 0; }
.live { color: var(--muted); font-size: .9rem; min-height: 1.5em; }
.ok { color: var(--ok); }
.error { color: var(--bad); font-weight: 600; }
.effect { background: var(--soft); border-left: 4px solid var(--accent); padding: .5rem 1rem; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin: .5rem 0; }
.filters label, .login label { display: flex; flex-direction: column; font-size: .9rem; }
select, input, button { font: inherit; padding: .35rem .5rem; }
button, .button { display: inline-block; background: var(--accent); color: #fff; border: 1px solid var(--accent); border-radius: .3rem;
  padding: .4rem .9rem; text-decoration: none; cursor: pointer; }
.button.secondary, .logout button { background: #fff; color: var(--accent); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
.login { display: flex; flex-direction: column; gap: .5rem; max-width: 22rem; }
.crumbs { font-size: .9rem; color: var(--muted); }
.tally { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; padding: 0; list-style: none; }
.pager { display: flex; gap: 1rem; }
.trail .step-booked th, .trail .step-reported th { color: var(--ok); }
.trail .step-failed th, .trail .step-report_rejected th { color: var(--bad); }
.postings tfoot th, .postings tfoot td { font-weight: 700; border-top: 2px solid var(--fg); }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: .75rem; }
  th, td { padding: .3rem .35rem; }
  .logout { margin-left: 0; }
}
`;

export const CONSOLE_JS = `'use strict';
(function () {
  function text(el, value) { el.textContent = value == null ? '' : String(value); return el; }
  function make(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (value !== undefined) text(el, value);
    return el;
  }
  function progress(row) {
    var frag = document.createDocumentFragment();
    var bar = make('progress');
    bar.max = 100; bar.value = row.percent; bar.setAttribute('aria-label', 'Reported to Pleo');
    text(bar, row.percent + ' %');
    frag.appendChild(bar);
    frag.appendChild(make('span', 'counts', 'listed ' + row.listed + ' \\u00b7 fetched ' + row.fetched +
      ' \\u00b7 booked ' + row.booked + ' \\u00b7 failed ' + row.failed + ' \\u00b7 reported ' + row.reported + ' of ' + row.items));
    return frag;
  }
  function jobRow(row) {
    var tr = make('tr');
    tr.setAttribute('data-job', row.jobId);
    var th = make('th'); th.scope = 'row';
    var a = make('a', '', row.jobId); a.href = row.href; th.appendChild(a); tr.appendChild(th);
    tr.appendChild(make('td', '', row.created));
    tr.appendChild(make('td', row.running ? 'status running' : 'status ' + row.status.split(' ').join('-'), row.status));
    var p = make('td', 'progress'); p.appendChild(progress(row)); tr.appendChild(p);
    tr.appendChild(make('td', '', row.duration));
    tr.appendChild(make('td', '', row.finalEvent));
    tr.appendChild(make('td', 'reason', row.failure));
    return tr;
  }
  function stamp(status) {
    if (status) text(status, 'Live: updated ' + new Date().toLocaleTimeString());
  }
  function listen(params, onData) {
    if (!window.EventSource) return;
    var status = document.querySelector('[data-live-status]');
    var source = new EventSource('/console/events?' + params);
    source.addEventListener('snapshot', function (event) {
      onData(JSON.parse(event.data));
      stamp(status);
    });
    source.onerror = function () { if (status) text(status, 'Live updates paused; reconnecting\\u2026'); };
  }
  var tables = document.querySelectorAll('table[data-live="jobs"]');
  Array.prototype.forEach.call(tables, function (table) {
    listen('view=jobs&company=' + encodeURIComponent(table.getAttribute('data-company')), function (rows) {
      var body = table.tBodies[0];
      var fresh = document.createElement('tbody');
      if (rows.length === 0) {
        var tr = make('tr', 'empty'); var td = make('td', '', 'No export jobs yet.'); td.colSpan = 7; tr.appendChild(td); fresh.appendChild(tr);
      }
      rows.forEach(function (row) { fresh.appendChild(jobRow(row)); });
      table.replaceChild(fresh, body);
    });
  });
  var summary = document.querySelector('[data-live="job"]');
  if (summary) {
    listen('view=job&company=' + encodeURIComponent(summary.getAttribute('data-company')) +
      '&job=' + encodeURIComponent(summary.getAttribute('data-job')), function (row) {
      var set = function (name, value) {
        var el = summary.querySelector('[data-field="' + name + '"]');
        if (!el) return;
        if (typeof value === 'string') text(el, value); else { el.textContent = ''; el.appendChild(value); }
      };
      set('status', row.status);
      set('progress', progress(row));
      set('duration', row.duration);
      set('finalEvent', row.finalEvent || '\\u2014');
      set('failure', row.failure || '\\u2014');
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('form[data-autosubmit]'), function (form) {
    Array.prototype.forEach.call(form.querySelectorAll('select'), function (select) {
      select.addEventListener('change', function () { form.submit(); });
    });
  });
})();
`;
