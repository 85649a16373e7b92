/**
 * The DATEV descriptor: its configuration block (defaults, precise messages) and the checks
 * `pleo-export check` runs on the output directory.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { datevDescriptor, type DatevConfig } from '../../src/adapters/datev/index.js';
import type { AdapterDeps } from '../../src/adapters/descriptor.js';
import { contractEntry } from './contract.js';

const COMPANY = '11111111-1111-4111-8111-111111111111';

function deps(dataDir: string): AdapterDeps {
  const quiet = () => undefined;
  return {
    companyId: COMPANY,
    dataDir,
    kv: { getValue: () => Promise.resolve(null), setValue: () => Promise.resolve() },
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    fetch,
    now: () => Date.UTC(2026, 2, 10),
  };
}

const parse = (input: unknown) => datevDescriptor.configSchema.safeParse(input);
const messages = (input: unknown): string[] => {
  const r = parse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('DATEV configuration', () => {
  it('defaults: job batches, 4-digit accounts, fiscal year from January, receipts linked by path', () => {
    expect(parse({ type: 'datev', consultantNumber: 1001, clientNumber: 1 }).data).toEqual({
      type: 'datev',
      consultantNumber: 1001,
      clientNumber: 1,
      fiscalYearStart: '01-01',
      accountLength: 4,
      chart: 'none',
      batchBy: 'job',
      beleglink: '{file}',
    });
    expect(datevDescriptor.supportsScaleOut).toBe(false);
  });

  it('precise messages for what the accountant must provide', () => {
    expect(messages({ type: 'datev', consultantNumber: 999, clientNumber: 100000 })).toEqual([
      'consultantNumber: the Beraternummer is 1001-9999999',
      'clientNumber: the Mandantennummer is 1-99999',
    ]);
    expect(
      messages({ type: 'datev', consultantNumber: 1001, clientNumber: 1, fiscalYearStart: '07-15' }),
    ).toEqual(['fiscalYearStart: expected the first day of a month as MM-01, e.g. "01-01" or "07-01"']);
    expect(
      messages({ type: 'datev', consultantNumber: 1001, clientNumber: 1, beleglink: 'https://dms/{id}' }),
    ).toEqual(['beleglink: unknown placeholder: use {file}, {name} or {entryId}']);
    expect(messages({ type: 'datev', consultantNumber: 1001, clientNumber: 1, accountLength: 9 })[0]).toMatch(
      /^accountLength: /,
    );
    expect(messages({ type: 'datev', consultantNumber: 1001, clientNumber: 1, journal: 'x' })[0]).toMatch(
      /journal/,
    );
    expect(
      messages({ type: 'datev', consultantNumber: 1001, clientNumber: 1, dictationInitials: 'abc' }),
    ).toEqual(['dictationInitials: expected two capital letters']);
  });
});

describe('DATEV check', () => {
  const config = (extra: Partial<DatevConfig> = {}): DatevConfig =>
    datevDescriptor.configSchema.parse({ type: 'datev', consultantNumber: 1001, clientNumber: 1, ...extra });

  it('an empty directory: writable, free, no files yet', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pleo-datev-check-'));
    const checks = await datevDescriptor.check!(config(), deps(dataDir));
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(checks.map((c) => c.what)).toContain(
      `DATEV output directory ${join(dataDir, 'datev', COMPANY)} is writable`,
    );
  });

  it('files written by the adapter pass; a file edited by hand or made for another Mandant is named with what to do', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pleo-datev-check-'));
    const adapter = await datevDescriptor.create(config(), deps(dataDir));
    const e = contractEntry();
    await adapter.record(e, { companyId: COMPANY, idempotencyKey: e.accountingEntryId, attachments: [] });
    await adapter.close();
    expect((await datevDescriptor.check!(config(), deps(dataDir))).filter((c) => !c.ok)).toEqual([]);
    const other = await datevDescriptor.check!(config({ clientNumber: 2 }), deps(dataDir));
    expect(other.filter((c) => !c.ok).map((c) => c.fix)).toEqual([
      expect.stringContaining('Check adapter.consultantNumber and adapter.clientNumber with the accountant'),
    ]);
    const dir = join(dataDir, 'datev', COMPANY);
    const [file] = (await readdir(dir)).filter((f) => f.startsWith('EXTF_'));
    await writeFile(join(dir, file!), 'EXTF;edited\n', { flag: 'a' });
    const edited = (await datevDescriptor.check!(config(), deps(dataDir))).filter((c) => !c.ok);
    expect(edited).toHaveLength(1);
    expect(edited[0]?.fix).toContain('Do not import these files');
    expect(edited[0]?.fix).toContain('line 5');
  });

  it('a directory in use by another live process is reported', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pleo-datev-check-'));
    const adapter = await datevDescriptor.create(config({ outputDir: 'books' }), deps(dataDir));
    await adapter.validate({ companyId: COMPANY, vendorBasedBookkeeping: false });
    const checks = await datevDescriptor.check!(config({ outputDir: 'books' }), deps(dataDir));
    expect(checks.find((c) => !c.ok)?.fix).toContain(`Process ${String(process.pid)} holds`);
    await adapter.close();
  });

  it('an entry listed in two files (a manifest edited by hand) is reported', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pleo-datev-check-'));
    const dir = join(dataDir, 'datev', COMPANY);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    const file = (name: string) => ({
      name,
      status: 'final',
      group: '',
      jobId: '',
      header: {},
      entries: [['e-1', 3]],
    });
    await writeFile(
      join(dir, 'pleo-datev-manifest.json'),
      JSON.stringify({
        version: 1,
        nextNumber: 3,
        files: [file('EXTF_Pleo_000001_a.csv'), file('EXTF_Pleo_000002_b.csv')],
      }),
    );
    const failed = (await datevDescriptor.check!(config(), deps(dataDir))).filter((c) => !c.ok);
    expect(failed.map((c) => c.fix)).toEqual([
      'These entries are listed in two files; make sure the accountant imported each only once: e-1 (EXTF_Pleo_000001_a.csv, EXTF_Pleo_000002_b.csv)',
    ]);
  });
});
