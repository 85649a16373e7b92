/**
 * The Xero adapter: books an entry as one Xero document (see `mapping.ts`) with its receipts
 * attached, exactly once.
 *
 * Exactly once rests on three things:
 * 1. an `Idempotency-Key` on every create (`<entry id>:<kind>`, `<attachment key>:attachment`):
 *    Xero answers a repeated key with the first answer and creates nothing;
 * 2. a progress record per entry in the engine's store (`deps.kv`, key `entry:<id>`), written
 *    BEFORE the create: `creating` → `attaching` (document id known) → `done`. A later call for the
 *    same entry reads it and looks the document up (`where=Reference=="<id>"`, …) instead of
 *    creating blindly, so a lost answer or a crash between create and answer books nothing twice,
 *    even after Xero has forgotten the idempotency key;
 * 3. the lookup keys live in the document (`Reference`, the end of `InvoiceNumber` / `Narration`).
 *
 * Receipts are read and checked before anything is created, so a missing file refuses the item
 * with nothing booked. A document is reported booked only when its receipts are attached.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { extensionForContentType } from '../../accounting/index.js';
import type { AccountingEntry } from '../../accounting/index.js';
import { AccountingSystemError } from '../../errors/index.js';
import type { components } from '../../generated/xero-accounting.js';
import type { AdapterDeps } from '../descriptor.js';
import { classifyAccountingError, jobFailureOf } from '../errors.js';
import type {
  AccountingAdapter,
  AdapterContext,
  ItemRefusal,
  RecordOutcome,
  RecordedEntry,
  StoredAttachment,
  ValidationResult,
} from '../types.js';
import type { CompiledXeroConfig } from './config.js';
import { createXeroHttp, type XeroHttp } from './http.js';
import { createTenantLimiter, realSleep, type LimiterClock } from './limiter.js';
import {
  assertEntryId,
  toXeroDocument,
  type BankTransaction,
  type Invoice,
  type ManualJournal,
  type XeroDocument,
} from './mapping.js';
import { createTokenSource, type TokenSource } from './oauth.js';

type Kind = XeroDocument['kind'];
type Attachment = components['schemas']['Attachment'];

/** Xero refuses attachments above 25 MB (10 per document). */
export const XERO_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
const MAX_ATTACHMENTS = 10;

interface Progress {
  kind: Kind;
  state: 'creating' | 'attaching' | 'done';
  /** Receipts the entry carries. */
  attachments: number;
  externalId?: string;
  recordedAt?: string;
}

export interface XeroAdapterInternals {
  sleep?: LimiterClock['sleep'];
  random?: () => number;
}

export interface XeroAdapter extends AccountingAdapter {
  /** The rate-limited, authorised HTTP client (used by `pleo-export check`). */
  readonly http: XeroHttp;
  readonly tokens: TokenSource;
}

const RESOURCES: Record<Kind, { path: string; list: string; id: string; where: (id: string) => string }> = {
  bank_transaction: {
    path: '/BankTransactions',
    list: 'BankTransactions',
    id: 'BankTransactionID',
    where: (id) => `Reference=="${id}"`,
  },
  bill: {
    path: '/Invoices',
    list: 'Invoices',
    id: 'InvoiceID',
    where: (id) => `Type=="ACCPAY" AND InvoiceNumber.EndsWith("${id}")`,
  },
  manual_journal: {
    path: '/ManualJournals',
    list: 'ManualJournals',
    id: 'ManualJournalID',
    where: (id) => `Narration.EndsWith("${id}")`,
  },
};

export function externalUrl(kind: Kind, id: string): string {
  switch (kind) {
    case 'bank_transaction':
      return `https://go.xero.com/Bank/ViewTransaction.aspx?bankTransactionID=${id}`;
    case 'bill':
      return `https://go.xero.com/AccountsPayable/View.aspx?InvoiceID=${id}`;
    case 'manual_journal':
      return `https://go.xero.com/Journal/View.aspx?invoiceID=${id}`;
    default: {
      const never: never = kind;
      return String(never);
    }
  }
}

/** Xero's `/Date(1551212901659+0000)/` (or an ISO string) → ISO date-time. */
export function xeroDate(value: unknown, fallback: number): string {
  if (typeof value === 'string') {
    const m = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
    if (m) return new Date(Number(m[1])).toISOString();
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  return new Date(fallback).toISOString();
}

function fileName(attachment: StoredAttachment): string {
  return `${attachment.key}.${extensionForContentType(attachment.contentType)}`;
}

export function createXeroAdapter(
  config: CompiledXeroConfig,
  deps: AdapterDeps,
  internals: XeroAdapterInternals = {},
): XeroAdapter {
  const clock: LimiterClock = { now: deps.now, sleep: internals.sleep ?? realSleep };
  const tokens = createTokenSource({
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    seedRefreshToken: config.refreshToken,
    tokenUrl: config.tokenUrl,
    kv: deps.kv,
    key: `oauth:${config.clientId}:${config.tenantId}`,
    fetch: deps.fetch,
    now: deps.now,
    timeoutMs: config.timeoutMs,
  });
  const http = createXeroHttp({
    baseUrl: config.baseUrl,
    tenantId: config.tenantId,
    tokens,
    limiter: createTenantLimiter(config.rateLimit, clock),
    clock,
    fetch: deps.fetch,
    timeoutMs: config.timeoutMs,
    maxAttempts: config.rateLimit.maxAttempts,
    maxDelayMs: config.rateLimit.maxDelayMs,
    ...(internals.random ? { random: internals.random } : {}),
  });
  const inflight = new Map<string, Promise<RecordOutcome>>();
  let baseCurrency: Promise<string> | undefined = config.baseCurrency
    ? Promise.resolve(config.baseCurrency)
    : undefined;

  const progressKey = (id: string): string => `entry:${id}`;
  async function readProgress(id: string): Promise<Progress | null> {
    const raw = await deps.kv.getValue(progressKey(id));
    return raw === null ? null : (JSON.parse(raw) as Progress);
  }
  const writeProgress = (id: string, p: Progress): Promise<void> =>
    deps.kv.setValue(progressKey(id), JSON.stringify(p));

  /** Throws for a refusal where only infrastructure failures are expected (reads). */
  function expectOk<T>(answer: { ok: true; body: T } | ({ ok: false } & ItemRefusal), what: string): T {
    if (answer.ok) return answer.body;
    throw new AccountingSystemError(`Xero refused ${what}: ${answer.failureReason}`, {
      code: 'ACCOUNTING_REJECTED',
      retryable: false,
    });
  }

  function organisationCurrency(signal?: AbortSignal): Promise<string> {
    baseCurrency ??= (async () => {
      const body = expectOk(
        await http.call<components['schemas']['Organisations']>({
          method: 'GET',
          path: '/Organisation',
          signal,
        }),
        'GET /Organisation',
      );
      const code = body.Organisations?.[0]?.BaseCurrency;
      if (typeof code !== 'string')
        throw new AccountingSystemError('Xero /Organisation has no BaseCurrency', {
          code: 'ACCOUNTING_REJECTED',
          retryable: false,
        });
      return code;
    })().catch((error: unknown) => {
      baseCurrency = undefined;
      throw error;
    });
    return baseCurrency;
  }

  /** The document of `kind` holding the entry's id, or null. */
  async function lookup(
    kind: Kind,
    id: string,
    signal?: AbortSignal,
  ): Promise<{ id: string; updated: unknown } | null> {
    const r = RESOURCES[kind];
    const body = expectOk(
      await http.call<Record<string, Record<string, unknown>[] | undefined>>({
        method: 'GET',
        path: r.path,
        query: { where: r.where(assertEntryId(id)) },
        signal,
      }),
      `GET ${r.path}`,
    );
    const found = (body[r.list] ?? []).filter((d) => d['Status'] !== 'DELETED' && d['Status'] !== 'VOIDED');
    const doc = found[0];
    const docId = doc?.[r.id];
    return typeof docId === 'string' ? { id: docId, updated: doc?.['UpdatedDateUTC'] } : null;
  }

  async function attachedNames(kind: Kind, docId: string, signal?: AbortSignal): Promise<Set<string>> {
    const r = RESOURCES[kind];
    const body = expectOk(
      await http.call<{ Attachments?: Attachment[] }>({
        method: 'GET',
        path: `${r.path}/${encodeURIComponent(docId)}/Attachments`,
        signal,
      }),
      `GET ${r.path}/…/Attachments`,
    );
    return new Set((body.Attachments ?? []).map((a) => a.FileName ?? ''));
  }

  async function readReceipts(
    attachments: readonly StoredAttachment[],
  ): Promise<
    | { ok: true; files: { attachment: StoredAttachment; bytes: Uint8Array }[] }
    | { ok: false; refusal: ItemRefusal }
  > {
    if (attachments.length > MAX_ATTACHMENTS) {
      return {
        ok: false,
        refusal: {
          status: 'failed',
          failureReasonType: 'receipt_upload_failure',
          failureReason: `Xero takes at most ${MAX_ATTACHMENTS} attachments per document; this expense has ${attachments.length}.`,
        },
      };
    }
    const files: { attachment: StoredAttachment; bytes: Uint8Array }[] = [];
    for (const attachment of attachments) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(attachment.path);
      } catch (error) {
        return {
          ok: false,
          refusal: {
            status: 'failed',
            failureReasonType: 'receipt_upload_failure',
            failureReason: `Receipt ${attachment.name} could not be read for upload to Xero (${(error as NodeJS.ErrnoException).code ?? 'error'}): export the expense again.`,
          },
        };
      }
      if (bytes.byteLength > XERO_MAX_ATTACHMENT_BYTES) {
        return {
          ok: false,
          refusal: {
            status: 'failed',
            failureReasonType: 'receipt_file_size_limit_exceeded',
            failureReason: `Receipt ${attachment.name} is ${Math.ceil(bytes.byteLength / 1048576)} MB; Xero takes at most 25 MB per attachment.`,
          },
        };
      }
      files.push({ attachment, bytes });
    }
    return { ok: true, files };
  }

  async function create(
    document: XeroDocument,
    id: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true; id: string; updated: unknown } | { ok: false; refusal: ItemRefusal }> {
    const r = RESOURCES[document.kind];
    const payload = { [r.list]: [document.body] };
    const body = JSON.stringify(payload);
    const answer = await http.call<
      Record<string, (Record<string, unknown> & { ValidationErrors?: { Message?: string }[] })[] | undefined>
    >({
      method: 'PUT',
      path: r.path,
      query: { summarizeErrors: 'true' },
      json: payload,
      // The body's digest is part of the key: Xero answers a repeated key with its first answer,
      // refusals included, so a corrected entry (new body) must not replay an old refusal.
      idempotencyKey: `${id}:${document.kind}:${createHash('sha256').update(body).digest('hex').slice(0, 16)}`,
      signal,
    });
    if (!answer.ok) return { ok: false, refusal: answer };
    const created = answer.body[r.list]?.[0];
    const docId = created?.[r.id];
    if (typeof docId !== 'string') {
      throw new AccountingSystemError(`Xero PUT ${r.path} answered without ${r.id}`, {
        code: 'ACCOUNTING_UNREACHABLE',
        retryable: true,
      });
    }
    return { ok: true, id: docId, updated: created?.['UpdatedDateUTC'] };
  }

  async function recordOnce(
    entry: AccountingEntry,
    ctx: AdapterContext & { idempotencyKey: string; attachments: readonly StoredAttachment[] },
  ): Promise<RecordOutcome> {
    const id = assertEntryId(ctx.idempotencyKey);
    const signal = ctx.signal;
    let progress = await readProgress(id);
    if (progress?.state === 'done' && progress.externalId !== undefined) {
      return booked(progress.kind, progress.externalId, progress.recordedAt);
    }
    const receipts = await readReceipts(ctx.attachments);
    if (!receipts.ok) return receipts.refusal;
    let kind: Kind;
    let docId: string | undefined = progress?.externalId;
    let updated: unknown;
    // Created by this very call: it has no attachments yet, no need to list them.
    const fresh = progress === null;
    if (progress === null) {
      const needsBase = config.baseCurrency === undefined;
      const mapped = toXeroDocument(
        entry,
        config,
        needsBase ? await organisationCurrency(signal) : config.baseCurrency,
      );
      if (!mapped.ok) return mapped.refusal;
      kind = mapped.document.kind;
      progress = { kind, state: 'creating', attachments: receipts.files.length };
      await writeProgress(id, progress);
      const made = await create(mapped.document, id, signal);
      if (!made.ok) {
        // Xero created nothing: forget the attempt so a corrected re-export starts afresh.
        await deps.kv.setValue(progressKey(id), null);
        return made.refusal;
      }
      docId = made.id;
      updated = made.updated;
    } else {
      kind = progress.kind;
      if (docId === undefined) {
        const found = await lookup(kind, id, signal);
        if (found !== null) {
          docId = found.id;
          updated = found.updated;
        } else {
          const mapped = toXeroDocument(
            entry,
            config,
            config.baseCurrency ?? (await organisationCurrency(signal)),
          );
          if (!mapped.ok) {
            await deps.kv.setValue(progressKey(id), null);
            return mapped.refusal;
          }
          const made = await create(mapped.document, id, signal);
          if (!made.ok) {
            await deps.kv.setValue(progressKey(id), null);
            return made.refusal;
          }
          docId = made.id;
          updated = made.updated;
        }
      }
    }
    await writeProgress(id, {
      kind,
      state: 'attaching',
      attachments: receipts.files.length,
      externalId: docId,
    });
    if (receipts.files.length > 0) {
      const present = fresh ? new Set<string>() : await attachedNames(kind, docId, signal);
      for (const { attachment, bytes } of receipts.files) {
        const name = fileName(attachment);
        if (present.has(name)) continue;
        const answer = await http.call({
          method: 'PUT',
          path: `${RESOURCES[kind].path}/${encodeURIComponent(docId)}/Attachments/${encodeURIComponent(name)}`,
          bytes,
          // Xero's spec declares octet-stream; Xero derives the file type from the name's extension.
          contentType: 'application/octet-stream',
          idempotencyKey: `${attachment.key}:attachment`,
          signal,
        });
        if (!answer.ok) {
          return {
            status: 'failed',
            failureReasonType: 'receipt_upload_failure',
            failureReason: `Xero refused receipt ${attachment.name}: ${answer.failureReason}`,
          };
        }
      }
    }
    const recordedAt = xeroDate(updated, deps.now());
    await writeProgress(id, {
      kind,
      state: 'done',
      attachments: receipts.files.length,
      externalId: docId,
      recordedAt,
    });
    return booked(kind, docId, recordedAt);
  }

  function booked(kind: Kind, externalId: string, recordedAt?: string): RecordOutcome {
    return {
      status: 'booked',
      externalId,
      externalUrl: externalUrl(kind, externalId),
      recordedAt: recordedAt ?? new Date(deps.now()).toISOString(),
    };
  }

  return {
    name: 'xero',
    // Refresh tokens are single-use: two processes refreshing one connection would lock each
    // other out, and the per-tenant limits are counted in-process.
    supportsScaleOut: false,
    http,
    tokens,

    async validate(ctx): Promise<ValidationResult> {
      try {
        const currency = await organisationCurrency(ctx.signal);
        if (currency.length !== 3) throw new Error('no base currency');
        return { ok: true };
      } catch (error) {
        // The one fault policy (adapters/errors.ts): a transient fault is the engine's to retry;
        // anything else that is not the adapter's own fault is a refusal with its job type.
        if (!(error instanceof AccountingSystemError) || classifyAccountingError(error).kind === 'transient')
          throw error;
        return { ok: false, ...jobFailureOf(error) };
      }
    },

    async findExisting(key, ctx): Promise<RecordedEntry | null> {
      const id = assertEntryId(key);
      const progress = await readProgress(id);
      if (progress?.state === 'done' && progress.externalId !== undefined) {
        const {
          externalId,
          externalUrl: url,
          recordedAt,
        } = booked(progress.kind, progress.externalId, progress.recordedAt) as RecordedEntry;
        return { externalId, ...(url ? { externalUrl: url } : {}), recordedAt };
      }
      const kinds: Kind[] = progress ? [progress.kind] : ['bank_transaction', 'bill', 'manual_journal'];
      for (const kind of kinds) {
        const found =
          progress?.externalId !== undefined
            ? { id: progress.externalId, updated: undefined }
            : await lookup(kind, id, ctx.signal);
        if (found === null) continue;
        const expected = progress?.attachments ?? 0;
        if (expected > 0 && (await attachedNames(kind, found.id, ctx.signal)).size < expected) {
          // Booked but its receipts are not all attached: let `record` finish it.
          await writeProgress(id, { kind, state: 'attaching', attachments: expected, externalId: found.id });
          return null;
        }
        const recordedAt = xeroDate(found.updated, deps.now());
        await writeProgress(id, {
          kind,
          state: 'done',
          attachments: expected,
          externalId: found.id,
          recordedAt,
        });
        return { externalId: found.id, externalUrl: externalUrl(kind, found.id), recordedAt };
      }
      return null;
    },

    record(entry, ctx): Promise<RecordOutcome> {
      const running = inflight.get(ctx.idempotencyKey);
      if (running) return running;
      const p = recordOnce(entry, ctx).finally(() => inflight.delete(ctx.idempotencyKey));
      inflight.set(ctx.idempotencyKey, p);
      return p;
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

export type { BankTransaction, Invoice, ManualJournal };
