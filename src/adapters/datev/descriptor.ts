/**
 * The DATEV adapter's descriptor for the adapter registry: its configuration block, `create`, and
 * the checks `pleo-export check` runs (output directory writable and free, manifest readable,
 * every batch file already written valid and made for the configured Berater/Mandant).
 */
import { access, constants, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { z } from 'zod';

import type { AdapterCheck, AdapterDeps, AdapterDescriptor } from '../descriptor.js';
import type { AccountingAdapter } from '../types.js';
import { createDatevAdapter } from './adapter.js';
import { MANIFEST_NAME, type Manifest } from './batches.js';
import { describeProblems, validateDatevFile } from './validate.js';

const CHARTS = { SKR03: '03', SKR04: '04', SKR07: '07', SKR14: '14', none: '' } as const;

export const datevConfigSchema = z
  .object({
    type: z.literal('datev'),
    /** Where the batch files, their manifest and the receipts go. @default '<dataDir>/datev/<company id>' */
    outputDir: z.string().min(1).optional(),
    /** Beraternummer of the accountant (1001-9999999). */
    consultantNumber: z
      .number()
      .int()
      .min(1001, 'the Beraternummer is 1001-9999999')
      .max(9999999, 'the Beraternummer is 1001-9999999'),
    /** Mandantennummer of the company at the accountant (1-99999). */
    clientNumber: z
      .number()
      .int()
      .min(1, 'the Mandantennummer is 1-99999')
      .max(99999, 'the Mandantennummer is 1-99999'),
    /** First day of the fiscal year (Wirtschaftsjahr), `MM-01`. @default '01-01' */
    fiscalYearStart: z
      .string()
      .regex(/^(0[1-9]|1[0-2])-01$/, 'expected the first day of a month as MM-01, e.g. "01-01" or "07-01"')
      .default('01-01'),
    /** Sachkontenlänge, 4-8 (Personenkonten have one digit more). @default 4 */
    accountLength: z.number().int().min(4).max(8).default(4),
    /** Chart of accounts (Sachkontenrahmen) named in the header; informational for DATEV. @default 'none' */
    chart: z.enum(['SKR03', 'SKR04', 'SKR07', 'SKR14', 'none']).default('none'),
    /** One batch file per export job, or per job and month. @default 'job' */
    batchBy: z.enum(['job', 'period']).default('job'),
    /** Diktatkürzel in the header (two capital letters). */
    dictationInitials: z
      .string()
      .regex(/^[A-Z]{2}$/, 'expected two capital letters')
      .optional(),
    /**
     * Beleglink of an entry's first receipt: `{file}` = `receipts/<file>` relative to outputDir,
     * `{name}` = the file name, `{entryId}`; '' leaves Beleglink empty (receipts are still copied).
     * @default '{file}'
     */
    beleglink: z
      .string()
      .max(120, 'at most 120 characters (DATEV allows 210 with the file name)')
      // eslint-disable-next-line no-control-regex
      .refine((t) => !/[\u0000-\u001f"]/.test(t), 'no quotes or control characters')
      .refine(
        (t) => [...t.matchAll(/\{([^}]*)\}/g)].every((m) => ['file', 'name', 'entryId'].includes(m[1] ?? '')),
        {
          message: 'unknown placeholder: use {file}, {name} or {entryId}',
        },
      )
      .default('{file}'),
    /** Dimensions written as cost centres: a tag group code, `team` or `user`. */
    costCenters: z
      .object({ kost1: z.string().min(1).optional(), kost2: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type DatevConfig = z.output<typeof datevConfigSchema>;

function outputDirOf(config: DatevConfig, deps: Pick<AdapterDeps, 'dataDir' | 'companyId'>): string {
  if (config.outputDir === undefined) return resolve(deps.dataDir, 'datev', deps.companyId);
  return isAbsolute(config.outputDir) ? config.outputDir : resolve(deps.dataDir, config.outputDir);
}

async function checks(config: DatevConfig, deps: AdapterDeps): Promise<AdapterCheck[]> {
  const dir = outputDirOf(config, deps);
  const out: AdapterCheck[] = [];
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.pleo-datev-probe-${String(process.pid)}`);
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    out.push({ ok: true, what: `DATEV output directory ${dir} is writable` });
  } catch (error) {
    out.push({
      ok: false,
      what: `DATEV output directory ${dir} is writable`,
      fix: `Create ${dir} and give the pleo-export user write access (or set adapter.outputDir): ${(error as Error).message}`,
    });
    return out;
  }
  const lockPath = join(dir, '.pleo-datev.lock');
  const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
  let alive = false;
  if (Number.isInteger(owner) && owner > 0) {
    try {
      process.kill(owner, 0);
      alive = true;
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  out.push(
    alive
      ? {
          ok: false,
          what: `no other process writes to ${dir}`,
          fix: `Process ${String(owner)} holds ${lockPath}. Stop it (one writer per output directory; give each company its own outputDir), or delete the lock file if that process is not pleo-export.`,
        }
      : { ok: true, what: `no other process writes to ${dir}` },
  );
  let manifest: Manifest | undefined;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8')) as Manifest;
    out.push({
      ok: true,
      what: `the manifest ${MANIFEST_NAME} lists ${String(manifest.files.length)} batch file(s)`,
    });
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const f of manifest.files) {
      for (const [id] of f.entries) {
        const other = seen.get(id);
        if (other !== undefined && other !== f.name) twice.push(`${id} (${other}, ${f.name})`);
        seen.set(id, f.name);
      }
    }
    if (twice.length > 0) {
      out.push({
        ok: false,
        what: 'every entry is in one batch file only',
        fix: `These entries are listed in two files; make sure the accountant imported each only once: ${twice.slice(0, 10).join(', ')}`,
      });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      out.push({
        ok: true,
        what: `no batch files yet in ${dir} (the manifest is created with the first file)`,
      });
    } else {
      out.push({
        ok: false,
        what: `the manifest ${join(dir, MANIFEST_NAME)} can be read`,
        fix: `Restore it from a backup: it lists every entry ever written, including files moved away after import. (${(error as Error).message})`,
      });
    }
  }
  const files = (await readdir(dir)).filter((f) => /^EXTF_Pleo_.*\.csv$/.test(f)).sort();
  const invalid: string[] = [];
  const foreign: string[] = [];
  for (const f of files) {
    const { problems, parsed } = validateDatevFile(await readFile(join(dir, f)));
    if (problems.length > 0) invalid.push(`${f}:\n${describeProblems(problems.slice(0, 5))}`);
    const h = (n: number): string => parsed?.header[n - 1]?.value ?? '';
    if (parsed && (h(11) !== String(config.consultantNumber) || h(12) !== String(config.clientNumber))) {
      foreign.push(`${f} (Berater ${h(11)}, Mandant ${h(12)})`);
    }
  }
  out.push(
    invalid.length === 0
      ? { ok: true, what: `${String(files.length)} batch file(s) in ${dir} pass the EXTF format checks` }
      : {
          ok: false,
          what: `batch files in ${dir} pass the EXTF format checks`,
          fix: `Do not import these files; they were changed after pleo-export wrote them, or were not written by it:\n${invalid.join('\n')}`,
        },
  );
  if (foreign.length > 0) {
    out.push({
      ok: false,
      what: `batch files in ${dir} are for Beraternummer ${String(config.consultantNumber)} / Mandantennummer ${String(config.clientNumber)}`,
      fix: `These files name another Berater/Mandant: ${foreign.join(', ')}. Check adapter.consultantNumber and adapter.clientNumber with the accountant, and give each company its own outputDir.`,
    });
  }
  if (config.beleglink.includes('{file}') || config.beleglink.includes('{name}')) {
    const receipts = join(dir, 'receipts');
    const writable = await access(receipts, constants.W_OK).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    out.push(
      writable
        ? {
            ok: true,
            what: `receipts are copied to ${receipts} and linked as Beleglink "${config.beleglink}"`,
          }
        : {
            ok: false,
            what: `receipts can be copied to ${receipts}`,
            fix: `Give the pleo-export user write access to ${receipts}.`,
          },
    );
  }
  return out;
}

export const datevDescriptor: AdapterDescriptor<DatevConfig> = {
  type: 'datev',
  summary: 'DATEV EXTF Buchungsstapel files (format 700/21/13, CP1252) for the accountant to import',
  configSchema: datevConfigSchema,
  // One writer per output directory (a lock file and one manifest); files on a shared disk written
  // from several machines could not keep "no entry in two files" without a distributed lock.
  supportsScaleOut: false,
  create(config: DatevConfig, deps: AdapterDeps): Promise<AccountingAdapter> {
    return Promise.resolve(
      createDatevAdapter({
        outputDir: outputDirOf(config, deps),
        consultantNumber: config.consultantNumber,
        clientNumber: config.clientNumber,
        fiscalYearStartMonth: Number(config.fiscalYearStart.slice(0, 2)),
        accountLength: config.accountLength,
        chart: CHARTS[config.chart],
        batchBy: config.batchBy,
        beleglink: config.beleglink,
        now: deps.now,
        logger: deps.logger,
        ...(config.dictationInitials ? { dictationInitials: config.dictationInitials } : {}),
        ...(config.costCenters ? { costCenters: config.costCenters } : {}),
      }),
    );
  },
  check: checks,
};
