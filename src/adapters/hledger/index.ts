/**
 * hledger journal adapter: the embedded default accounting system. Writes plain-text double-entry
 * journals that `hledger check --strict` accepts (accounts and commodities declared lazily, in the
 * same append as the transaction that first uses them).
 *
 * - Draft entries are pending (`!`), final entries cleared (`*`).
 * - Every transaction carries `pleo-entry:<id>` (plus `pleo-job`, `pleo-reconciliation`); the
 *   adapter indexes these on open, so an entry is never written twice, across restarts too.
 * - `externalId` is the transaction code (`P000042`, stable, never reused once written);
 *   `externalUrl` is `file://<journal>#L<line of the transaction>`.
 * - Receipts are copied to `attachmentsDir`, one folder per company, under deterministic names
 *   (mode 0640, identity by SHA-256, never through a symbolic link) and linked by relative path
 *   (`; receipt:receipts/<company id>/<id>-0.pdf`). A new name is a hard link to the downloaded
 *   file (one `link`; a copy across file systems). Receipts are synced, with their folder, before
 *   the journal append that names them: the syncs start when the receipt is placed and the append
 *   waits for them; a folder's syncs are coalesced (one in flight, one queued).
 * - Supplier-currency amounts are kept as a `supplier-amount:` tag (default: balances stay in the
 *   wallet currency, which is what the books are kept in) or, with `costNotation: 'cost'`, as
 *   hledger `@@` costs (expense accounts then hold the supplier currency; use `hledger bal -B`).
 * - One writer at a time (`<journal>.lock`); not for scale-out.
 *
 * @example
 * const adapter = createHledgerAdapter({ journalPath: '/data/books/pleo.journal' });
 * const outcome = await adapter.record(entry, { companyId, idempotencyKey: entry.accountingEntryId, attachments });
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fdatasync,
  fsync,
  linkSync,
  lstatSync,
  openSync,
  type Stats,
} from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  balanceProblem,
  extensionForContentType,
  quoteUntrusted,
  type AccountingEntry,
} from '../../accounting/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import { keyedSingleFlight } from '../single-flight.js';
import type {
  AccountingAdapter,
  AdapterContext,
  BatchEntry,
  ItemRefusal,
  RecordedEntry,
  RecordOutcome,
  StoredAttachment,
  ValidationResult,
} from '../types.js';
import {
  accountNameProblem,
  entryKeyProblem,
  journalDateProblem,
  renderBlock,
  type CostNotation,
} from './format.js';
import { JournalFile, type FaultHooks } from './journal.js';

export type { CostNotation } from './format.js';
export type { FaultHooks } from './journal.js';

export interface HledgerAdapterOptions {
  /** The journal file; created (with its directory) when missing. */
  journalPath: string;
  /** Where receipts are copied. @default `<journal dir>/receipts` */
  attachmentsDir?: string;
  /** How the supplier-currency amount is kept. @default 'tag' */
  costNotation?: CostNotation;
  /** Readable names for `account` directives (e.g. from the chart of accounts). */
  accountNames?: ReadonlyMap<string, string>;
  /**
   * Group commit. Records arriving while a write is in flight are always written together in the
   * next batch (one write, one fsync). `tick` also waits one event-loop turn before the first
   * write, to gather records that arrive together. Sequential and concurrent callers measured
   * alike with either setting (the in-flight batching already amortises the fsync), so the
   * default does not wait.
   * @default 'immediate'
   */
  batchWindow?: 'immediate' | 'tick';
  /** Clock for `pleo-recorded` (tests). */
  now?: () => Date;
  /** Crash-test hooks called at points of the write path. Never set in production. */
  faultHooks?: FaultHooks;
}

export interface HledgerAdapter extends AccountingAdapter {
  readonly journalPath: string;
}

interface Pending {
  key: string;
  entry: AccountingEntry;
  receipts: string[];
  /** The receipts and their folders synced (started when they were placed). */
  synced: Promise<void>;
  resolve: (value: RecordOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Puts the bytes of `source` at `tmp`: a hard link when both are on one file system (no bytes
 * copied; the engine never rewrites a downloaded receipt in place, it replaces it by rename), a
 * copy otherwise. The caller renames `tmp` into place; the journal append syncs it.
 */
async function placeCopy(source: string, tmp: string, again = false): Promise<void> {
  try {
    await link(source, tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && !again) {
      await rm(tmp, { force: true }); // left by a crash mid-copy
      return placeCopy(source, tmp, true);
    }
    await copyFile(source, tmp); // another file system, or links not allowed
  }
}

/** Mode of a receipt next to the journal: like the journal, readable by its group, not by others. */
const RECEIPT_MODE = 0o640;

/** A file-name-safe form of an id (company ids and entry keys are uuids; anything else is tamed). */
function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

/** SHA-256 of `path` when it is a regular file, read without following a symbolic link; else null. */
async function regularFileHash(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (!(await handle.stat()).isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/**
 * True when `target` already holds the receipt `incoming` (at `source`): the same file (a hard
 * link placed earlier) or the same content by SHA-256 — never by size, and never through a
 * symbolic link.
 */
async function sameReceipt(
  source: string,
  incoming: Stats,
  target: string,
  sha256: string | undefined,
): Promise<boolean> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isFile() !== true) return false;
  if (existing.ino === incoming.ino && existing.dev === incoming.dev) return true;
  if (existing.size !== incoming.size) return false;
  const wanted = sha256 ?? (await regularFileHash(source));
  return wanted !== null && (await regularFileHash(target)) === wanted;
}

/**
 * Syncs a receipt (`fdatasync`: its bytes and size) or a folder (`fsync`: the names in it), opened
 * read-only and never through a symbolic link. Only the sync, which waits for the disk, goes to
 * libuv's thread pool; the open and close are made here (some 30 µs each, less than a trip through
 * the pool: a futex wake-up, a thread switch and an eventfd write, on cores shared with the rest).
 */
async function syncPath(path: string, folder = false): Promise<void> {
  const fd = openSync(path, constants.O_RDONLY | (folder ? constants.O_DIRECTORY : constants.O_NOFOLLOW));
  try {
    await new Promise<void>((resolvePromise, rejectPromise) => {
      (folder ? fsync : fdatasync)(fd, (error) => (error ? rejectPromise(error) : resolvePromise()));
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * Group sync of one folder: a caller gets a sync that starts after its call (so it covers the
 * names it placed before calling): the one queued behind a sync in flight, shared by everyone who
 * asks meanwhile, or a new one when none is in flight.
 */
function folderSyncer(dir: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const start = (): Promise<void> => {
    const sync = syncPath(dir, true).finally(() => {
      if (running === sync) running = null;
    });
    running = sync;
    return sync;
  };
  return () => {
    if (running === null) return start();
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = null;
        return start();
      });
    return queued;
  };
}

/** A receipt that could not be stored next to the journal fails its item (permanent). */
function receiptRefusal(what: string, error: unknown): ItemRefusal {
  return {
    status: 'failed',
    failureReasonType: 'receipt_upload_failure',
    failureReason: `${what} could not be stored next to the journal (${(error as Error).message}). Export the expense again to retry.`,
  };
}

export function createHledgerAdapter(options: HledgerAdapterOptions): HledgerAdapter {
  const journalPath = resolve(options.journalPath);
  const attachmentsDir = resolve(options.attachmentsDir ?? join(dirname(journalPath), 'receipts'));
  const costNotation = options.costNotation ?? 'tag';
  const waitTick = options.batchWindow === 'tick';
  const now = options.now ?? (() => new Date());
  let journalPromise: Promise<JournalFile> | undefined;
  let closed = false;
  const inFlight = keyedSingleFlight<RecordOutcome>();
  let queue: Pending[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let scheduled = false;

  const journal = (): Promise<JournalFile> => {
    if (closed) {
      return Promise.reject(
        new AccountingSystemError('The hledger adapter is closed', {
          code: 'ACCOUNTING_UNREACHABLE',
          retryable: true,
        }),
      );
    }
    if (!journalPromise) {
      const opening = JournalFile.open(journalPath, options.faultHooks ?? {});
      journalPromise = opening;
      // A failed open (lock held, damaged file) is retried on the next call.
      opening.catch(() => {
        if (journalPromise === opening) journalPromise = undefined;
      });
    }
    return journalPromise;
  };

  const recorded = (file: JournalFile, key: string): RecordedEntry | null => {
    const found = file.index.get(key);
    if (!found) return null;
    return {
      externalId: found.code,
      externalUrl: `${pathToFileURL(journalPath).href}#L${found.line}`,
      recordedAt: found.recordedAt,
    };
  };

  async function flushBatch(): Promise<void> {
    scheduled = false;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let file: JournalFile;
    try {
      file = await journal();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    try {
      await file.refreshIfChanged();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const unrecorded = batch.filter((p) => {
      const found = recorded(file, p.key);
      if (found) p.resolve({ status: 'booked', ...found });
      return !found;
    });
    // The receipts the blocks name are on disk before the blocks are (issue 20): synced in the
    // background since they were placed, each folder once per sync group, not per file.
    const syncErrors = await Promise.all(
      unrecorded.map((p) =>
        p.synced.then(
          () => null,
          (error: unknown) => error,
        ),
      ),
    );
    const fresh = unrecorded.filter((p, i) => {
      const error = syncErrors[i];
      if (error !== null && error !== undefined) p.resolve(receiptRefusal('The receipts', error));
      return error === null;
    });
    if (fresh.length === 0) return;
    if (unrecorded.some((p) => p.receipts.length > 0)) options.faultHooks?.receiptsSynced?.();
    const accounts = new Set(file.declaredAccounts);
    const commodities = new Set(file.declaredCommodities);
    let number = file.lastNumber;
    const recordedAt = now().toISOString();
    // An entry the journal cannot represent is refused alone; the rest of the batch is written.
    const writable: Pending[] = [];
    const rendered: { code: string; block: ReturnType<typeof renderBlock> }[] = [];
    for (const p of fresh) {
      const code = `P${String(number + 1).padStart(6, '0')}`;
      try {
        const block = renderBlock(
          { ...p.entry, accountingEntryId: p.key },
          { declaredAccounts: accounts, declaredCommodities: commodities },
          {
            code,
            recordedAt,
            receipts: p.receipts,
            costNotation,
            ...(options.accountNames ? { accountNames: options.accountNames } : {}),
          },
        );
        number += 1;
        for (const a of block.newAccounts) accounts.add(a);
        for (const c of block.newCommodities) commodities.add(c);
        writable.push(p);
        rendered.push({ code, block });
      } catch (error) {
        p.reject(
          new AccountingSystemError(
            `The entry cannot be written to the journal: ${(error as Error).message}`,
            {
              code: 'ACCOUNTING_REJECTED',
              retryable: false,
              cause: error,
            },
          ),
        );
      }
    }
    if (writable.length === 0) return;
    try {
      const startLines = await file.appendBlocks(rendered.map((r) => r.block.text));
      file.lastNumber = number;
      for (const a of accounts) file.declaredAccounts.add(a);
      for (const c of commodities) file.declaredCommodities.add(c);
      writable.forEach((p, i) => {
        const r = rendered[i];
        const start = startLines[i];
        if (!r || start === undefined) return;
        file.index.set(p.key, { code: r.code, line: start + r.block.headerLine, recordedAt });
        const found = recorded(file, p.key);
        if (found) p.resolve({ status: 'booked', ...found });
      });
    } catch (error) {
      for (const p of writable) p.reject(error);
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    const run = (): void => {
      flushing = flushing.then(flushBatch, flushBatch);
    };
    if (waitTick) setImmediate(run);
    else run();
  }

  /**
   * Receipts placed by `stageAttachments`, by entry key, until `record` links them (their sync
   * runs meanwhile). Bounded by the engine's in-flight window; empty after a restart (the copy is
   * then checked again).
   */
  const staged = new Map<string, { count: number; placed: Placed }>();
  /** Receipt folders made by this adapter (one `mkdir` each, again only if one goes away). */
  const madeDirs = new Set<string>();
  const folderSyncs = new Map<string, () => Promise<void>>();

  interface Placed {
    links: string[];
    /** Every placed receipt and its folder synced; the journal append naming them waits for it. */
    synced: Promise<void>;
  }

  async function makeDir(dir: string, again = false): Promise<void> {
    if (madeDirs.has(dir) && !again) return;
    await mkdir(dir, { recursive: true, mode: 0o750 });
    madeDirs.add(dir);
  }

  /**
   * Puts the receipt at `source` at `target`: a new name is one hard link to the downloaded file
   * (the engine wrote it 0640; the mode is set only when it is not); a name already holding the
   * same file or content is kept; anything else (other content, a link, another file system) is
   * replaced atomically through a temporary file and a rename, which replaces a link at `target`
   * itself, never what it points to.
   */
  async function placeReceipt(source: string, target: string, sha256: string | undefined): Promise<void> {
    // lstat and link made here, not in the thread pool (see syncPath): the usual case is these two.
    const incoming = lstatSync(source);
    if (!incoming.isFile()) throw new Error(`the downloaded receipt ${source} is not a regular file`);
    if (source === target) return;
    const dir = dirname(target);
    let code: string | undefined;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        linkSync(source, target);
        if ((incoming.mode & 0o777) !== RECEIPT_MODE) chmodSync(target, RECEIPT_MODE);
        return;
      } catch (error) {
        code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || attempt > 0) break;
        await makeDir(dir, true); // the folder went away
      }
    }
    if (code === 'EEXIST' && (await sameReceipt(source, incoming, target, sha256))) return;
    const tmp = `${target}.tmp-${process.pid}`;
    await placeCopy(source, tmp);
    await chmod(tmp, RECEIPT_MODE);
    await rename(tmp, target);
  }

  async function storeReceipts(
    companyId: string,
    key: string,
    attachments: readonly StoredAttachment[],
  ): Promise<Placed | ItemRefusal> {
    if (attachments.length === 0) return { links: [], synced: Promise.resolve() };
    // One folder per company: companies sharing a journal folder never share a receipt name.
    const dir = join(attachmentsDir, safeName(companyId));
    await makeDir(dir);
    const links: string[] = [];
    const targets: string[] = [];
    for (const attachment of attachments) {
      let ext = extensionForContentType(attachment.contentType);
      if (ext === 'bin')
        ext =
          extname(attachment.name)
            .slice(1)
            .replace(/[^A-Za-z0-9]/g, '') || 'bin';
      const target = join(dir, `${safeName(attachment.key || key)}.${ext}`);
      try {
        await placeReceipt(resolve(attachment.path), target, attachment.sha256);
      } catch (error) {
        return receiptRefusal(`Receipt ${attachment.name}`, error);
      }
      targets.push(target);
      const link = relative(dirname(journalPath), target);
      links.push(isAbsolute(link) ? link : link.split(sep).join('/'));
    }
    // Started now, awaited by the journal append that names them (flushBatch).
    let syncFolder = folderSyncs.get(dir);
    if (syncFolder === undefined) folderSyncs.set(dir, (syncFolder = folderSyncer(dir)));
    const synced = Promise.all([...targets.map((t) => syncPath(t)), syncFolder()]).then(() => undefined);
    synced.catch(() => undefined); // surfaces in flushBatch
    return { links, synced };
  }

  /** An entry checked and its receipts placed: ready to join the next append. */
  type Ready = Omit<Pending, 'resolve' | 'reject'>;

  /**
   * Everything `record` does before the entry joins the queue: found already (its outcome), refused
   * (its refusal), or ready to write. Throws what `record` throws.
   */
  async function prepare(
    entry: AccountingEntry,
    companyId: string,
    key: string,
    attachments: readonly StoredAttachment[],
  ): Promise<{ outcome: RecordOutcome } | { ready: Ready }> {
    const early = staged.get(key);
    staged.delete(key);
    const file = await journal();
    const existing = recorded(file, key);
    if (existing) return { outcome: { status: 'booked', ...existing } };
    const problem = balanceProblem(entry);
    if (problem) {
      throw new AccountingSystemError(`Refusing to write an unbalanced entry: ${problem}`, {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
      });
    }
    const keyProblem = entryKeyProblem(key);
    if (keyProblem) {
      return {
        outcome: {
          status: 'failed',
          failureReasonType: 'validation_failure',
          failureReason: `The entry id ${quoteUntrusted(key)} cannot mark an entry in the hledger journal because ${keyProblem}. Report the expense to Pleo support.`,
        },
      };
    }
    const dateProblem = journalDateProblem(entry.date);
    if (dateProblem) {
      return {
        outcome: {
          status: 'failed',
          failureReasonType: 'validation_failure',
          failureReason: `The posting date ${quoteUntrusted(entry.date)} cannot be written to the hledger journal: ${dateProblem}. Check the expense date in Pleo.`,
        },
      };
    }
    for (const posting of entry.postings) {
      const why = accountNameProblem(posting.account);
      if (why) {
        return {
          outcome: {
            status: 'failed',
            failureReasonType: 'account_unknown',
            failureReason: `Account No. ${quoteUntrusted(posting.account)} cannot be used in the hledger journal because ${why}. Check Category.`,
          },
        };
      }
    }
    const placed =
      early !== undefined && early.count === attachments.length
        ? early.placed
        : await storeReceipts(companyId, key, attachments);
    if ('status' in placed) return { outcome: placed };
    return { ready: { key, entry, receipts: placed.links, synced: placed.synced } };
  }

  function enqueue(ready: Ready): Promise<RecordOutcome> {
    return new Promise<RecordOutcome>((resolvePromise, rejectPromise) => {
      queue.push({ ...ready, resolve: resolvePromise, reject: rejectPromise });
      schedule();
    });
  }

  async function doRecord(
    entry: AccountingEntry,
    companyId: string,
    key: string,
    attachments: readonly StoredAttachment[],
  ): Promise<RecordOutcome> {
    const prepared = await prepare(entry, companyId, key, attachments);
    return 'outcome' in prepared ? prepared.outcome : enqueue(prepared.ready);
  }

  /**
   * Prepares the entries together, then queues them in the order given in one go, so that one
   * append (one write, one fsync) holds them in that order. An entry whose `record` is already
   * running joins that call (single flight) and is not queued again.
   */
  async function recordMany(
    entries: readonly BatchEntry[],
    companyId: string,
  ): Promise<PromiseSettledResult<RecordOutcome>[]> {
    const mine: { item: BatchEntry; resolve: (o: RecordOutcome) => void; reject: (e: unknown) => void }[] =
      [];
    const results = entries.map((item) =>
      inFlight.run(
        item.idempotencyKey,
        () =>
          new Promise<RecordOutcome>((resolvePromise, rejectPromise) => {
            mine.push({ item, resolve: resolvePromise, reject: rejectPromise });
          }),
      ),
    );
    const prepared = await Promise.allSettled(
      mine.map(({ item }) => prepare(item.entry, companyId, item.idempotencyKey, item.attachments)),
    );
    let queued = false;
    prepared.forEach((result, i) => {
      const { resolve: resolvePromise, reject: rejectPromise } = mine[i]!;
      if (result.status === 'rejected') rejectPromise(result.reason);
      else if ('outcome' in result.value) resolvePromise(result.value.outcome);
      else {
        queue.push({ ...result.value.ready, resolve: resolvePromise, reject: rejectPromise });
        queued = true;
      }
    });
    if (queued) schedule();
    return Promise.allSettled(results);
  }

  return {
    name: 'hledger',
    supportsScaleOut: false,
    journalPath,

    async validate(_ctx: AdapterContext & { vendorBasedBookkeeping: boolean }): Promise<ValidationResult> {
      try {
        await journal();
        return { ok: true };
      } catch (error) {
        // A journal locked by another process is transient and a damaged one ends the job: both
        // are thrown for the engine's fault policy. A file that cannot be opened is a refusal.
        if (error instanceof AccountingSystemError) throw error;
        return {
          ok: false,
          failureReasonType: 'invalid_configuration',
          failureReason: `The hledger journal ${journalPath} cannot be opened for writing: ${(error as Error).message}`,
        };
      }
    },

    async findExisting(idempotencyKey: string, _ctx: AdapterContext): Promise<RecordedEntry | null> {
      return recorded(await journal(), idempotencyKey);
    },

    async stageAttachments(attachments, ctx): Promise<ItemRefusal | null> {
      // Placed now, while earlier entries are written (their sync runs on); `record` links them.
      const placed = await storeReceipts(ctx.companyId, ctx.idempotencyKey, attachments);
      if ('status' in placed) return placed;
      staged.set(ctx.idempotencyKey, { count: attachments.length, placed });
      return null;
    },

    record(entry, ctx): Promise<RecordOutcome> {
      const key = ctx.idempotencyKey;
      return inFlight.run(key, () => doRecord(entry, ctx.companyId, key, ctx.attachments));
    },

    recordBatch(entries, ctx): Promise<PromiseSettledResult<RecordOutcome>[]> {
      return recordMany(entries, ctx.companyId);
    },

    async close(): Promise<void> {
      await inFlight.settled();
      await flushing;
      closed = true;
      const pending = journalPromise;
      journalPromise = undefined;
      if (pending) await (await pending.catch(() => undefined))?.close();
    },
  };
}
