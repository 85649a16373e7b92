#!/usr/bin/env node
// Screenshots of the web console for the README (docs/screenshots/*.png), taken from a real demo:
// `npm run build && node scripts/screenshots.mjs` (needs /usr/bin/chromium and hledger).
// It runs `pleo-export demo --console` in a temporary folder, opens its pages in headless chromium
// and saves each screen at laptop size, plus one job page at phone size.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const out = join(import.meta.dirname, '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'pleo-shots-'));
const demo = spawn(
  process.execPath,
  ['dist/cli/main.js', 'demo', '--dir', dir, '--no-progress', '--console', '--console-port', '0'],
  { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
);
const base = await new Promise((resolve, reject) => {
  let text = '';
  demo.stdout.on('data', (chunk) => {
    text += chunk;
    const match = /Web console: (http:\/\/\S+?)\/console\//.exec(text);
    if (match) resolve(match[1]);
  });
  demo.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${text}`)));
});

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
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
try {
  const laptop = await browser.newPage({ viewport: { width: 1200, height: 760 } });
  const shot = async (page, name) => {
    await page.screenshot({ path: join(out, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png`);
  };
  await laptop.goto(`${base}/console/jobs`);
  await laptop.locator('[data-live-status]', { hasText: 'Live' }).waitFor();
  await shot(laptop, 'jobs');
  // The job with the most failures.
  await laptop.locator('table[data-live="jobs"] tbody tr').nth(1).locator('a').click();
  const jobUrl = laptop.url();
  await shot(laptop, 'job');
  await laptop.selectOption('select[name="state"]', 'failed');
  await laptop.waitForURL(/state=failed/);
  await laptop.locator('#items').scrollIntoViewIfNeeded();
  await shot(laptop, 'failed-items');
  await laptop.locator('table', { hasText: 'Pleo message' }).locator('a[href*="/entries/"]').first().click();
  await shot(laptop, 'entry-failed');
  await laptop.goto(`${jobUrl}?state=booked`);
  await laptop.locator('table', { hasText: 'Pleo message' }).locator('a[href*="/entries/"]').first().click();
  await laptop.locator('table.postings').waitFor();
  await laptop.screenshot({ path: join(out, 'entry-booked.png'), fullPage: true });
  await laptop.goto(`${jobUrl}/retry`);
  await shot(laptop, 'retry');
  await laptop.goto(`${base}/console/health`);
  await shot(laptop, 'health');
  const phone = await browser.newPage({ viewport: { width: 390, height: 800 }, deviceScaleFactor: 1 });
  await phone.goto(jobUrl);
  await shot(phone, 'phone-job');
} finally {
  await browser.close();
  demo.kill('SIGINT');
  await new Promise((resolve) => demo.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
