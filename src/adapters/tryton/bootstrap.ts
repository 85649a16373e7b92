/**
 * A throwaway Tryton for the demo and the tests: builds a SQLite database with Debian's
 * `trytond-admin` (modules account_invoice and dependencies), bootstraps companies, charts,
 * fiscal years, currencies and users with proteus, and runs `trytond` on a loopback port.
 *
 * Building the modules takes 15-100 s on a busy machine, so {@link prepareTrytonTemplate} caches the
 * bootstrapped database file (keyed by the spec, the script and trytond's version) and every
 * database is a copy of it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { ConfigError } from '../../errors/index.js';
import { BOOTSTRAP_PY } from './bootstrap-script.js';

export interface TrytonBootstrapSpec {
  currencies: { code: string; name: string; digits: number; rates?: { date: string; rate: string }[] }[];
  companies: {
    name: string;
    currency: string;
    fiscalYears: number[];
    /** Account whose code receives the 25 % tax's amounts (created when present in `accounts`). */
    taxAccount?: string;
    accounts: {
      code: string;
      name: string;
      kind: 'asset' | 'receivable' | 'liability' | 'payable' | 'tax' | 'expense' | 'revenue';
    }[];
    /** Integration users working for this company only. */
    users: { login: string; password: string }[];
  }[];
}

export interface BootstrapSummary {
  companies: { id: number; name: string; accounts: Record<string, number> }[];
}

export const TRYTON_PYTHON = '/usr/bin/python3';
const ADMIN = 'trytond-admin';
const SERVER = 'trytond';

/** Why Tryton cannot run here, or null when `trytond`, `trytond-admin` and proteus are installed. */
export function trytonMissing(): string | null {
  for (const bin of [ADMIN, SERVER]) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).error) {
      return `${bin} is not installed: apt-get install -y tryton-server tryton-modules-account tryton-modules-account-invoice tryton-modules-company tryton-proteus`;
    }
  }
  if (spawnSync(TRYTON_PYTHON, ['-c', 'import proteus, trytond'], { stdio: 'ignore' }).status !== 0) {
    return `proteus is not importable by ${TRYTON_PYTHON}: apt-get install -y tryton-proteus`;
  }
  return null;
}

function trytonVersion(): string {
  const out = spawnSync(SERVER, ['--version'], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.trim();
}

function configText(dir: string, port: number): string {
  return [
    '[database]',
    'uri = sqlite://',
    `path = ${dir}`,
    '[web]',
    `listen = 127.0.0.1:${port}`,
    '[session]',
    'max_attempt = 50',
    '',
  ].join('\n');
}

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; what: string },
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) =>
      reject(new ConfigError(`${options.what}: cannot run ${command} (${e.message})`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolvePromise(out);
      else
        reject(
          new ConfigError(
            `${options.what} failed (exit ${String(code)}): ${err.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Creates database `name` in `dir` from scratch (trytond-admin, then the bootstrap script). The
 * admin user's password is `adminPassword`.
 */
export async function createTrytonDatabase(options: {
  dir: string;
  name: string;
  spec: TrytonBootstrapSpec;
  adminPassword: string;
}): Promise<BootstrapSummary> {
  const { dir, name } = options;
  await mkdir(dir, { recursive: true });
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, configText(dir, 8000));
  const passFile = join(dir, `${name}.adminpass`);
  await writeFile(passFile, `${options.adminPassword}\n`, { mode: 0o600 });
  await (await open(join(dir, `${name}.sqlite`), 'w')).close();
  await run(
    ADMIN,
    [
      '-c',
      conf,
      '-d',
      name,
      '--all',
      '-u',
      'account_invoice',
      '--activate-dependencies',
      '--email',
      'admin@example.invalid',
    ],
    {
      env: { TRYTONPASSFILE: passFile },
      what: 'trytond-admin (building the Tryton database)',
    },
  );
  await rm(passFile, { force: true });
  const scriptPath = join(dir, 'pleo-bootstrap.py');
  await writeFile(scriptPath, BOOTSTRAP_PY);
  const out = await run(TRYTON_PYTHON, [scriptPath], {
    input: JSON.stringify({ ...options.spec, database: name, configFile: conf }),
    what: 'the Tryton bootstrap script (proteus)',
  });
  const last = out.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as BootstrapSummary;
}

/**
 * A bootstrapped database file for `spec`, built once into `cacheDir` and reused while the spec,
 * the script and trytond's version stay the same. Returns the file and the bootstrap summary.
 */
export async function prepareTrytonTemplate(options: {
  cacheDir: string;
  spec: TrytonBootstrapSpec;
  adminPassword: string;
}): Promise<{ file: string; summary: BootstrapSummary }> {
  const hash = createHash('sha256')
    .update(JSON.stringify(options.spec))
    .update(BOOTSTRAP_PY)
    .update(trytonVersion())
    .update(options.adminPassword)
    .digest('hex')
    .slice(0, 16);
  const file = join(options.cacheDir, `template-${hash}.sqlite`);
  const summaryFile = `${file}.json`;
  const readCached = async (): Promise<{ file: string; summary: BootstrapSummary } | null> => {
    try {
      await stat(file);
      return { file, summary: JSON.parse(await readFile(summaryFile, 'utf8')) as BootstrapSummary };
    } catch {
      return null;
    }
  };
  await mkdir(options.cacheDir, { recursive: true });
  // One builder at a time (parallel test files share the cache); a lock older than 20 minutes
  // was left by a killed builder and is taken over.
  const lock = `${file}.lock`;
  for (;;) {
    const ready = await readCached();
    if (ready) return ready;
    try {
      await (await open(lock, 'wx')).close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 20 * 60_000) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    const ready = await readCached();
    if (ready) return ready;
    return await buildTemplate(options.cacheDir, hash, file, summaryFile, options);
  } finally {
    await rm(lock, { force: true });
  }
}

async function buildTemplate(
  cacheDir: string,
  hash: string,
  file: string,
  summaryFile: string,
  options: { spec: TrytonBootstrapSpec; adminPassword: string },
): Promise<{ file: string; summary: BootstrapSummary }> {
  const work = join(cacheDir, `build-${hash}-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  const summary = await createTrytonDatabase({
    dir: work,
    name: 'template',
    spec: options.spec,
    adminPassword: options.adminPassword,
  });
  await writeFile(summaryFile, JSON.stringify(summary));
  await rename(join(work, 'template.sqlite'), file);
  await rm(work, { recursive: true, force: true });
  return { file, summary };
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

export interface RunningTryton {
  url: string;
  database: string;
  dir: string;
  pid: number;
  /** Stops trytond (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/**
 * Copies `templateFile` to `<dir>/<database>.sqlite` and starts `trytond` on a free loopback port.
 * Resolves once it answers JSON-RPC.
 */
export async function startTryton(options: {
  templateFile: string;
  dir: string;
  database: string;
  fetch?: typeof fetch;
  /** How long to wait for trytond to answer. @default 60000 */
  startTimeoutMs?: number;
}): Promise<RunningTryton> {
  const { dir, database } = options;
  await mkdir(dir, { recursive: true });
  await copyFile(options.templateFile, join(dir, `${database}.sqlite`));
  const port = await freeLoopbackPort();
  const conf = join(dir, 'trytond.conf');
  await writeFile(conf, configText(dir, port));
  const log = await open(join(dir, 'trytond.log'), 'a');
  const child: ChildProcess = spawn(SERVER, ['-c', conf], {
    stdio: ['ignore', log.fd, log.fd],
    detached: false,
  });
  await log.close();
  const url = `http://127.0.0.1:${port}`;
  const doFetch = options.fetch ?? fetch;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  for (;;) {
    if (exited !== null)
      throw new ConfigError(
        `trytond exited (code ${String(exited)}) before answering; see ${join(dir, 'trytond.log')}`,
      );
    try {
      const response = await doFetch(`${url}/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: 0, method: 'common.server.version', params: [] }),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ConfigError(`trytond did not answer on ${url} in time; see ${join(dir, 'trytond.log')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    database,
    dir,
    pid: child.pid ?? 0,
    stop: () =>
      new Promise<void>((resolvePromise) => {
        if (exited !== null) return resolvePromise();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolvePromise();
        });
        child.kill('SIGTERM');
      }),
  };
}
