/**
 * kill -9 around the DATEV batch writes: a child process books entries through the built adapter
 * (dist/) and is SIGKILLed in the middle of an entry's write, after its sync, and between the
 * manifest update and the rename that seals a file; then at random points, several times in a
 * row. After every crash the next run resumes the way the engine does (findExisting first, record
 * what is missing). In the end every entry is in exactly one file, exactly once, every file passes
 * the EXTF validator, no `.part` file is left, and the manifest lists what the files hold.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { AccountingEntry } from '../../src/accounting/index.js';
import { MANIFEST_NAME, type Manifest } from '../../src/adapters/datev/index.js';
import { contractEntry } from './contract.js';
import { entryCounts, readBatches } from './datev-files.js';

const CHILD = fileURLToPath(new URL('./fixtures/datev-crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/adapters/datev/index.js', import.meta.url));

interface Run {
  signal: NodeJS.Signals | null;
  booked: Map<string, string>;
  found: Map<string, string>;
}

async function run(dir: string, entries: AccountingEntry[], point: string, at: number): Promise<Run> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` before the crash tests`);
  const entriesFile = join(dir, '..', `entries-${String(Math.random()).slice(2)}.json`);
  await writeFile(entriesFile, JSON.stringify(entries));
  const result = spawnSync(process.execPath, [CHILD], {
    env: {
      ...process.env,
      OUTPUT_DIR: dir,
      ENTRIES_FILE: entriesFile,
      CRASH_POINT: point,
      CRASH_AT: String(at),
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.signal !== 'SIGKILL' && result.status !== 0)
    throw new Error(`child failed (${String(result.status)}): ${result.stderr}`);
  const booked = new Map<string, string>();
  const found = new Map<string, string>();
  for (const line of result.stdout.split('\n').filter(Boolean)) {
    const [what, id, externalId] = line.split(' ');
    (what === 'booked' ? booked : found).set(id!, externalId!);
  }
  return { signal: result.signal, booked, found };
}

/** Entries of two jobs (so that a file is sealed mid-run), some with several rows. */
async function setup(n: number): Promise<{ dir: string; entries: AccountingEntry[] }> {
  const root = await mkdtemp(join(tmpdir(), 'pleo-datev-crash-'));
  const entries = Array.from({ length: n }, (_, i) =>
    contractEntry({
      jobId: i < n / 2 ? 'aaaaaaaa-0000-4000-8000-000000000001' : 'bbbbbbbb-0000-4000-8000-000000000002',
      description: `Entry ${String(i)}; "quoted"\nsecond line`,
    }),
  );
  return { dir: join(root, 'datev'), entries };
}

async function assertExactlyOnce(
  dir: string,
  entries: AccountingEntry[],
  acknowledged: Map<string, string>,
): Promise<void> {
  const files = await readdir(dir);
  expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
  const batches = await readBatches(dir); // validator on every file
  const counts = entryCounts(batches);
  for (const e of entries) expect(counts.get(e.accountingEntryId), e.accountingEntryId).toBe(1);
  expect(counts.size).toBe(entries.length);
  // Every row of an entry is complete (n/N for n = 1..N) and in one file.
  for (const b of batches) {
    const ids = new Set(b.rows.map((r) => r.entryId));
    for (const id of ids) {
      const positions = b.rows.filter((r) => r.entryId === id).map((r) => r.position);
      const total = Number(positions[0]?.split('/')[1]);
      expect(positions).toEqual(Array.from({ length: total }, (_, i) => `${String(i + 1)}/${String(total)}`));
    }
  }
  // The manifest lists what the files hold, each entry under one file.
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
  expect(manifest.files.every((f) => f.status === 'final')).toBe(true);
  const listed = manifest.files.flatMap((f) => f.entries.map(([id]) => `${f.name} ${id}`)).sort();
  const inFiles = batches
    .flatMap((b) => b.rows.filter((r) => r.position.startsWith('1/')).map((r) => `${b.file} ${r.entryId}`))
    .sort();
  expect(listed).toEqual(inFiles);
  // What a crashed run acknowledged is there, under the same external id.
  const final = await run(dir, entries, 'none', 0);
  expect(final.booked.size).toBe(0);
  for (const [id, externalId] of acknowledged) expect(final.found.get(id)).toBe(externalId);
}

describe('DATEV adapter crash safety (child process SIGKILLed)', () => {
  for (const [point, at] of [
    ['midWrite', 3],
    ['afterSync', 3],
    ['beforeSealRename', 1],
  ] as const) {
    it(`kill -9 at ${point} #${String(at)}: resume books every entry exactly once`, async () => {
      const { dir, entries } = await setup(8);
      const crashed = await run(dir, entries, point, at);
      expect(crashed.signal).toBe('SIGKILL');
      const resumed = await run(dir, entries, 'none', 0);
      expect(resumed.signal).toBeNull();
      if (point === 'midWrite') {
        // The torn entry was cut off and written again.
        expect(crashed.booked.size).toBe(2);
        expect(resumed.booked.has(entries[2]!.accountingEntryId)).toBe(true);
      } else if (point === 'afterSync') {
        // Synced but never acknowledged: found, not written again.
        expect(resumed.found.has(entries[2]!.accountingEntryId)).toBe(true);
      } else {
        // Job 1's file was listed final but not yet renamed (job 2's first entry had arrived):
        // sealed on open, nothing of job 1 written again, job 2 written once.
        expect(crashed.booked.size).toBe(4);
        expect([...resumed.found.keys()]).toEqual(entries.slice(0, 4).map((e) => e.accountingEntryId));
        expect([...resumed.booked.keys()]).toEqual(entries.slice(4).map((e) => e.accountingEntryId));
      }
      await assertExactlyOnce(dir, entries, new Map([...crashed.booked, ...resumed.booked]));
    });
  }

  it('kill -9 at random points, five times in a row, then a clean run: each entry exactly once', async () => {
    const { dir, entries } = await setup(24);
    let seed = 20261203;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const acknowledged = new Map<string, string>();
    const points = ['midWrite', 'afterSync', 'beforeSealRename'] as const;
    for (let round = 0; round < 5; round++) {
      const point = points[random(points.length)]!;
      const r = await run(dir, entries, point, 1 + random(point === 'beforeSealRename' ? 2 : 6));
      for (const [id, externalId] of r.booked) acknowledged.set(id, externalId);
    }
    const last = await run(dir, entries, 'none', 0);
    for (const [id, externalId] of last.booked) acknowledged.set(id, externalId);
    await assertExactlyOnce(dir, entries, acknowledged);
  });
});
