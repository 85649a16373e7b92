import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { z } from 'zod';

import { httpAdapter, registerAdapter, type AdapterDescriptor } from '../../src/adapters/index.js';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import {
  createMemoryAdapter,
  startReferenceReceiver,
  type ReferenceReceiver,
} from '../../src/testing/index.js';
import { cli } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'pleo-check-'));
let sim: RunningSimulator;
let receiver: ReferenceReceiver | undefined;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator({ seed: 7, companies: 1, jobsPerCompany: 0 });
});
afterAll(async () => {
  await sim.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** A configuration file for the simulator's company with this adapter block. */
function configWith(adapter: Record<string, unknown>): string {
  const dir = join(root, `c${n++}`);
  mkdirSync(dir, { recursive: true });
  const company = sim.companies[0]!;
  const file = join(dir, 'pleo-export.yaml');
  writeFileSync(
    file,
    YAML.stringify({
      dataDir: join(dir, 'data'),
      pleo: { url: sim.url, requestsPerSecond: 1000, maxAttempts: 1 },
      companies: [{ id: company.id, name: 'ACME', apiKey: company.apiKey, adapter }],
    }),
  );
  return file;
}

describe('pleo-export check: the accounting system', () => {
  it('a journal that cannot be created: each problem with what to do, exit 4', async () => {
    const dir = join(root, 'blocked');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const journal = join(dir, 'not-a-folder', 'books.journal');
    const result = await cli(['check', '--config', configWith({ type: 'hledger', journal })]);
    expect(result.code, result.err).toBe(4);
    expect(result.out).toContain('ACME (hledger):');
    expect(result.out).toContain(`FAILED The journal ${journal} can be created`);
    expect(result.out).toContain(
      `→ ${join(dir, 'not-a-folder')} is not a folder: point adapter.journal at a path inside a folder.`,
    );
    expect(result.out).toMatch(/FAILED The hledger accounting system accepts the export \(validate\)/);
    expect(result.out).toMatch(
      /→ The hledger journal .* cannot be opened for writing: .*\(invalid_configuration\)/,
    );
  });

  it('a writable journal: every finding ok, exit 0', async () => {
    const journal = join(root, 'fine', 'books.journal');
    const result = await cli(['check', '--config', configWith({ type: 'hledger', journal })]);
    expect(result.code, result.out + result.err).toBe(0);
    expect(result.out).toContain(`ok     The journal ${journal} can be created`);
    expect(result.out).toContain('ok     The hledger accounting system accepts the export (validate)');
    expect(result.out).not.toContain('FAILED');
  });

  it('an ERP that refuses the token: the type, the reason and where to fix it; --json lists the checks', async () => {
    receiver = await startReferenceReceiver({ token: 'right' });
    const file = configWith({ type: 'http', url: receiver.url, tokenEnv: 'CHECK_ERP_TOKEN' });
    process.env['CHECK_ERP_TOKEN'] = 'tok-stale-4711';
    try {
      const result = await cli(['check', '--config', file]);
      expect(result.code).toBe(4);
      expect(result.out).toContain(`ok     ${receiver.url} is reached over loopback`);
      expect(result.out).toMatch(/FAILED The http accounting system accepts the export \(validate\)/);
      expect(result.out).toMatch(
        /→ .*HTTP 401.*\(accounting_system_authentication_failure\)\. The accounting system refused the credentials: check the secrets in the adapter block/,
      );
      expect(result.out).not.toContain('tok-stale-4711');
      const json = await cli(['check', '--config', file, '--json']);
      const parsed = JSON.parse(json.out) as {
        companies: { adapter: string; checks: { ok: boolean; what: string; fix?: string }[] }[];
      };
      expect(parsed.companies[0]?.adapter).toBe('http');
      expect(parsed.companies[0]?.checks.map((c) => c.ok)).toEqual([true, false]);
      process.env['CHECK_ERP_TOKEN'] = 'right';
      const fixed = await cli(['check', '--config', file]);
      expect(fixed.code, fixed.out).toBe(0);
      expect(fixed.out).toContain('ok     The http accounting system accepts the export (validate)');
    } finally {
      delete process.env['CHECK_ERP_TOKEN'];
    }
  });

  it('an ERP reached over plain http on the network is flagged, with the fix', async () => {
    const checks = await httpAdapter.check!(
      { type: 'http', url: 'http://erp.example.com/pleo', token: 't', timeoutMs: 1000 },
      {} as never,
    );
    expect(checks).toEqual([
      {
        ok: false,
        what: 'http://erp.example.com/pleo is reached over TLS',
        fix: 'Entries and the token would cross the network unencrypted: use an https:// URL for adapter.url.',
      },
    ]);
  });

  it("runs any registered adapter's own checks, and reports a check that crashes instead of crashing", async () => {
    let broken = false;
    const probe: AdapterDescriptor<{ type: 'probe-test' }> = {
      type: 'probe-test',
      summary: 'test-only',
      configSchema: z.object({ type: z.literal('probe-test') }).strict(),
      supportsScaleOut: false,
      create: () => Promise.resolve(createMemoryAdapter()),
      check: () =>
        broken
          ? Promise.reject(new Error('socket closed'))
          : Promise.resolve([
              { ok: true, what: 'The probe answers' },
              {
                ok: false,
                what: 'The probe has a fiscal year for 2026',
                fix: 'Open the 2026 fiscal year in Probe.',
              },
            ]),
    };
    const unregister = registerAdapter(probe);
    try {
      const file = configWith({ type: 'probe-test' });
      const result = await cli(['check', '--config', file]);
      expect(result.code).toBe(4);
      expect(result.out).toContain('ok     The probe answers');
      expect(result.out).toContain('FAILED The probe has a fiscal year for 2026');
      expect(result.out).toContain('→ Open the 2026 fiscal year in Probe.');
      expect(result.out).toMatch(/ACME .* FAILED: The probe has a fiscal year for 2026/);
      broken = true;
      const crashed = await cli(['check', '--config', file]);
      expect(crashed.code).toBe(4);
      expect(crashed.out).toContain("FAILED The probe-test adapter's checks ran");
      expect(crashed.out).toContain('→ They stopped with: socket closed');
    } finally {
      unregister();
    }
  });
});
