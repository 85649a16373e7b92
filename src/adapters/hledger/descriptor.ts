/**
 * The hledger adapter as the registry sees it: configuration `{ type: hledger, journal: FILE }`,
 * one writer per journal (so not for the scaled-out mode), `check` and the default demo target.
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

import { z } from 'zod';

import { pathField } from '../config-fields.js';
import type { AdapterCheck, AdapterDescriptor } from '../descriptor.js';
import { createHledgerAdapter } from './index.js';

export const hledgerConfigSchema = z
  .object({
    type: z.literal('hledger'),
    /** Journal file written by pleo-export (created, with its folder, if missing). */
    journal: pathField(),
  })
  .strict();

export type HledgerConfig = z.output<typeof hledgerConfigSchema>;

/** True when the `hledger` command is installed (it is needed only to inspect the journal). */
export function hledgerInstalled(): boolean {
  return spawnSync('hledger', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The nearest existing folder at or above `path`. */
async function existingAncestor(path: string): Promise<string> {
  let current = path;
  for (;;) {
    const found = await stat(current).catch(() => undefined);
    if (found) return current;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

async function checkJournal(config: HledgerConfig): Promise<AdapterCheck[]> {
  const journal = config.journal;
  const existing = await stat(journal).catch(() => undefined);
  if (existing) {
    if (!existing.isFile()) {
      return [
        {
          ok: false,
          what: `The journal ${journal} is a file`,
          fix: `${journal} exists but is not a regular file: point adapter.journal at a file.`,
        },
      ];
    }
    const writable = await access(journal, constants.W_OK).then(
      () => true,
      () => false,
    );
    return [
      writable
        ? { ok: true, what: `The journal ${journal} exists and is writable` }
        : {
            ok: false,
            what: `The journal ${journal} is writable`,
            fix: `Give the user running pleo-export write access to ${journal}.`,
          },
    ];
  }
  const folder = await existingAncestor(dirname(journal));
  const isFolder = (await stat(folder).catch(() => undefined))?.isDirectory() === true;
  const writable =
    isFolder &&
    (await access(folder, constants.W_OK | constants.X_OK).then(
      () => true,
      () => false,
    ));
  return [
    writable
      ? { ok: true, what: `The journal ${journal} can be created (in ${folder})` }
      : {
          ok: false,
          what: `The journal ${journal} can be created`,
          fix: isFolder
            ? `Give the user running pleo-export write access to ${folder}, or point adapter.journal elsewhere.`
            : `${folder} is not a folder: point adapter.journal at a path inside a folder.`,
        },
  ];
}

export const hledgerAdapter: AdapterDescriptor<HledgerConfig> = {
  type: 'hledger',
  summary: 'a plain-text hledger journal on this machine (the default; embedded mode only)',
  configSchema: hledgerConfigSchema,
  supportsScaleOut: false,
  create(config, deps) {
    return Promise.resolve(
      createHledgerAdapter({
        journalPath: config.journal,
        now: () => new Date(deps.now()),
        ...(deps.accountNames ? { accountNames: deps.accountNames } : {}),
      }),
    );
  },
  async check(config) {
    const checks = await checkJournal(config);
    checks.push(
      hledgerInstalled()
        ? { ok: true, what: 'hledger is installed (to inspect the journal)' }
        : {
            ok: true,
            what: 'hledger is not installed: the journal is written anyway; install hledger (apt-get install hledger) to inspect it',
          },
    );
    return checks;
  },
  demo(dir) {
    const journal = join(dir, 'books.journal');
    const rel = (p: string): string => relative(process.cwd(), p) || p;
    return Promise.resolve({
      config: { type: 'hledger' as const, journal },
      location: journal,
      report() {
        if (!hledgerInstalled()) {
          return Promise.resolve({
            ok: true,
            lines: [
              `Journal:     ${rel(journal)}`,
              'Install hledger (apt-get install hledger) to inspect it: hledger -f <journal> balance',
            ],
            json: { journal, hledgerCheck: null },
          });
        }
        const check = spawnSync('hledger', ['-f', journal, 'check', '--strict'], { encoding: 'utf8' });
        const ok = check.status === 0;
        return Promise.resolve({
          ok,
          lines: [
            `Journal:     ${rel(journal)}`,
            `hledger check --strict: ${ok ? 'ok' : `FAILED\n${check.stderr}`}`,
            `Inspect it:  hledger -f ${rel(journal)} balance`,
          ],
          json: { journal, hledgerCheck: ok },
        });
      },
      close: () => Promise.resolve(),
    });
  },
};
