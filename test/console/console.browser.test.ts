/**
 * The web console in a real browser (Debian's chromium through playwright-core) over a real
 * daemon: the simulator, the SQLite store, the scheduler and the engine of test/server/helpers.
 * Waits are the browser's own (selectors and text polled until they appear); nothing sleeps.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { MappingResult } from '../../src/accounting/index.js';
import { consoleActions } from '../../src/cli/console-actions.js';
import type { ExportItem } from '../../src/client/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { simpleMap } from '../engine/harness.js';
import { startWorld, type World, type WorldOptions } from '../server/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'console-token-0123456789abcdef';
const WAIT = { timeout: 20_000 };

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

let world: World | undefined;
let page: Page | undefined;
afterEach(async () => {
  await page?.context().close();
  page = undefined;
  await world?.close();
  world = undefined;
});

/** A mapping that fails the first `failing` entries it sees with a hostile message, until fixed. */
function breakableMapping(failing: number): {
  mapItem: (item: ExportItem, ctx: { jobId: string }) => MappingResult;
  fix(): void;
  broken: Set<string>;
} {
  const broken = new Set<string>();
  let fixed = false;
  return {
    broken,
    fix: () => (fixed = true),
    mapItem(item, ctx) {
      if (!fixed && (broken.has(item.accountingEntryId) || broken.size < failing)) {
        broken.add(item.accountingEntryId);
        return {
          ok: false,
          failureReasonType: 'missing_configuration',
          failureReason: `Account <img src=x onerror="document.title='pwned'"> 6010 missing: provide account 6010 in the configurations`,
        };
      }
      return simpleMap(item, ctx);
    },
  };
}

async function start(
  options: WorldOptions & { mapItem?: (item: ExportItem, ctx: { jobId: string }) => MappingResult },
): Promise<{ w: World; server: RunningServer; base: string }> {
  const w = await startWorld({ ...options, server: { console: { refreshMs: 100 }, ...options.server } });
  world = w;
  const mapItem = options.mapItem ?? simpleMap;
  const server = await w.start({
    consoleActions: (trigger) =>
      consoleActions({
        config: w.config,
        store: w.store,
        mapItem: (_company, item, ctx) => mapItem(item, ctx),
        effect: 'The company is polled now and this daemon exports the new job.',
        start: (company) => trigger(company.id),
      }),
  });
  await server.whenIdle();
  expect(server.consoleUrl).not.toBeNull();
  return { w, server, base: server.url };
}

async function openPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  return page;
}

describe('web console (chromium)', () => {
  it('updates the job list live while a job runs', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { w, server, base } = await start({
      beforeRecord: (call) => (call === 3 ? gate : undefined),
    });
    const p = await openPage();
    await p.goto(`${base}/console/jobs`);
    await p.getByText('No export jobs yet.').waitFor(WAIT);
    const job = w.sim.admin.createJob(w.companies[0]!.id, { itemCount: 12, profile: { failureRatio: 0 } });
    const run = server.trigger(w.companies[0]!.id);
    // The page was loaded before the job existed: the row comes from the live stream.
    const row = p.locator(`tr[data-job="${job.id}"]`);
    await row.locator('.status.running').waitFor(WAIT);
    // Paused before the third write: two entries booked, the row says so while the job runs.
    await row.getByText('listed 12 · fetched 12 · booked 2 · failed 0').waitFor(WAIT);
    await expect(row.locator('.status').textContent()).resolves.toMatch(/^running/);
    release();
    await run;
    await row.locator('.status', { hasText: 'completed' }).waitFor(WAIT);
    await row.getByText('reported 12 of 12').waitFor(WAIT);
    await expect(p.locator('[data-live-status]').textContent()).resolves.toContain('Live: updated');
  });

  it("shows a failed item's Pleo message, escaped, and groups failures by reason", async () => {
    const mapping = breakableMapping(3);
    const { w, server, base } = await start({ mapItem: mapping.mapItem });
    const job = w.sim.admin.createJob(w.companies[0]!.id, { itemCount: 10, profile: { failureRatio: 0 } });
    await server.trigger(w.companies[0]!.id);
    const p = await openPage();
    await p.goto(`${base}/console/jobs`);
    await p.locator(`tr[data-job="${job.id}"] a`).click();
    await p.getByRole('heading', { name: 'Failures by reason' }).waitFor(WAIT);
    const reason = p.locator('table', { hasText: 'Failed entries grouped by reason' }).locator('tbody tr');
    await expect(reason.count()).resolves.toBe(1);
    await expect(reason.locator('td').first().textContent()).resolves.toBe('3');
    // Filter by failure type (the select submits on change).
    await p.selectOption('select[name="type"]', 'missing_configuration');
    await p.waitForURL(/type=missing_configuration/, WAIT);
    const items = p.locator('table', { hasText: 'Pleo message' }).locator('tbody tr');
    await expect(items.count()).resolves.toBe(3);
    const message = await items.first().locator('td.reason').textContent();
    expect(message).toBe(
      `Account <img src=x onerror="document.title='pwned'"> 6010 missing: provide account 6010 in the configurations`,
    );
    // Hostile markup stayed text: no element was created from it, no script ran.
    await expect(p.locator('main img').count()).resolves.toBe(0);
    await expect(p.title()).resolves.not.toBe('pwned');
    await expect(items.first().locator('.state').textContent()).resolves.toBe('failed');
  });

  it('shows the lookup in the audit trail of an entry whose first answer was lost', async () => {
    let lost = false;
    const { w, server, base } = await start({
      onStep: (step) => {
        if (step === 'entry_written' && !lost) {
          lost = true;
          throw new Error('the answer of the accounting system was lost');
        }
      },
    });
    const job = w.sim.admin.createJob(w.companies[0]!.id, { itemCount: 5, profile: { failureRatio: 0 } });
    await server.trigger(w.companies[0]!.id); // dies after the first write
    await server.trigger(w.companies[0]!.id); // resumes: the entry is looked up, not written again
    const adapter = w.adapters.get(w.companies[0]!.id)!;
    const first = adapter.bookings()[0]!;
    expect(adapter.recordCalls(first.key)).toBe(1);
    const p = await openPage();
    await p.goto(`${base}/console/companies/${w.companies[0]!.id}/jobs/${job.id}`);
    await p.locator(`a[href$="/entries/${first.key}"]`).click();
    const trail = p.locator('table.trail tbody tr');
    await trail.first().waitFor(WAIT);
    const steps = await trail.locator('th').allTextContents();
    expect(steps).toEqual(
      expect.arrayContaining(['Listed', 'Data fetched', 'Intent recorded', 'Booked', 'Reported to Pleo']),
    );
    const booked = trail.filter({ has: p.locator('th', { hasText: /^Booked$/ }) });
    await expect(booked.textContent()).resolves.toMatch(/answer to attempt 1 was lost.*Resolved by lookup/s);
    await expect(booked.textContent()).resolves.toContain(first.recorded.externalId);
    // Every step has its time, and the balanced entry as booked is shown.
    for (const time of await trail.locator('td:first-child').allTextContents())
      expect(time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await p.getByRole('heading', { name: 'The balanced entry as booked' }).waitFor(WAIT);
    const accounts = await p.locator('table.postings tbody th').allTextContents();
    expect(accounts.map((a) => a.trim())).toEqual(first.entry.postings.map((posting) => posting.account));
  });

  it('retries the failed entries after the mapping was fixed: each is booked once', async () => {
    const mapping = breakableMapping(2);
    const { w, server, base } = await start({ mapItem: mapping.mapItem });
    const company = w.companies[0]!.id;
    const job = w.sim.admin.createJob(company, { itemCount: 8, profile: { failureRatio: 0 } });
    await server.trigger(company);
    const adapter = w.adapters.get(company)!;
    expect(adapter.bookings()).toHaveLength(6);
    mapping.fix();
    const p = await openPage();
    await p.goto(`${base}/console/companies/${company}/jobs/${job.id}`);
    await p.getByRole('link', { name: 'Retry the 2 failed entries…' }).click();
    // The confirmation says what will happen before anything does.
    await p.getByText('2 of 2').waitFor(WAIT);
    await p.getByText('The company is polled now and this daemon exports the new job.').waitFor(WAIT);
    await expect(p.locator('td.ok').allTextContents()).resolves.toEqual([
      'would be booked',
      'would be booked',
    ]);
    expect(adapter.bookings()).toHaveLength(6);
    await p.getByRole('button', { name: 'Retry 2 entries in a new export job' }).click();
    await p.getByRole('heading', { name: 'Retry started' }).waitFor(WAIT);
    await p.getByRole('link', { name: /Follow the new job/ }).click();
    await p.locator('[data-field="status"]', { hasText: 'completed' }).waitFor(WAIT);
    await server.whenIdle();
    expect(adapter.bookings()).toHaveLength(8);
    for (const key of mapping.broken) expect(adapter.recordCalls(key)).toBe(1);
    expect(new Set(adapter.bookings().map((b) => b.key)).size).toBe(8);
  });

  it('shows health: companies with their last poll, Pleo and accounting error rates', async () => {
    const mapping = breakableMapping(1);
    const { w, server, base } = await start({ mapItem: mapping.mapItem });
    w.sim.admin.createJob(w.companies[0]!.id, { itemCount: 4, profile: { failureRatio: 0 } });
    await server.trigger(w.companies[0]!.id);
    const p = await openPage();
    await p.goto(`${base}/console/health`);
    await p.getByText('embedded (one process)').waitFor(WAIT);
    const company = p.locator('table', { hasText: 'Configured companies' }).locator('tbody tr');
    await expect(company.textContent()).resolves.toMatch(/company-0.*\(manual\).*ok.*idle/s);
    const summary = await p.locator('dl.summary').textContent();
    expect(summary).toMatch(/Pleo requests\s*\d+ \(errors: 0, 0\.0 %\)/);
    expect(summary).toMatch(/Entries recorded\s*4 \(failed: 1, 25\.0 %\)/);
    await p
      .locator('table', { hasText: 'Failed entries by type' })
      .getByText('missing_configuration')
      .waitFor(WAIT);
  });

  it('refuses unauthenticated requests when a token is set, and signs in with it', async () => {
    const { w, base } = await start({ server: { console: { token: TOKEN, refreshMs: 100 } } });
    const company = w.companies[0]!.id;
    for (const path of [
      '/console/jobs',
      '/console/health',
      `/console/events?company=${company}`,
      '/console/pending',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(401);
      expect(await res.text()).not.toContain(company);
    }
    expect((await fetch(`${base}/console/jobs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    const bearer = await fetch(`${base}/console/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).not.toContain(TOKEN);

    const p = await openPage();
    await p.goto(`${base}/console/jobs`);
    await p.waitForURL(/\/console\/login$/, WAIT);
    await p.getByLabel(/Console token/).fill('not the token');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').getByText('That token is not the console token.').waitFor(WAIT);
    await p.getByLabel(/Console token/).fill(TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Export jobs' }).waitFor(WAIT);
    const cookies = await p.context().cookies();
    expect(cookies.find((c) => c.name === 'pleo_console')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    await expect(p.content()).resolves.not.toContain(TOKEN);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL(/\/console\/login$/, WAIT);
    await p.goto(`${base}/console/health`);
    await p.waitForURL(/\/console\/login$/, WAIT);
  });

  it('refuses an action without the session’s CSRF token or from another origin', async () => {
    const mapping = breakableMapping(1);
    const { w, server, base } = await start({ mapItem: mapping.mapItem });
    const company = w.companies[0]!.id;
    const job = w.sim.admin.createJob(company, { itemCount: 3, profile: { failureRatio: 0 } });
    await server.trigger(company);
    const jobsBefore = w.sim.admin.state().jobs.length;
    const p = await openPage();
    const retryUrl = `${base}/console/companies/${company}/jobs/${job.id}/retry`;
    await p.goto(retryUrl);
    const csrf = await p.locator('input[name="csrf"]').first().inputValue();
    const cookie = (await p.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const post = (body: string, headers: Record<string, string>) =>
      fetch(retryUrl, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers },
        body,
      });
    const wrongToken = await post('csrf=forged', { origin: base });
    expect(wrongToken.status).toBe(403);
    expect(await wrongToken.text()).toContain('security token');
    const foreign = await post(`csrf=${encodeURIComponent(csrf)}`, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain('origin check');
    const noOrigin = await post(`csrf=${encodeURIComponent(csrf)}`, {});
    expect(noOrigin.status).toBe(403);
    const crossSite = await post(`csrf=${encodeURIComponent(csrf)}`, {
      origin: base,
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.status).toBe(403);
    // Nothing was created at Pleo, nothing booked again.
    expect(w.sim.admin.state().jobs.length).toBe(jobsBefore);
    expect((await w.store.listJobs({ companyId: company })).map((j) => j.jobId)).toEqual([job.id]);
    // The page's own form (same session, same origin) goes through.
    await p.getByRole('button', { name: /Retry 1 entries/ }).click();
    await p.getByRole('heading', { name: 'Retry started' }).waitFor(WAIT);
  });
});
