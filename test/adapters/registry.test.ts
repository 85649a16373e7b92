import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  adapterConfigSchema,
  adapterFieldKinds,
  adapterKeyValue,
  adapterTypes,
  hledgerAdapter,
  httpAdapter,
  pathField,
  registerAdapter,
  requireAdapter,
  secretField,
  type AdapterDeps,
  type AdapterDescriptor,
} from '../../src/adapters/index.js';
import { createMemoryAdapter } from '../../src/testing/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { createAdapter, openEmbeddedStore } from '../../src/runtime/index.js';
import { cli } from '../cli/helpers.js';

const COMPANY = '3f1e7f2c-1d7a-4c3e-9a1b-2b3c4d5e6f70';
const root = mkdtempSync(join(tmpdir(), 'pleo-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A test-only adapter: a secret, a path, and the deps it was created with kept for inspection. */
const ledgerSchema = z
  .object({
    type: z.literal('ledger-test'),
    folder: pathField(),
    ...secretField('password'),
    label: z.string().default('books'),
  })
  .strict();
type LedgerConfig = z.output<typeof ledgerSchema>;
const created: { config: LedgerConfig; deps: AdapterDeps }[] = [];
const ledgerTest: AdapterDescriptor<LedgerConfig> = {
  type: 'ledger-test',
  summary: 'a test-only adapter',
  configSchema: ledgerSchema,
  supportsScaleOut: true,
  create(config, deps) {
    created.push({ config, deps });
    return Promise.resolve(createMemoryAdapter());
  },
  demo: () => Promise.reject(new Error('not used')),
};

const company = (adapter: unknown) => ({ id: COMPANY, apiKey: 'k', adapter });

describe('adapter registry', () => {
  let unregister: (() => void) | undefined;
  afterEach(() => {
    unregister?.();
    unregister = undefined;
    created.length = 0;
  });

  it('lists the built-in adapters, hledger first, each with its descriptor', () => {
    expect(adapterTypes()).toEqual(['hledger', 'http', 'tryton', 'xero', 'datev']);
    expect(requireAdapter('hledger')).toBe(hledgerAdapter);
    expect(requireAdapter('http')).toBe(httpAdapter);
    expect([hledgerAdapter.supportsScaleOut, httpAdapter.supportsScaleOut]).toEqual([false, true]);
    expect(() => requireAdapter('sap')).toThrow(ConfigError);
    expect(() => requireAdapter('sap')).toThrow(
      'Unknown adapter type "sap": expected "hledger", "http", "tryton", "xero" or "datev"',
    );
    expect(adapterFieldKinds('http')).toEqual({ secrets: ['token'], paths: [] });
    expect(adapterFieldKinds('hledger')).toEqual({ secrets: [], paths: ['journal'] });
  });

  it('an unknown adapter type is a clear configuration error listing the registered types', () => {
    const error = (() => {
      try {
        loadConfig({ env: {}, raw: { companies: [company({ type: 'sap', url: 'https://x' })] } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      'companies[0].adapter.type: got "sap": expected an adapter with type "hledger", "http", "tryton", "xero" or "datev"',
    );
    // A known type validates its own fields, by key.
    expect(() =>
      loadConfig({ env: {}, raw: { companies: [company({ type: 'http', url: 'ftp://x', surprise: 1 })] } }),
    ).toThrow(
      /companies\[0\]\.adapter\.url: got "ftp:\/\/x": expected an http\(s\) URL[\s\S]*adapter\.surprise: unknown key/,
    );
  });

  it('resolves the secrets and paths an adapter schema marks: inline, Env or File; relative to the file', () => {
    const dir = join(root, 'secrets');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token.txt'), 's3cret-from-file\n');
    const file = join(dir, 'pleo-export.yaml');
    writeFileSync(
      file,
      [
        'companies:',
        `  - id: ${COMPANY}`,
        '    apiKey: k',
        '    adapter: { type: http, url: "https://erp.example.com", tokenFile: token.txt }',
        `  - id: 4f1e7f2c-1d7a-4c3e-9a1b-2b3c4d5e6f70`,
        '    apiKey: k',
        '    adapter: { type: hledger, journal: books/pleo.journal }',
      ].join('\n'),
    );
    const config = loadConfig({ path: file, env: {} });
    expect(config.companies[0]?.adapter).toEqual({
      type: 'http',
      url: 'https://erp.example.com',
      token: 's3cret-from-file',
      timeoutMs: 30_000,
    });
    expect(config.companies[1]?.adapter).toEqual({
      type: 'hledger',
      journal: join(dir, 'books/pleo.journal'),
    });
    const fromEnv = loadConfig({
      env: { ERP_TOKEN: 'env-token' },
      raw: { companies: [company({ type: 'http', url: 'https://erp', tokenEnv: 'ERP_TOKEN' })] },
    });
    expect(fromEnv.companies[0]?.adapter['token']).toBe('env-token');
    expect(fromEnv.companies[0]?.adapter).not.toHaveProperty('tokenEnv');
    expect(() =>
      loadConfig({
        env: {},
        raw: { companies: [company({ type: 'http', url: 'https://erp', tokenEnv: 'NOPE' })] },
      }),
    ).toThrow('companies[0].adapter.tokenEnv: the environment variable NOPE is not set');
    // Without any adapter block: the default hledger journal in the data directory.
    const defaulted = loadConfig({
      env: {},
      raw: { dataDir: dir, companies: [{ id: COMPANY, apiKey: 'k' }] },
    });
    expect(defaulted.companies[0]?.adapter).toEqual({
      type: 'hledger',
      journal: join(dir, `${COMPANY}.journal`),
    });
  });

  it('a registered test-only adapter joins the union, its fields are resolved and masked, the CLI offers it', async () => {
    const before = await cli(['run', '--once', '--adapter', 'ledger-test']);
    expect(before.err).toMatch(/Allowed choices are hledger, http, tryton, xero, datev\./);
    unregister = registerAdapter(ledgerTest);
    expect(adapterTypes()).toEqual(['hledger', 'http', 'tryton', 'xero', 'datev', 'ledger-test']);
    const config = loadConfig({
      env: { LEDGER_PASSWORD: 'pw-from-env' },
      raw: {
        companies: [company({ type: 'ledger-test', folder: 'ledger', passwordEnv: 'LEDGER_PASSWORD' })],
      },
    });
    expect(config.companies[0]?.adapter).toEqual({
      type: 'ledger-test',
      folder: join(process.cwd(), 'ledger'),
      password: 'pw-from-env',
      label: 'books',
    });
    const inline = loadConfig({
      env: {},
      raw: { companies: [company({ type: 'ledger-test', folder: '/x', password: 'very-secret-password' })] },
    });
    expect(JSON.stringify(inline.printable)).not.toContain('very-secret-password');
    // The union's error lists it; the CLI's --adapter and demo --target choices include it.
    expect(() => loadConfig({ env: {}, raw: { companies: [company({ type: 'sap' })] } })).toThrow(
      'expected an adapter with type "hledger", "http", "tryton", "xero", "datev" or "ledger-test"',
    );
    expect(adapterConfigSchema().safeParse({ type: 'ledger-test', folder: 'f' }).success).toBe(true);
    const after = await cli(['run', '--once', '--adapter', 'nope']);
    expect(after.err).toMatch(/Allowed choices are hledger, http, tryton, xero, datev, ledger-test\./);
    expect((await cli(['demo', '--help'])).out.replace(/\s+/g, ' ')).toMatch(
      /choices: "hledger", "http", "tryton", "ledger-test"/,
    );
    unregister();
    unregister = undefined;
    expect(adapterTypes()).toEqual(['hledger', 'http', 'tryton', 'xero', 'datev']);
    expect(() =>
      loadConfig({ env: {}, raw: { companies: [company({ type: 'ledger-test', folder: 'f' })] } }),
    ).toThrow('expected an adapter with type "hledger", "http", "tryton", "xero" or "datev"');
  });

  it('the runtime creates adapters through the registry, with a key-value namespace per adapter and company', async () => {
    unregister = registerAdapter(ledgerTest);
    const dataDir = join(root, 'runtime');
    const config = loadConfig({
      env: {},
      raw: { dataDir, companies: [company({ type: 'ledger-test', folder: '/books', password: 'pw' })] },
    });
    const store = openEmbeddedStore(dataDir);
    await store.migrate();
    try {
      const adapter = await createAdapter(config, config.companies[0]!, store);
      expect(adapter.name).toBe('memory');
      const deps = created[0]!.deps;
      expect(created[0]!.config).toMatchObject({ folder: '/books', password: 'pw' });
      expect([deps.companyId, deps.dataDir]).toEqual([COMPANY, dataDir]);
      await deps.kv.setValue('oauth-tokens', '{"refresh":"r1"}');
      expect(await deps.kv.getValue('oauth-tokens')).toBe('{"refresh":"r1"}');
      expect(await store.getValue(`adapter:ledger-test:${COMPANY}:oauth-tokens`)).toBe('{"refresh":"r1"}');
      // Another adapter type or company never sees it.
      expect(await adapterKeyValue(store, 'http', COMPANY).getValue('oauth-tokens')).toBeNull();
      expect(await adapterKeyValue(store, 'ledger-test', 'other').getValue('oauth-tokens')).toBeNull();
      await deps.kv.setValue('oauth-tokens', null);
      expect(await store.getValue(`adapter:ledger-test:${COMPANY}:oauth-tokens`)).toBeNull();
      await expect(deps.kv.getValue('')).rejects.toThrow(/must not be empty/);
    } finally {
      await store.close();
    }
  });

  it('refuses a second adapter with a taken type, and a schema the union cannot discriminate', () => {
    expect(() => registerAdapter(hledgerAdapter)).toThrow(
      'an adapter with type "hledger" is already registered',
    );
    expect(() => registerAdapter({ ...ledgerTest, type: 'other', configSchema: ledgerSchema })).toThrow(
      'adapter "other": configSchema must be a z.object with type: z.literal("other")',
    );
    expect(() => registerAdapter({ ...ledgerTest, type: 'Bad Type' })).toThrow(/lower-case letters/);
    expect(adapterTypes()).toEqual(['hledger', 'http', 'tryton', 'xero', 'datev']);
  });
});
