/**
 * The package as a user gets it: `npm pack`, the tarball unpacked into a temporary folder's
 * node_modules beside exactly the dependencies it declares, each subpath of `exports` imported by
 * name with Node 22, a known export of each checked, the bin run, and the types resolved by
 * TypeScript the way a NodeNext consumer resolves them. Needs `npm run build` first (`npm test`
 * builds).
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
/** Node 22, the repository's `node` devDependency. */
const node = join(repo, 'node_modules', '.bin', 'node');

interface Run {
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

interface Manifest {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Manifest;
const subpaths = Object.keys(manifest.exports).filter((s) => s !== './package.json');

let dir: string;
let packed: string[];

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'index.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'pleo-pack-'));
  const pack = await run(
    'npm',
    ['pack', '--ignore-scripts', '--offline', '--json', '--loglevel=error', '--pack-destination', dir],
    repo,
  );
  const [result] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  packed = result.files.map((f) => f.path);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  // Installed as npm installs a tarball (its files under node_modules/pleo-export), with exactly the
  // dependencies it declares, taken from the repository's node_modules (\`npm ci\` resolved the same
  // ranges): a module that imports anything else fails to load.
  const installed = join(dir, 'node_modules', 'pleo-export');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(dir, result.filename), '-C', installed, '--strip-components=1'], dir);
  const declared = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest)
    .dependencies;
  for (const dependency of Object.keys(declared)) {
    const link = join(dir, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repo, 'node_modules', dependency), link, 'dir');
  }
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds every file its exports and bin name, its build and nothing else', () => {
    const targets = [
      ...Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t))),
      ...Object.values(manifest.bin),
    ].map((t) => t.replace(/^\.\//, ''));
    for (const target of targets) expect(packed, target).toContain(target);
    // Only the build, the OpenAPI files and the package's own files; no sources, no tests.
    for (const file of packed) expect(file).toMatch(/^(dist\/|openapi\/|package\.json$|README\.md$|LICENSE)/);
    // Every built module comes from a source module of today (no file left by an earlier build).
    for (const file of packed.filter((f) => f.endsWith('.js'))) {
      expect(existsSync(join(repo, file.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))), file).toBe(
        true,
      );
    }
  });

  it('production modules never import the test tools', () => {
    const installed = join(dir, 'node_modules', 'pleo-export');
    const production = packed.filter((f) => f.endsWith('.js') && !f.startsWith('dist/testing/'));
    expect(production.length).toBeGreaterThan(50);
    for (const file of production) {
      const text = readFileSync(join(installed, file), 'utf8');
      expect(text, file).not.toMatch(/from ['"][./]*testing\//);
    }
  });

  it('each subpath imports by its name on Node 22, with a known export working', async () => {
    writeFileSync(
      join(dir, 'imports.mjs'),
      `
const out = {};
for (const name of ${JSON.stringify(subpaths.map((s) => (s === '.' ? 'pleo-export' : `pleo-export/${s.slice(2)}`)))}) {
  out[name] = Object.keys(await import(name)).sort();
}
const root = await import('pleo-export');
const rejected = new root.AccountingSystemError('x', { code: 'ACCOUNTING_REJECTED', retryable: true });
out.hledger = root.requireAdapter('hledger').type;
out.rejected = root.classifyAccountingError(rejected).kind;
const testing = await import('pleo-export/testing');
out.validate = await testing.createMemoryAdapter().validate({ companyId: 'c', vendorBasedBookkeeping: false });
const receiver = await testing.startReferenceReceiver();
out.receiver = (await fetch(receiver.url + '/v1/validate', { method: 'POST' })).status;
await receiver.close();
out.version = (await import('pleo-export/package.json', { with: { type: 'json' } })).default.version;
out.deep = await import('pleo-export/dist/engine/index.js').then(() => 'imported', (e) => e.code);
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await run(node, ['--no-warnings', 'imports.mjs'], dir);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out['pleo-export']).toEqual(
      expect.arrayContaining([
        'createEngine',
        'createPleoClient',
        'createSqliteStore',
        'createPostgresStore',
        'registerAdapter',
        'requireAdapter',
        'classifyAccountingError',
        'loadConfig',
        'ExportError',
        'ERROR_CODES',
      ]),
    );
    expect(out['pleo-export/client']).toEqual(
      expect.arrayContaining(['createPleoClient', 'compileRetryPolicy']),
    );
    expect(out['pleo-export/simulator']).toEqual(expect.arrayContaining(['startSimulator', 'ManualClock']));
    expect(out['pleo-export/testing']).toEqual(['createMemoryAdapter', 'startReferenceReceiver']);
    expect(out).toMatchObject({
      hledger: 'hledger',
      rejected: 'item',
      validate: { ok: true },
      receiver: 200,
      version: '0.1.0',
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  it('the bin runs from the installed package', async () => {
    const bin = join(dir, 'node_modules', 'pleo-export', manifest.bin['pleo-export'] ?? '');
    const { stdout } = await run(node, [bin, '--version'], dir);
    expect(stdout.trim()).toBe('0.1.0');
  });

  it('each subpath has types a NodeNext consumer resolves', async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `
import { createEngine, ERROR_CODES, loadConfig, type ErrorCode, type Store } from 'pleo-export';
import { createPleoClient, type PleoClient } from 'pleo-export/client';
import { startSimulator } from 'pleo-export/simulator';
import { createMemoryAdapter, type ReferenceReceiver } from 'pleo-export/testing';

export const code: ErrorCode = ERROR_CODES[0];
export const used = [createEngine, loadConfig, createPleoClient, startSimulator, createMemoryAdapter];
export type Used = [Store, PleoClient, ReferenceReceiver];
`,
    );
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2023'];
    const types = ['--types', 'node', '--typeRoots', join(repo, 'node_modules', '@types')];
    await expect(run(node, [tsc, ...args, ...types, 'consumer.ts'], dir)).resolves.toBeDefined();
  });
});
