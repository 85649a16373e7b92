/**
 * DATEV EXTF adapter: writes the entries as DATEV "Buchungsstapel" files (EXTF, header version
 * 700, category 21, format version 13, CP1252, `;`-separated) that an accountant imports into
 * DATEV Rechnungswesen / DATEV Unternehmen online.
 *
 * - One batch file per export job (`batchBy: 'job'`, within one fiscal year and currency) or per
 *   job and month (`batchBy: 'period'`); see `batches.ts` for how files are written, sealed and
 *   listed in the manifest, and `format.ts` for how an entry becomes rows.
 * - Exactly once: every row carries the `accountingEntryId` (Beleginfo 1); the adapter indexes all
 *   files and the manifest on open, so a key is never written twice, in any file, across restarts
 *   and re-exports.
 * - Receipts are copied (and synced) to `<outputDir>/receipts/` under deterministic names; the
 *   first is referenced in `Beleglink` through the configured template, the next three in
 *   Beleginfo 6-8.
 * - `externalId` is `<file name>#L<line of the entry's first row>`.
 *
 * @example
 * const adapter = createDatevAdapter({ outputDir: '/data/datev', consultantNumber: 1001, clientNumber: 1 });
 * await adapter.record(entry, { companyId, idempotencyKey: entry.accountingEntryId, attachments: [] });
 */
import { copyFile, link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { balanceProblem, extensionForContentType, type AccountingEntry } from '../../accounting/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import { keyedSingleFlight } from '../single-flight.js';
import type {
  AccountingAdapter,
  AdapterContext,
  ItemRefusal,
  RecordedEntry,
  RecordOutcome,
  StoredAttachment,
  ValidationResult,
} from '../types.js';
import { BatchDirectory, type FaultHooks, type ManifestFile } from './batches.js';
import { datevAmount, entryLines, pairPostings, type BatchHeader, type Row } from './format.js';

export type { FaultHooks } from './batches.js';

export interface DatevAdapterOptions {
  /** Where the batch files, the manifest and `receipts/` are written (created when missing). */
  outputDir: string;
  /** Beraternummer (1001-9999999). */
  consultantNumber: number;
  /** Mandantennummer (1-99999). */
  clientNumber: number;
  /** First month of the fiscal year (Wirtschaftsjahr), 1-12. @default 1 */
  fiscalYearStartMonth?: number;
  /** Sachkontenlänge, 4-8. @default 4 */
  accountLength?: number;
  /** Sachkontenrahmen for the header: '03' (SKR03), '04' (SKR04), … or ''. @default '' */
  chart?: string;
  /** One file per job (per fiscal year and currency), or per job and month. @default 'job' */
  batchBy?: 'job' | 'period';
  /** Diktatkürzel (two capital letters). @default '' */
  dictationInitials?: string;
  /**
   * Beleglink template for the entry's first receipt: `{file}` (path relative to the output
   * directory, e.g. `receipts/<id>-0.pdf`), `{name}` (file name), `{entryId}`. '' = none.
   * @default '{file}'
   */
  beleglink?: string;
  /** Dimension keys (a tag group code, `team` or `user`) to write as KOST1 / KOST2. */
  costCenters?: { kost1?: string | undefined; kost2?: string | undefined };
  /** Clock (tests). */
  now?: () => number;
  /** Where repairs made on open (torn tails cut, files adopted) and anomalies are reported. */
  logger?: { warn(obj: object, msg?: string): void };
  /** Crash-test hooks. Never set in production. */
  faultHooks?: FaultHooks;
}

export interface DatevAdapter extends AccountingAdapter {
  readonly outputDir: string;
}

/** Keys are written into Belegfeld 1 and Beleginfo and read back: DATEV's safe characters only. */
const KEY = /^[A-Za-z0-9_$%/-]{1,36}$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function timestamp(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear())}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}

function isoFromTimestamp(t: string): string {
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}.${t.slice(14, 17)}Z`;
}

const lastDayOfMonth = (year: number, month: number): string =>
  `${String(year)}-${pad(month)}-${pad(new Date(Date.UTC(year, month, 0)).getUTCDate())}`;

/** The fiscal year (start and end, ISO) holding an ISO date. */
export function fiscalYearOf(date: string, startMonth: number): { start: string; end: string } {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const startYear = month >= startMonth ? year : year - 1;
  const endMonth = startMonth === 1 ? 12 : startMonth - 1;
  const endYear = startMonth === 1 ? startYear : startYear + 1;
  return { start: `${String(startYear)}-${pad(startMonth)}-01`, end: lastDayOfMonth(endYear, endMonth) };
}

/** Why DATEV cannot take this account number, or null. */
export function accountProblem(account: string, accountLength: number): string | null {
  if (!/^\d+$/.test(account)) return 'DATEV account numbers have digits only';
  if (/^0+$/.test(account)) return 'it is all zeros';
  if (account.length > accountLength + 1) {
    return `it has more than ${String(accountLength)} digits (the Sachkontenlänge; Personenkonten have ${String(accountLength + 1)})`;
  }
  return null;
}

/**
 * Puts the bytes of `source` at `tmp`: a hard link when both are on one file system, a copy
 * otherwise (the engine replaces downloads by rename, never in place).
 */
async function placeCopy(source: string, tmp: string): Promise<void> {
  await rm(tmp, { force: true });
  try {
    await link(source, tmp);
  } catch {
    await copyFile(source, tmp);
  }
}

export function createDatevAdapter(options: DatevAdapterOptions): DatevAdapter {
  const outputDir = resolve(options.outputDir);
  const receiptsDir = join(outputDir, 'receipts');
  const accountLength = options.accountLength ?? 4;
  const startMonth = options.fiscalYearStartMonth ?? 1;
  const batchBy = options.batchBy ?? 'job';
  const template = options.beleglink ?? '{file}';
  const now = options.now ?? Date.now;
  let dirPromise: Promise<BatchDirectory> | undefined;
  let closed = false;
  let chain: Promise<unknown> = Promise.resolve();
  const inFlight = keyedSingleFlight<RecordOutcome>();
  const staged = new Map<string, { count: number; names: string[] }>();

  const directory = (): Promise<BatchDirectory> => {
    if (closed) {
      return Promise.reject(
        new AccountingSystemError('The DATEV adapter is closed', {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
        }),
      );
    }
    if (!dirPromise) {
      const opening = BatchDirectory.open(outputDir, options.faultHooks ?? {}).then((dir) => {
        for (const repair of dir.repairs)
          options.logger?.warn({ outputDir, repair }, 'DATEV batch files repaired on open');
        for (const duplicate of dir.duplicates) {
          options.logger?.warn(
            { outputDir, duplicate },
            'DATEV: an entry id appears in two batch files (not written so by pleo-export: check the files by hand)',
          );
        }
        return dir;
      });
      dirPromise = opening;
      opening.catch(() => {
        if (dirPromise === opening) dirPromise = undefined; // retried on the next call
      });
    }
    return dirPromise;
  };

  /** Runs `task` after every earlier write: one writer, entries in call order. */
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = chain.then(task, task);
    chain = run.catch(() => undefined);
    return run;
  }

  const found = (dir: BatchDirectory, key: string): RecordedEntry | null => {
    const at = dir.index.get(key);
    if (!at) return null;
    const file = dir.manifest.files.find((f) => f.name === at.name);
    return {
      externalId: `${at.name}#L${String(at.line)}`,
      externalUrl: `${pathToFileURL(join(outputDir, at.name)).href}#L${String(at.line)}`,
      recordedAt: file?.header.createdAt
        ? isoFromTimestamp(file.header.createdAt)
        : new Date(now()).toISOString(),
    };
  };

  async function storeReceipts(
    key: string,
    attachments: readonly StoredAttachment[],
  ): Promise<string[] | ItemRefusal> {
    if (attachments.length === 0) return [];
    await mkdir(receiptsDir, { recursive: true });
    const names: string[] = [];
    for (const [i, attachment] of attachments.entries()) {
      let ext = extensionForContentType(attachment.contentType);
      if (ext === 'bin')
        ext =
          extname(attachment.name)
            .slice(1)
            .replace(/[^A-Za-z0-9]/g, '') || 'bin';
      const safeKey = (attachment.key || `${key}-${String(i)}`).replace(/[^A-Za-z0-9._-]/g, '_');
      const name = `${safeKey}.${ext}`;
      const target = join(receiptsDir, name);
      try {
        const source = resolve(attachment.path);
        if (source !== target) {
          const incoming = await stat(source);
          const existing = await stat(target).catch(() => undefined);
          if (!existing || existing.size !== incoming.size) {
            const tmp = `${target}.tmp-${String(process.pid)}`;
            await placeCopy(source, tmp);
            const handle = await open(tmp, 'r+');
            await handle.sync().finally(() => handle.close());
            await rename(tmp, target);
          }
        }
      } catch (error) {
        return {
          status: 'failed',
          failureReasonType: 'receipt_upload_failure',
          failureReason: `Receipt ${attachment.name} could not be stored next to the DATEV batch files (${(error as Error).message}). Export the expense again to retry.`,
        };
      }
      names.push(name);
    }
    return names;
  }

  const link = (name: string, entryId: string): string =>
    template.replace(/\{(file|name|entryId)\}/g, (_, what: string) =>
      what === 'file' ? `receipts/${name}` : what === 'name' ? name : entryId,
    );

  function refuse(failureReasonType: ItemRefusal['failureReasonType'], failureReason: string): ItemRefusal {
    return { status: 'failed', failureReasonType, failureReason };
  }

  /** The rows of an entry, or why DATEV cannot hold it. */
  function rowsOf(entry: AccountingEntry): Row[] | ItemRefusal {
    for (const posting of entry.postings) {
      const why = accountProblem(posting.account, accountLength);
      if (why) {
        return refuse(
          'account_unknown',
          `Account No. ${posting.account} cannot be used in DATEV because ${why}. Check Category (or the configured accounts).`,
        );
      }
    }
    const rows = pairPostings(entry.postings).filter((r) => r.debit.account !== r.credit.account);
    if (rows.length === 0) {
      return refuse(
        'validation_failure',
        'This entry has no amount to book: DATEV does not accept bookings of 0,00.',
      );
    }
    for (const row of rows) {
      if (datevAmount(row.value, entry.currency) === null) {
        return refuse(
          'validation_failure',
          `DATEV amounts have two decimals and at most 10 digits before the comma; the ${entry.currency} amount of this entry cannot be written exactly.`,
        );
      }
    }
    return rows;
  }

  function batchOf(
    entry: AccountingEntry,
    createdAt: string,
  ): { group: string; label: string; header: BatchHeader } {
    const fy = fiscalYearOf(entry.date, startMonth);
    const month = entry.date.slice(0, 7);
    const period =
      batchBy === 'period'
        ? { from: `${month}-01`, to: lastDayOfMonth(Number(month.slice(0, 4)), Number(month.slice(5, 7))) }
        : { from: fy.start, to: fy.end };
    const job = entry.jobId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8) || 'job';
    const when = batchBy === 'period' ? month : `WJ${fy.start.slice(0, 4)}`;
    return {
      group: `${entry.jobId}|${period.from}|${entry.currency}`,
      label: `${when}_${entry.currency}_${job}`,
      header: {
        createdAt,
        consultantNumber: options.consultantNumber,
        clientNumber: options.clientNumber,
        fiscalYearStart: fy.start,
        accountLength,
        dateFrom: period.from,
        dateTo: period.to,
        description: `Pleo ${when} ${job}`,
        dictationInitials: options.dictationInitials ?? '',
        currency: entry.currency,
        chart: options.chart ?? '',
      },
    };
  }

  async function doRecord(
    entry: AccountingEntry,
    key: string,
    attachments: readonly StoredAttachment[],
    signal: AbortSignal | undefined,
  ): Promise<RecordOutcome> {
    const early = staged.get(key);
    staged.delete(key);
    const dir = await directory();
    const existing = found(dir, key);
    if (existing) return { status: 'booked', ...existing };
    if (!KEY.test(key)) {
      return refuse(
        'validation_failure',
        `The entry id ${key.slice(0, 60)} cannot be written to DATEV (1-36 characters A-Z a-z 0-9 _ $ % - /).`,
      );
    }
    const problem = balanceProblem(entry);
    if (problem) {
      throw new AccountingSystemError(`Refusing to write an unbalanced entry: ${problem}`, {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      });
    }
    const rows = rowsOf(entry);
    if (!Array.isArray(rows)) return rows;
    const receipts =
      early !== undefined && early.count === attachments.length
        ? early.names
        : await storeReceipts(key, attachments);
    if (!Array.isArray(receipts)) return receipts;
    return serial(async () => {
      const again = found(dir, key); // recorded while this one waited for its turn
      if (again) return { status: 'booked', ...again };
      if (signal?.aborted) {
        throw new AccountingSystemError(`Writing entry ${key} to DATEV was cancelled before it started`, {
          code: 'ABORTED',
          retryable: true,
        });
      }
      const { group, label, header } = batchOf({ ...entry, accountingEntryId: key }, timestamp(now()));
      if (dir.openJob !== undefined && dir.openJob !== entry.jobId) await dir.sealAll();
      const file: ManifestFile = await dir.fileFor(group, entry.jobId, header, label);
      const [first, ...more] = receipts;
      const lines = entryLines({ ...entry, accountingEntryId: key }, rows, {
        beleglink: first === undefined ? '' : link(first, key),
        moreReceipts: more.map((name) => link(name, key)),
        receiptCount: receipts.length,
        ...(options.costCenters?.kost1 ? { kost1: options.costCenters.kost1 } : {}),
        ...(options.costCenters?.kost2 ? { kost2: options.costCenters.kost2 } : {}),
      });
      await dir.append(file, key, lines);
      const booked = found(dir, key);
      if (!booked) throw new Error('entry missing from the index after its write');
      return { status: 'booked' as const, ...booked };
    });
  }

  return {
    name: 'datev',
    supportsScaleOut: false,
    outputDir,

    async validate(_ctx: AdapterContext & { vendorBasedBookkeeping: boolean }): Promise<ValidationResult> {
      try {
        const dir = await directory();
        // A job starts: the files of the previous one are final from now on.
        await serial(() => dir.sealAll());
        return { ok: true };
      } catch (error) {
        // A directory locked by another process is transient and a damaged manifest ends the
        // job: both are thrown for the engine's fault policy. A directory that cannot be
        // created or written is a configuration problem.
        if (error instanceof AccountingSystemError) throw error;
        return {
          ok: false,
          failureReasonType: 'invalid_configuration',
          failureReason: `The DATEV output directory ${outputDir} cannot be written (${(error as Error).message}): check adapter.outputDir and the permissions of the pleo-export user.`,
        };
      }
    },

    async findExisting(idempotencyKey: string, _ctx: AdapterContext): Promise<RecordedEntry | null> {
      return found(await directory(), idempotencyKey);
    },

    async stageAttachments(attachments, ctx): Promise<ItemRefusal | null> {
      const names = await storeReceipts(ctx.idempotencyKey, attachments);
      if (!Array.isArray(names)) return names;
      staged.set(ctx.idempotencyKey, { count: attachments.length, names });
      return null;
    },

    record(entry, ctx): Promise<RecordOutcome> {
      const key = ctx.idempotencyKey;
      return inFlight.run(key, () => doRecord(entry, key, ctx.attachments, ctx.signal));
    },

    async close(): Promise<void> {
      await inFlight.settled();
      await chain;
      closed = true;
      const pending = dirPromise;
      dirPromise = undefined;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
}
