/**
 * Two companies on one hledger journal is refused at load (issue 17): by the same path, a relative
 * path that resolves to it, a symbolic link to it or to its folder, and a hard link.
 */
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const root = mkdtempSync(join(tmpdir(), 'pleo-shared-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function load(first: string, second: string): () => unknown {
  return () =>
    loadConfig({
      env: {},
      raw: {
        dataDir: join(root, 'data'),
        companies: [
          { id: A, apiKey: 'k1', adapter: { type: 'hledger', journal: first } },
          { id: B, apiKey: 'k2', adapter: { type: 'hledger', journal: second } },
        ],
      },
    });
}

function refused(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('the configuration was accepted');
}

describe('config: one hledger journal per company', () => {
  it('refuses the same path, with the key, both paths and what to do', () => {
    const path = join(root, 'books', 'pleo.journal');
    const error = refused(load(path, path));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain('companies[1].adapter.journal');
    expect(error.message).toContain('companies[0]');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/Give each company its own journal file/);
  });

  it('refuses a path relative to the configuration file and a path with .. that name the same file (the file need not exist)', () => {
    const books = join(root, 'rel');
    mkdirSync(books, { recursive: true });
    const file = join(root, 'relative.yaml');
    writeFileSync(
      file,
      [
        'companies:',
        `  - { id: ${A}, apiKey: k1, adapter: { type: hledger, journal: ${join(books, 'x.journal')} } }`,
        `  - { id: ${B}, apiKey: k2, adapter: { type: hledger, journal: rel/../rel/./x.journal } }`,
      ].join('\n'),
    );
    const error = refused(() => loadConfig({ path: file, env: {} }));
    expect(error.message).toContain('companies[1].adapter.journal');
  });

  it('refuses a symbolic link to the journal and a path through a linked folder', () => {
    const real = join(root, 'real');
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'pleo.journal'), '');
    symlinkSync(join(real, 'pleo.journal'), join(root, 'link.journal'));
    symlinkSync(real, join(root, 'linked-dir'));
    refused(load(join(real, 'pleo.journal'), join(root, 'link.journal')));
    refused(load(join(real, 'pleo.journal'), join(root, 'linked-dir', 'pleo.journal')));
    // Not created yet: the folder's link is resolved.
    refused(load(join(real, 'new.journal'), join(root, 'linked-dir', 'new.journal')));
  });

  it('refuses a hard link to the journal', () => {
    const file = join(root, 'hard-a.journal');
    writeFileSync(file, '');
    linkSync(file, join(root, 'hard-b.journal'));
    refused(load(file, join(root, 'hard-b.journal')));
  });

  it('accepts one journal per company, and the default journals', () => {
    const config = load(join(root, 'a.journal'), join(root, 'b.journal'))() as {
      companies: { adapter: { journal: string } }[];
    };
    expect(config.companies.map((c) => c.adapter.journal)).toEqual([
      join(root, 'a.journal'),
      join(root, 'b.journal'),
    ]);
    const defaults = loadConfig({
      env: {},
      raw: {
        dataDir: join(root, 'data'),
        companies: [
          { id: A, apiKey: 'k' },
          { id: B, apiKey: 'k' },
        ],
      },
    });
    expect(defaults.companies).toHaveLength(2);
  });
});
