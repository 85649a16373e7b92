/**
 * Stoplight Prism 5.14.2 as a validating proxy in front of the stateful fake: every request the
 * adapter sends is checked against Xero's official OpenAPI file, and with `--errors` a request the
 * spec does not allow never reaches the fake (Prism answers 422/500 instead). Responses that do
 * not match the spec come back with an `sl-violations` header, which `checkedFetch` turns into a
 * test failure too.
 *
 * The official file is patched in a temp copy, never in place (NOTES.md): the 22 octet-stream
 * request bodies are declared `format: byte` (base64 text), so a real binary upload would be
 * refused; they become `format: binary`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse, stringify } from 'yaml';

export const XERO_SPEC =
  process.env['XERO_OPENAPI'] ??
  fileURLToPath(new URL('../../../../shared/vendor-specs/xero/xero_accounting.yaml', import.meta.url));
const PRISM = fileURLToPath(new URL('../../../node_modules/.bin/prism', import.meta.url));

type Node = Record<string, unknown>;

/** The official spec with the octet-stream bodies patched to `format: binary`; returns the count. */
export function patchSpec(text: string): { doc: Node; patched: number } {
  const doc = parse(text, { maxAliasCount: -1 }) as Node;
  let patched = 0;
  for (const item of Object.values(doc['paths'] as Record<string, Node>)) {
    for (const op of Object.values(item)) {
      const content = ((op as Node)?.['requestBody'] as Node | undefined)?.['content'] as Node | undefined;
      const schema = (content?.['application/octet-stream'] as Node | undefined)?.['schema'] as
        Node | undefined;
      if (schema?.['format'] === 'byte') {
        schema['format'] = 'binary';
        patched++;
      }
    }
  }
  return { doc, patched };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Prism {
  url: string;
  stop(): Promise<void>;
  /** Prism's log lines (for a failing test's message). */
  log(): string;
}

/** Starts `prism proxy --errors` on the patched spec in front of `upstream`; waits until it listens. */
export async function startPrism(upstream: string): Promise<Prism> {
  if (!existsSync(XERO_SPEC))
    throw new Error(`Xero's OpenAPI file is missing at ${XERO_SPEC} (set XERO_OPENAPI)`);
  if (!existsSync(PRISM)) throw new Error(`${PRISM} is missing: run npm ci`);
  const { doc, patched } = patchSpec(readFileSync(XERO_SPEC, 'utf8'));
  if (patched !== 22)
    throw new Error(`expected to patch 22 octet-stream bodies in Xero's spec, patched ${patched}`);
  const dir = await mkdtemp(join(tmpdir(), 'pleo-xero-prism-'));
  const spec = join(dir, 'xero_accounting.patched.yaml');
  await writeFile(spec, stringify(doc, { aliasDuplicateObjects: false }));
  const port = await freePort();
  const child: ChildProcess = spawn(
    PRISM,
    ['proxy', spec, upstream, '--errors', '--port', String(port), '--host', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('Prism is listening')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`prism exited (${code}) before listening:\n${output}`)));
  });
  return {
    url,
    log: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every answer Prism gives is checked: a spec violation (request or response) fails the test. */
export function checkedFetch(violations: string[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const header = response.headers.get('sl-violations');
    if (header !== null) violations.push(`${init?.method ?? 'GET'} ${url}: ${header}`);
    if (response.headers.get('content-type')?.includes('application/problem+json')) {
      const text = await response.clone().text();
      // A FetchError is the upstream's connection dying (a lost answer the fake injects); any
      // other problem is Prism refusing the request (422 invalid, 404 no such path, …).
      if (!text.includes('"type":"FetchError"')) {
        violations.push(`${init?.method ?? 'GET'} ${url}: Prism refused the request: ${text}`);
      }
    }
    return response;
  };
}
