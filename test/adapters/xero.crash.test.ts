/**
 * Crash test around Xero writes: a child process books entries (each with a receipt) through the
 * built adapter (dist/) against the stateful fake, and is SIGKILLed at random moments: right after
 * Xero applied a create or an upload and before the answer reached it. The "engine" then resumes
 * as the exactly-once protocol says (findExisting first, record what is missing) with the same
 * store, and Xero must hold exactly one document per entry with exactly one copy of its receipt.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import type { StoredAttachment } from '../../src/adapters/index.js';
import { contractEntry } from './contract.js';
import { XeroFake } from './xero/fake.js';
import { memoryKv, xeroAdapter, xeroConfig } from './xero/setup.js';

const CHILD = fileURLToPath(new URL('./fixtures/xero-crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/adapters/xero/index.js', import.meta.url));
const fake = new XeroFake();

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});

interface Run {
  signal: NodeJS.Signals | null;
  booked: string[];
}

/** Runs the child; the fake kills it after the `killAt`-th applied write (1-based). */
async function runChild(env: Record<string, string>, killAt: number): Promise<Run> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before the crash tests`);
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let writes = 0;
  fake.afterApply = () => {
    writes++;
    if (writes === killAt) child.kill('SIGKILL');
  };
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  fake.afterApply = undefined;
  if (signal !== 'SIGKILL' && code !== 0) throw new Error(`child failed (${code}): ${stderr}`);
  return {
    signal,
    booked: stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[1]!),
  };
}

async function setup(n: number) {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-xero-crash-'));
  const items: { entry: AccountingEntry; receipt: StoredAttachment }[] = [];
  for (let i = 0; i < n; i++) {
    const entry = contractEntry({ files: [{ index: 0, contentType: 'application/pdf', size: 20 }] });
    const path = join(dir, `${entry.accountingEntryId}-0.pdf`);
    await writeFile(path, `%PDF-1.4 receipt ${i}\n`);
    const receipt = {
      key: `${entry.accountingEntryId}-0`,
      path,
      name: `r${i}.pdf`,
      contentType: 'application/pdf',
      size: 20,
    };
    items.push({ entry, receipt });
  }
  const entriesFile = join(dir, 'entries.json');
  await writeFile(entriesFile, JSON.stringify(items));
  return { dir, items, entriesFile, kvFile: join(dir, 'kv.json') };
}

describe('xero adapter crash safety (child SIGKILLed after Xero applied a write)', () => {
  // Seeded so a failure can be replayed: the kill points cover creates and uploads alike.
  const seed = Number(process.env['XERO_CRASH_SEED'] ?? Date.now() % 100_000);
  let state = seed;
  const random = (n: number): number => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (state % n);
  };
  const points = [1, 2, 3, 4, random(10), random(10), random(10)];

  for (const [round, killAt] of points.entries()) {
    it(`kill after applied write #${killAt} (round ${round}, seed ${seed}): resume books every entry once with one receipt`, async () => {
      fake.reset();
      const { items, entriesFile, kvFile } = await setup(5);
      const cfgSeed = fake.issueSeed();
      const config = xeroConfig(fake, fake.url, {}, cfgSeed);
      const run = await runChild(
        { CONFIG: JSON.stringify(config), KV_FILE: kvFile, ENTRIES_FILE: entriesFile },
        killAt,
      );
      expect(run.signal).toBe('SIGKILL');
      // Resume in this process with the store the child left behind.
      const kv = memoryKv();
      for (const [k, v] of Object.entries(
        JSON.parse(existsSync(kvFile) ? readFileSync(kvFile, 'utf8') : '{}') as Record<string, string>,
      )) {
        kv.map.set(k, v);
      }
      const { adapter } = xeroAdapter({ fake, baseUrl: fake.url, kv, seed: cfgSeed });
      const found: string[] = [];
      for (const { entry, receipt } of items) {
        const key = entry.accountingEntryId;
        if (await adapter.findExisting(key, { companyId: entry.companyId })) {
          found.push(key);
          continue;
        }
        const outcome = await adapter.record(entry, {
          companyId: entry.companyId,
          idempotencyKey: key,
          attachments: [receipt],
        });
        expect(outcome.status).toBe('booked');
      }
      // What the child acknowledged is found again, not booked again.
      for (const id of run.booked) expect(found).toContain(id);
      for (const { entry } of items) {
        const docs = fake.documentsFor(entry.accountingEntryId);
        expect(docs).toHaveLength(1);
        const files = fake.attachmentsOf(String(docs[0]?.['BankTransactionID']));
        expect(files.map((f) => f.FileName)).toEqual([`${entry.accountingEntryId}-0.pdf`]);
      }
    });
  }
});
