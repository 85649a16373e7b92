/**
 * What pleo-export keeps on this machine is private to its user (issue 17: `state.db` with the
 * OAuth tokens was 0644 in a 0755 folder). Every case runs under a permissive and a strict umask:
 * the modes must not depend on it.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { openConfiguredStore, openEmbeddedStore, saveTokens } from '../../src/runtime/index.js';
import { createSqliteStore, ENCRYPTED_VALUE_PREFIX } from '../../src/store/index.js';

const root = mkdtempSync(join(tmpdir(), 'pleo-private-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `d${n++}`);
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

interface Warning {
  obj: object;
  msg: string | undefined;
}
function recorder(): { warn(obj: object, msg?: string): void; info(): void; warnings: Warning[] } {
  const warnings: Warning[] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }), info: () => {} };
}

const COMPANY = '00000000-0000-4000-8000-000000000001';

describe.each([
  ['umask 000', 0o000],
  ['umask 077', 0o077],
])('private files (%s)', (_name, umask) => {
  let previous: number;
  beforeEach(() => {
    previous = process.umask(umask);
  });
  afterEach(() => {
    process.umask(previous);
  });

  it('creates the data folder 0700 and the state database (with its WAL files) 0600', async () => {
    const dir = fresh();
    const store = openEmbeddedStore(dir);
    await store.migrate();
    await store.setValue('oauth:x', 'tokens');
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'state.db'))).toBe('600');
    for (const suffix of ['-wal', '-shm']) {
      // SQLite creates them with the database's mode: never more open than the database.
      const path = join(dir, `state.db${suffix}`);
      expect(existsSync(path)).toBe(true);
      expect(mode(path)).toBe('600');
    }
    await store.close();
  });

  it('tightens a looser folder and database on open, with a warning naming them', async () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const old = createSqliteStore({ path: join(dir, 'state.db') });
    await old.migrate();
    await old.close();
    chmodSync(join(dir, 'state.db'), 0o644);
    const logger = recorder();
    const store = openEmbeddedStore(dir, { logger });
    await store.migrate();
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'state.db'))).toBe('600');
    expect(logger.warnings.map((w) => w.obj)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: dir, mode: '0755', wanted: '0700' }),
        expect.objectContaining({ path: join(dir, 'state.db'), mode: '0644', wanted: '0600' }),
      ]),
    );
    await store.close();
    // Already private: no warning the next time.
    const quiet = recorder();
    await openEmbeddedStore(dir, { logger: quiet }).close();
    expect(quiet.warnings).toEqual([]);
  });

  it('accepts a data folder configured through a symbolic link, and keeps its target private', async () => {
    const real = fresh();
    mkdirSync(real, { mode: 0o755 });
    chmodSync(real, 0o755);
    const linked = fresh();
    symlinkSync(real, linked);
    const store = openEmbeddedStore(linked);
    await store.migrate();
    await store.close();
    expect(mode(real)).toBe('700');
    expect(mode(join(real, 'state.db'))).toBe('600');
  });

  it('refuses a symbolic link in place of the state database', () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(root, `elsewhere-${n}`), '');
    symlinkSync(join(root, `elsewhere-${n}`), join(dir, 'state.db'));
    expect(() => openEmbeddedStore(dir)).toThrow(ConfigError);
  });

  it('keeps secret files private and encrypts the stored tokens with the configured key', async () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true });
    const keyFile = join(dir, '..', `key-${n}`);
    writeFileSync(keyFile, `${Buffer.alloc(32, 3).toString('base64')}\n`);
    chmodSync(keyFile, 0o644);
    const config = loadConfig({
      raw: {
        dataDir: dir,
        secrets: { keyFile },
        companies: [{ id: COMPANY, apiKey: 'k-123456789' }],
      },
      env: {},
    });
    const logger = recorder();
    const store = openConfiguredStore(config, { logger });
    await store.migrate();
    expect(mode(keyFile)).toBe('600');
    expect(logger.warnings.map((w) => w.obj)).toContainEqual(
      expect.objectContaining({ path: keyFile, mode: '0644' }),
    );
    await saveTokens(store, COMPANY, { accessToken: 'access-secret', refreshToken: 'refresh-secret' });
    await store.close();
    const raw = createSqliteStore({ path: join(dir, 'state.db') });
    const stored = await raw.getValue(`oauth:${COMPANY}`);
    await raw.close();
    expect(stored?.startsWith(ENCRYPTED_VALUE_PREFIX)).toBe(true);
    expect(stored).not.toContain('secret');
  });
});
