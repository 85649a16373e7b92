/**
 * Secrets at rest (issue 17): the store's key-value records (OAuth tokens, `whsec_` secrets)
 * encrypted with AES-256-GCM when a key is configured, against a real SQLite file and a real
 * PostgreSQL schema. What is on disk is read back through the unwrapped store (SQLite) or plain
 * SQL (PostgreSQL), never through the wrapper under test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors/index.js';
import {
  createPostgresStore,
  createSqliteStore,
  ENCRYPTED_VALUE_PREFIX,
  parseSecretsKey,
  withEncryptedValues,
  type Store,
} from '../../src/store/index.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const TOKENS = JSON.stringify({ accessToken: 'eyJ.secret-access', refreshToken: 'refresh-secret-123' });
const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const dir = mkdtempSync(join(tmpdir(), 'pleo-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DATABASE_URL = process.env['PLEO_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2, connectionTimeoutMillis: 5000 });
admin.on('error', () => {});
const schemas: string[] = [];
const opened: Store[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});
afterAll(async () => {
  await admin.end();
});

interface Backend {
  /** A fresh store plus a way to read what it holds on disk, bypassing any wrapper. */
  open(): Promise<{ raw: Store; onDisk: (key: string) => Promise<string | null> }>;
}

let n = 0;
const backends: [string, Backend][] = [
  [
    'sqlite',
    {
      async open() {
        const raw = createSqliteStore({ path: join(dir, `s${n++}.db`) });
        opened.push(raw);
        await raw.migrate();
        return { raw, onDisk: (key) => raw.getValue(key) };
      },
    },
  ],
  [
    'postgres',
    {
      async open() {
        const schema = `pleo_secrets_${process.pid}_${n++}`;
        schemas.push(schema);
        const raw = createPostgresStore({ connectionString: DATABASE_URL, schema, pool: { max: 2 } });
        opened.push(raw);
        await raw.migrate();
        return {
          raw,
          onDisk: async (key) => {
            const result = await admin.query<{ value: string }>(
              `SELECT value FROM "${schema}".kv WHERE key = $1`,
              [key],
            );
            return result.rows[0]?.value ?? null;
          },
        };
      },
    },
  ],
];

async function errorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a rejection');
}

describe.each(backends)('encrypted key-value records (%s)', (_name, backend) => {
  it('keeps tokens and webhook secrets encrypted on disk and reads them back', async () => {
    const { raw, onDisk } = await backend.open();
    const store = withEncryptedValues(raw, { key: KEY });
    await store.setValue('oauth:c1', TOKENS);
    await store.setValue('webhook-secret:c1', WHSEC);
    for (const [key, plain] of [
      ['oauth:c1', TOKENS],
      ['webhook-secret:c1', WHSEC],
    ] as const) {
      const stored = await onDisk(key);
      expect(stored?.startsWith(ENCRYPTED_VALUE_PREFIX)).toBe(true);
      expect(stored).not.toContain('secret');
      expect(stored).not.toContain(plain.slice(6, 20));
      expect(await store.getValue(key)).toBe(plain);
    }
    // A random nonce per write: the same value never gives the same ciphertext.
    const first = await onDisk('oauth:c1');
    await store.setValue('oauth:c1', TOKENS);
    expect(await onDisk('oauth:c1')).not.toBe(first);
    await store.setValue('oauth:c1', null);
    expect(await onDisk('oauth:c1')).toBeNull();
    expect(await store.getValue('oauth:c1')).toBeNull();
  });

  it('migrates a value written in clear the first time it is read with a key configured', async () => {
    const { raw, onDisk } = await backend.open();
    await raw.setValue('oauth:c1', TOKENS); // written before the key was configured
    const migrated: string[] = [];
    const store = withEncryptedValues(raw, { key: KEY, onMigrated: (k) => migrated.push(k) });
    expect(await store.getValue('oauth:c1')).toBe(TOKENS);
    expect((await onDisk('oauth:c1'))?.startsWith(ENCRYPTED_VALUE_PREFIX)).toBe(true);
    expect(migrated).toEqual(['oauth:c1']);
    expect(await store.getValue('oauth:c1')).toBe(TOKENS);
    expect(migrated).toEqual(['oauth:c1']); // once
  });

  it('never overwrites a concurrent update with the older value while migrating', async () => {
    const { raw, onDisk } = await backend.open();
    await raw.setValue('oauth:c1', 'old-tokens');
    // Another process rotates the tokens between our read and our re-write.
    let raced = false;
    const racing = new Proxy(raw, {
      get(target, property) {
        if (property === 'getValue') {
          return async (key: string) => {
            const value = await target.getValue(key);
            if (!raced) {
              raced = true;
              await target.setValue(key, 'new-tokens');
            }
            return value;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const store = withEncryptedValues(racing, { key: KEY });
    expect(await store.getValue('oauth:c1')).toBe('old-tokens');
    expect(await onDisk('oauth:c1')).toBe('new-tokens');
    expect(await store.getValue('oauth:c1')).toBe('new-tokens'); // and now it migrates
    expect((await onDisk('oauth:c1'))?.startsWith(ENCRYPTED_VALUE_PREFIX)).toBe(true);
  });

  it('refuses an encrypted value when no key is configured, saying what to configure', async () => {
    const { raw } = await backend.open();
    await withEncryptedValues(raw, { key: KEY }).setValue('oauth:c1', TOKENS);
    const error = await errorOf(withEncryptedValues(raw, {}).getValue('oauth:c1'));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/oauth:c1 is encrypted, but no secrets key is configured/);
    expect(error.message).toMatch(/secrets\.keyFile or secrets\.keyEnv/);
    expect(error.message).not.toContain('enc:v1:');
  });

  it('refuses a value encrypted with another key, or moved under another record name', async () => {
    const { raw, onDisk } = await backend.open();
    const store = withEncryptedValues(raw, { key: KEY });
    await store.setValue('oauth:c1', TOKENS);
    const wrongKey = await errorOf(withEncryptedValues(raw, { key: OTHER_KEY }).getValue('oauth:c1'));
    expect(wrongKey.code).toBe('INVALID_CONFIG');
    expect(wrongKey.message).toMatch(/cannot be decrypted with the configured secrets key/);
    // One company's ciphertext copied under another company's name does not decrypt.
    await raw.setValue('oauth:c2', await onDisk('oauth:c1'));
    expect((await errorOf(store.getValue('oauth:c2'))).code).toBe('INVALID_CONFIG');
  });

  it('compares and sets by plain value, encrypted either side', async () => {
    const { raw, onDisk } = await backend.open();
    const store = withEncryptedValues(raw, { key: KEY });
    await store.setValue('k', 'a');
    expect(await store.replaceValue('k', 'x', 'b')).toBe(false);
    expect(await store.replaceValue('k', 'a', 'b')).toBe(true);
    expect(await store.getValue('k')).toBe('b');
    expect((await onDisk('k'))?.startsWith(ENCRYPTED_VALUE_PREFIX)).toBe(true);
  });

  it('leaves the other store methods alone', async () => {
    const { raw } = await backend.open();
    const store = withEncryptedValues(raw, { key: KEY });
    expect(await store.jobStats()).toEqual(await raw.jobStats());
    expect(await store.rememberWebhook('msg_1', '2026-01-01T00:00:00Z')).toBe(true);
    expect(await raw.rememberWebhook('msg_1', '2026-01-01T00:00:00Z')).toBe(false);
  });
});

describe('parseSecretsKey', () => {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
  it.each([
    ['hex', bytes.toString('hex')],
    ['upper-case hex', bytes.toString('hex').toUpperCase()],
    ['base64', bytes.toString('base64')],
    ['base64 with a trailing newline', `${bytes.toString('base64')}\n`],
    ['base64url without padding', bytes.toString('base64url')],
  ])('accepts %s', (_name, text) => {
    expect(parseSecretsKey(text, 'secrets.keyEnv')).toEqual(bytes);
  });

  it.each([
    ['too short', Buffer.alloc(16, 1).toString('base64')],
    ['too long', Buffer.alloc(48, 1).toString('hex')],
    ['a passphrase', 'correct horse battery staple of a key'],
    ['empty', ''],
  ])('refuses %s with a clear error that does not repeat the key', (_name, text) => {
    let caught: unknown;
    try {
      parseSecretsKey(text, 'secrets.keyFile (/run/key)');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/^secrets\.keyFile \(\/run\/key\): expected a 32-byte key/);
    if (text.length > 0) expect(error.message).not.toContain(text);
  });
});
