import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { noSleep } from '../engine/harness.js';
import { cli, entryTags, expectCleanError, hledgerCheck } from './helpers.js';

const SEED = 42;
const root = mkdtempSync(join(tmpdir(), 'pleo-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
let sim: RunningSimulator | undefined;
const saved = { ...process.env };

beforeEach(() => {
  dir = join(root, `t${n++}`);
  for (const key of ['PLEO_API_URL', 'PLEO_API_KEY', 'PLEO_COMPANY_ID', 'PLEO_EXPORT_CONFIG'])
    delete process.env[key];
});
afterEach(async () => {
  process.env = { ...saved };
  await sim?.close();
  sim = undefined;
});

async function simulator(jobs: { items: number; vendorBasedBookkeeping?: boolean }[] = [{ items: 60 }]) {
  sim = await startSimulator({ seed: SEED, companies: 1, jobsPerCompany: 0 });
  const company = sim.companies[0]!;
  const ids = jobs.map((j) => {
    const job = sim!.admin.createJob(company.id, {
      itemCount: j.items,
      vendorBasedBookkeeping: j.vendorBasedBookkeeping ?? false,
    });
    sim!.admin.advanceClock(1000);
    return job.id;
  });
  return { sim, company, ids };
}

function writeConfig(
  company: { id: string; apiKey: string },
  url: string,
  extra: Record<string, unknown> = {},
): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pleo-export.yaml');
  writeFileSync(
    file,
    YAML.stringify({
      dataDir: join(dir, 'data'),
      pleo: { url, requestsPerSecond: 1000 },
      companies: [
        {
          id: company.id,
          name: 'ACME',
          apiKeyEnv: 'ACME_KEY',
          adapter: { type: 'hledger', journal: join(dir, 'books.journal') },
          accounting: simulatorAccountingConfig(SEED),
          ...extra,
        },
      ],
    }),
  );
  process.env['ACME_KEY'] = company.apiKey;
  return file;
}

describe('pleo-export CLI', () => {
  it('shows help for every command and exits 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of [
      'demo',
      'run',
      'preview',
      'check',
      'jobs',
      'items',
      'show',
      'retry',
      'connect',
      'config',
      'simulate',
    ]) {
      expect(top.out).toContain(command);
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.out).toMatch(/Usage: pleo-export/);
    }
    expect(top.out).toMatch(/Exit codes/);
  });

  it('rejects bad usage with one line and exit code 2', async () => {
    expectCleanError(await cli(['frobnicate']), 2, /unknown command/);
    expectCleanError(
      await cli(['run', '--once', '--concurrency', 'lots']),
      2,
      /--concurrency must be a whole number/,
    );
    expectCleanError(
      await cli(['run', '--once', '--adapter', 'sap']),
      2,
      /Allowed choices are hledger, http/,
    );
    expectCleanError(
      await cli(['run', '--once', '--data-dir', dir, '--company', '3f1e7f2c-1d7a-4c3e-9a1b-2b3c4d5e6f70']),
      2,
      /has no credentials/,
    );
    expectCleanError(await cli(['run', '--once', '--data-dir', dir]), 2, /No company configured/);
    expectCleanError(
      await cli([
        'run',
        '--once',
        '--postgres',
        'postgres://postgres@127.0.0.1:5432/postgres',
        '--company',
        '3f1e7f2c-1d7a-4c3e-9a1b-2b3c4d5e6f70',
        '--api-key',
        'k',
      ]),
      2,
      /scaled-out mode .* use `pleo-export serve --postgres` and `pleo-export worker`/,
    );
    expectCleanError(
      await cli(['run', '--once', '--company', 'not-a-uuid', '--api-key', 'k', '--journal', 'x.journal']),
      2,
      /companies\[0\]\.id: got "not-a-uuid": expected a uuid/,
    );
  });

  it('explains a bad configuration file by key, value and expectation', async () => {
    const file = join(root, `bad-${n}.yaml`);
    writeFileSync(file, 'pleo:\n  url: ftp://nope\n  pageSize: 0\nsurprise: true\n');
    const result = await cli(['config', '--config', file]);
    expectCleanError(result, 2, /pleo\.url: got "ftp:\/\/nope": expected an http\(s\) URL/);
    expect(result.err).toMatch(/pleo\.pageSize: got 0: expected a number ≥ 1/);
    expect(result.err).toMatch(/surprise: unknown key/);
    writeFileSync(file, 'pleo: [unclosed');
    expectCleanError(await cli(['config', '--config', file]), 2, /not valid YAML/);
    expectCleanError(
      await cli(['config', '--config', join(root, 'missing.yaml')]),
      2,
      /Cannot read the configuration file/,
    );
  });

  it('run --once with flags only (the scripting contract) exports every job into a valid journal', async () => {
    const { company, ids } = await simulator([{ items: 60 }, { items: 40, vendorBasedBookkeeping: true }]);
    const journal = join(dir, 'books.journal');
    // No accounting configuration: nothing is restricted, every generated entry books.
    const result = await cli([
      'run',
      '--once',
      '--pleo-url',
      sim!.url,
      '--api-key',
      company.apiKey,
      '--company',
      company.id,
      '--adapter',
      'hledger',
      '--journal',
      journal,
      '--data-dir',
      join(dir, 'data'),
      '--no-progress',
    ]);
    expect(result.code, result.err).toBe(0);
    for (const id of ids)
      expect(['completed', 'completed_with_errors']).toContain(sim!.admin.job(id)!.job.status);
    hledgerCheck(journal);
    const tags = entryTags(journal);
    expect(new Set(tags).size).toBe(tags.length);
    expect(result.out).toContain(ids[0]!);
    // The same run again books nothing and finds nothing to do.
    const again = await cli([
      'run',
      '--once',
      '--pleo-url',
      sim!.url,
      '--api-key',
      company.apiKey,
      '--company',
      company.id,
      '--adapter',
      'hledger',
      '--journal',
      journal,
      '--data-dir',
      join(dir, 'data'),
    ]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/No eligible export jobs/);
    expect(entryTags(journal)).toEqual(tags);
  });

  it('run --once takes the same settings from the environment, and flags win', async () => {
    const { company, ids } = await simulator([{ items: 20 }]);
    process.env['PLEO_API_URL'] = 'http://127.0.0.1:1';
    process.env['PLEO_API_KEY'] = company.apiKey;
    process.env['PLEO_COMPANY_ID'] = company.id;
    const result = await cli([
      'run',
      '--once',
      '--pleo-url',
      sim!.url,
      '--journal',
      join(dir, 'b.journal'),
      '--data-dir',
      join(dir, 'data'),
      '--json',
    ]);
    expect(result.code, result.err).toBe(0);
    const results = JSON.parse(result.out) as { jobId: string; disposition: string }[];
    expect(results.map((r) => [r.jobId, r.disposition])).toEqual([[ids[0], 'completed']]);
  });

  it('fails clearly when Pleo is unreachable or refuses the key', async () => {
    const { company } = await simulator([]);
    // One attempt per call: the failure is immediate (no real backoff sleeps in tests).
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'once.yaml'), 'pleo:\n  maxAttempts: 1\n');
    const base = [
      '--config',
      join(dir, 'once.yaml'),
      '--company',
      company.id,
      '--journal',
      join(dir, 'b.journal'),
      '--data-dir',
      join(dir, 'data'),
    ];
    const down = await cli([
      'run',
      '--once',
      '--pleo-url',
      'http://127.0.0.1:1',
      '--api-key',
      company.apiKey,
      ...base,
    ]);
    expectCleanError(down, 3, /pleo-export: .*(ECONNREFUSED|fetch failed|connect|network)/i);
    const refused = await cli(['run', '--once', '--pleo-url', sim!.url, '--api-key', 'pk_wrong', ...base]);
    expectCleanError(refused, 3, /401/);
    expect(refused.err).not.toContain('pk_wrong');
  });

  it('an unwritable journal fails the job with an actionable reason (exit 5) and check says why (exit 4)', async () => {
    const { company, ids } = await simulator([{ items: 5 }]);
    // A regular file where the journal's folder should be: the journal cannot be created.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const journal = join(dir, 'not-a-folder', 'books.journal');
    const args = [
      '--pleo-url',
      sim!.url,
      '--api-key',
      company.apiKey,
      '--company',
      company.id,
      '--journal',
      journal,
      '--data-dir',
      join(dir, 'data'),
    ];
    const check = await cli(['check', ...args]);
    expect(check.code).toBe(4);
    expect(check.out).toMatch(/FAILED/);
    const run = await cli(['run', '--once', '--no-progress', ...args]);
    expect(run.code).toBe(5);
    // A journal that cannot be created is the configuration's problem (a person must fix the path).
    expect(sim!.admin.job(ids[0]!)!.job).toMatchObject({
      status: 'failed',
      failureReasonType: 'invalid_configuration',
    });
  });

  it('an accounting system that cannot be reached defers the run: exit 4, the job left in progress, nothing failed', async () => {
    const { company, ids } = await simulator([{ items: 5 }]);
    const args = [
      '--pleo-url',
      sim!.url,
      '--api-key',
      company.apiKey,
      '--company',
      company.id,
      '--adapter',
      'http',
      // Nothing listens on port 9 (discard) here: every call is refused, a transient fault.
      '--http-url',
      'http://127.0.0.1:9',
      '--data-dir',
      join(dir, 'data'),
    ];
    // The engine's retries of the refused calls back off without real waits.
    let waits = 0;
    const run = await cli(['run', '--once', '--no-progress', '--json', ...args], (ms, signal) => {
      waits++;
      return noSleep(ms, signal);
    });
    expect(run.code, run.err).toBe(4);
    expect(waits, 'the refused calls were retried before the run was deferred').toBeGreaterThan(0);
    const [result] = JSON.parse(run.out) as { disposition: string; deferredReason: string }[];
    expect(result).toMatchObject({ disposition: 'deferred' });
    expect(result!.deferredReason).toMatch(/Pre-export validation failed for now/);
    expect(sim!.admin.job(ids[0]!)!.job.status).toBe('in_progress');
  });

  it('check, config --print (secrets masked), jobs, items, show', async () => {
    const { company, ids } = await simulator([{ items: 30 }]);
    const config = writeConfig(company, sim!.url);
    const check = await cli(['check', '--config', config]);
    expect(check.code, check.out + check.err).toBe(0);
    expect(check.out).toMatch(/ACME.*ok/s);
    const printed = await cli(['config', '--print', '--config', config, '--api-key', company.apiKey]);
    expect(printed.code).toBe(0);
    expect(printed.out).not.toContain(company.apiKey);
    expect(printed.out).toMatch(/apiKey: pk_t…\*\*\*\*/);
    expect((await cli(['run', '--once', '--config', config, '--no-progress'])).code).toBe(0);
    const jobs = JSON.parse((await cli(['jobs', '--config', config, '--json'])).out) as {
      jobId: string;
      phase: string;
      counts: { total: number };
    }[];
    expect(jobs).toMatchObject([{ jobId: ids[0], phase: 'done', counts: { total: 30 } }]);
    expect((await cli(['jobs', '--config', config])).out).toContain(ids[0]!);
    const items = JSON.parse((await cli(['items', ids[0]!, '--config', config, '--json'])).out) as {
      accountingEntryId: string;
      seq: number;
    }[];
    expect(items.map((i) => i.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const failed = await cli(['items', ids[0]!, '--status', 'failed', '--config', config, '--json']);
    for (const item of JSON.parse(failed.out) as { pleoStatus: string }[])
      expect(item.pleoStatus).toBe('failed');
    const show = await cli(['show', items[0]!.accountingEntryId, '--config', config]);
    expect(show.code).toBe(0);
    expect(show.out).toContain(ids[0]!);
    // The entry's audit trail, step by step.
    for (const step of ['listed', 'data_fetched', 'reported']) expect(show.out).toContain(step);
    const shown = JSON.parse(
      (await cli(['show', items[0]!.accountingEntryId, '--config', config, '--json'])).out,
    ) as { trail: { step: string; at: string }[] };
    expect(shown.trail.map((e) => e.step)).toContain('reported');
    expectCleanError(
      await cli(['show', '00000000-0000-4000-8000-000000000000', '--config', config]),
      5,
      /not in the local state/,
    );
    expectCleanError(
      await cli(['items', '00000000-0000-4000-8000-000000000000', '--config', config]),
      5,
      /not in the local state/,
    );
  });

  it('preview reads a pending job without claiming it and writes nothing', async () => {
    const { company, ids } = await simulator([{ items: 80 }]);
    const config = writeConfig(company, sim!.url);
    const result = await cli(['preview', ids[0]!, '--config', config, '--json']);
    expect(result.code, result.err).toBe(0);
    const preview = JSON.parse(result.out) as {
      counts: { book: number; fail: number };
      items: { outcome: string }[];
    };
    expect(preview.counts.book + preview.counts.fail).toBe(80);
    expect(preview.counts.fail).toBeGreaterThan(0);
    const snap = sim!.admin.job(ids[0]!, { items: true })!;
    expect(snap.job.status).toBe('pending');
    expect(snap.events).toEqual([]);
    expect(snap.totalUpdates).toBe(0);
    expect((await cli(['jobs', '--config', config, '--json'])).out).toBe('[]');
    const dry = await cli(['run', '--dry-run', '--config', config]);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/would be booked, \d+ would fail/);
    expect(sim!.admin.job(ids[0]!)!.job.status).toBe('pending');
  });

  it('retry re-exports the failed entries in a new export job once the mapping is fixed', async () => {
    const { company, ids } = await simulator([{ items: 120 }]);
    const config = writeConfig(company, sim!.url);
    expect((await cli(['run', '--once', '--config', config, '--no-progress'])).code).toBe(0);
    const failed = JSON.parse(
      (await cli(['items', ids[0]!, '--state', 'failed', '--config', config, '--json'])).out,
    ) as {
      accountingEntryId: string;
      failureReasonType: string;
      failureReason: string;
    }[];
    const unknown = failed.filter((f) => f.failureReasonType === 'account_unknown');
    expect(unknown.length).toBeGreaterThan(0);
    // The bookkeeper adds the missing accounts to the chart, then retries.
    const codes = [...new Set(unknown.map((f) => /Account No\. (\S+) /.exec(f.failureReason)![1]!))];
    const accounting = simulatorAccountingConfig(SEED);
    accounting.knownAccounts = [...(accounting.knownAccounts ?? []), ...codes];
    const fixed = writeConfig(company, sim!.url, { accounting });
    const dry = await cli(['retry', ids[0]!, '--config', fixed, '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(
      new RegExp(`${unknown.length} of ${failed.length} failed entries would now be booked`),
    );
    const before = entryTags(join(dir, 'books.journal'));
    const retried = await cli(['retry', ids[0]!, '--config', fixed]);
    expect(retried.code, retried.err).toBe(0);
    const newJob = /Created export job (\S+) /.exec(retried.out)![1]!;
    const snap = sim!.admin.job(newJob, { items: true })!;
    expect(snap.items!.map((i) => i.accountingEntryId).sort()).toEqual(
      failed.map((f) => f.accountingEntryId).sort(),
    );
    expect(snap.statusCounts.successful).toBe(unknown.length);
    const after = entryTags(join(dir, 'books.journal'));
    expect(after.length).toBe(before.length + unknown.length);
    expect(new Set(after).size).toBe(after.length);
    hledgerCheck(join(dir, 'books.journal'));
  });

  it('demo: one command, a journal hledger accepts, and running it twice books nothing twice', async () => {
    const demoDir = join(dir, 'demo');
    const first = await cli(['demo', '--dir', demoDir, '--no-progress']);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/completed_with_errors/);
    expect(first.out).toMatch(/vendor_unknown/);
    expect(first.out).toMatch(/closed accounting per/);
    expect(first.out).toMatch(/hledger check --strict: ok/);
    expect(first.out).toMatch(/hledger -f .*books\.journal balance/);
    const journal = join(demoDir, 'books.journal');
    hledgerCheck(journal);
    const tags = entryTags(journal);
    expect(tags.length).toBeGreaterThan(450);
    expect(new Set(tags).size).toBe(tags.length);
    const second = await cli(['demo', '--dir', demoDir, '--no-progress']);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/nothing was booked twice/);
    expect(entryTags(journal)).toEqual(tags);
    hledgerCheck(journal);
  });

  it('connect: OAuth authorization code + PKCE end to end, then run --once on the stored, rotating tokens', async () => {
    sim = await startSimulator({
      seed: SEED,
      companies: 1,
      jobsPerCompany: 0,
      accessTokenTtlMs: 1000,
      oauthClients: [
        {
          clientId: 'pleo-export-test',
          clientSecret: 's3cret-client',
          redirectUris: ['http://127.0.0.1:47123/callback'],
        },
      ],
    });
    const company = sim.companies[0]!;
    const job = sim.admin.createJob(company.id, { itemCount: 25 });
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'oauth.yaml');
    writeFileSync(
      file,
      YAML.stringify({
        dataDir: join(dir, 'data'),
        pleo: { url: sim.url, requestsPerSecond: 1000 },
        companies: [
          {
            id: company.id,
            oauth: {
              clientId: 'pleo-export-test',
              clientSecretEnv: 'OAUTH_SECRET',
              authorizeUrl: `${sim.url}/oauth/authorize`,
              tokenUrl: `${sim.url}/oauth/token`,
              redirectUri: 'http://127.0.0.1:47123/callback',
            },
            adapter: { type: 'hledger', journal: join(dir, 'oauth.journal') },
          },
        ],
      }),
    );
    process.env['OAUTH_SECRET'] = 's3cret-client';
    // Not connected yet: a clear instruction.
    expectCleanError(
      await cli(['run', '--once', '--config', file]),
      2,
      /not connected yet: run `pleo-export connect/,
    );
    const out: string[] = [];
    const err: string[] = [];
    const { runCli } = await import('../../src/cli/program.js');
    const connecting = runCli(['connect', '--config', file, '--extra-param', `company_id=${company.id}`], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      isTTY: false,
    });
    while (out.length === 0) await new Promise((r) => setImmediate(r));
    const authorizeUrl = new URL(out[0]!);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The "browser": follow the redirect from Pleo's authorize endpoint to the local callback.
    const browser = await fetch(authorizeUrl, { redirect: 'follow' });
    expect(browser.status).toBe(200);
    expect(await browser.text()).toMatch(/connected/);
    expect(await connecting, err.join('\n')).toBe(0);
    expect(err.join('\n')).not.toContain('s3cret-client');
    // Access tokens live 1 s here: the run refreshes (and rotates) them as needed.
    sim.admin.advanceClock(5000);
    const run = await cli(['run', '--once', '--config', file, '--no-progress']);
    expect(run.code, run.err).toBe(0);
    expect(sim.admin.job(job.id)!.job.status).toMatch(/^completed/);
    hledgerCheck(join(dir, 'oauth.journal'));
  });

  it('subscribe registers the webhook endpoint for each company and keeps the signing secret', async () => {
    const { company } = await simulator([]);
    const config = writeConfig(company, sim!.url);
    const result = await cli([
      'subscribe',
      '--config',
      config,
      '--url',
      'https://pleo-export.example.com/',
      '--json',
    ]);
    expect(result.code, result.err).toBe(0);
    const out = JSON.parse(result.out) as {
      endpointUrl: string;
      companies: { subscriptionId: string; result: string }[];
    };
    expect(out.endpointUrl).toBe('https://pleo-export.example.com/webhooks/pleo');
    expect(out.companies[0]!.result).toBe('subscribed');
    const subscriptions = sim!.admin.state().subscriptions;
    expect(subscriptions).toMatchObject([
      {
        companyId: company.id,
        endpointUrl: out.endpointUrl,
        eventTypes: ['v1.export-job.created'],
        status: 'ACTIVE',
      },
    ]);
    const auth = { authorization: `Basic ${Buffer.from(`${company.apiKey}:`).toString('base64')}` };
    const pleoSecret = (
      (await (
        await fetch(`${sim!.url}/v1/subscriptions/${out.companies[0]!.subscriptionId}/secret`, {
          headers: auth,
        })
      ).json()) as {
        data: { secretKey: string };
      }
    ).data.secretKey;
    const { createSqliteStore } = await import('../../src/store/index.js');
    const { webhookSecretKey } = await import('../../src/server/index.js');
    const store = createSqliteStore({ path: join(dir, 'data', 'state.db') });
    expect(await store.getValue(webhookSecretKey(company.id))).toBe(pleoSecret);
    await store.close();
    expectCleanError(await cli(['subscribe', '--config', config]), 2, /set server\.publicUrl/);
  });
});
