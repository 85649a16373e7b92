/**
 * Generic HTTP adapter for in-house ERPs: posts the system-neutral entry as JSON with an
 * `Idempotency-Key` header (the accountingEntryId), uploads receipts first (idempotent by their
 * deterministic key), and looks entries up by key for reconciliation. The protocol is documented
 * in `openapi/accounting-http-adapter.openapi.yml`; `receiver.ts` (the reference receiver) implements it.
 *
 * One request per call, no internal retries: the engine retries what is `retryable`, and the
 * idempotency key makes every retry safe.
 */
import { readFile } from 'node:fs/promises';

import { AccountingSystemError } from '../../errors/index.js';
import type {
  AccountingAdapter,
  ItemRefusal,
  RecordedEntry,
  RecordOutcome,
  StoredAttachment,
  ValidationResult,
} from '../types.js';
import {
  classifyHttpError,
  isJobFailureType,
  PROTOCOL_VERSION,
  type CreateEntryRequest,
  type EntryRecord,
  type ErrorBody,
} from './protocol.js';

export interface HttpAdapterOptions {
  /** Base URL of the ERP's implementation, e.g. `https://erp.example.com/pleo`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** Injected fetch (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Adapter name in logs and metrics. @default 'http' */
  name?: string;
}

type Answer = { status: number; body: unknown; retryAfter: string | null };

export function createHttpAdapter(options: HttpAdapterOptions): AccountingAdapter {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const doFetch = options.fetch ?? globalThis.fetch;
  /**
   * Receipts stored by `stageAttachments` in this process and not yet consumed by `record`
   * (company + attachment key → size). Bounded by the engine's in-flight window; after a restart
   * it is empty and `record` uploads again under the same key (idempotent).
   */
  const staged = new Map<string, number>();
  const stagedKey = (companyId: string, a: StoredAttachment): string => `${companyId}\u0000${a.key}`;

  async function call(
    method: string,
    path: string,
    init: {
      body?: string | Uint8Array;
      headers?: Record<string, string>;
      companyId: string;
      signal?: AbortSignal | undefined;
    },
  ): Promise<Answer> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-pleo-company-id': init.companyId,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...init.headers,
    };
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        signal,
        ...(init.body === undefined ? {} : { body: init.body }),
      });
    } catch (error) {
      if (init.signal?.aborted) {
        throw new AccountingSystemError(`${method} ${path} was cancelled`, {
          code: 'ABORTED',
          retryable: true,
          method,
          path,
          cause: error,
        });
      }
      const timedOut = timeout.aborted;
      throw new AccountingSystemError(
        `${method} ${path} ${timedOut ? `timed out after ${timeoutMs} ms` : `failed: ${(error as Error).message}`}`,
        {
          code: timedOut ? 'ACCOUNTING_TIMEOUT' : 'ACCOUNTING_UNREACHABLE',
          retryable: true,
          method,
          path,
          cause: error,
        },
      );
    }
    const text = await response.text().catch(() => '');
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = { message: text.slice(0, 500) };
      }
    }
    return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
  }

  const errorBody = (body: unknown): ErrorBody => {
    if (!body || typeof body !== 'object') return {};
    const b = body as Record<string, unknown>;
    return {
      ...(typeof b['type'] === 'string' ? { type: b['type'] } : {}),
      ...(typeof b['message'] === 'string' ? { message: b['message'] } : {}),
    };
  };

  const asRecord = (body: unknown, method: string, path: string): RecordedEntry => {
    const b = (body ?? {}) as Partial<EntryRecord>;
    if (typeof b.externalId !== 'string' || !b.externalId) {
      // Asking again gets the same answer (the key replays it): this entry's problem, not a fault.
      throw new AccountingSystemError(`${method} ${path} answered without an externalId`, {
        code: 'ACCOUNTING_REJECTED',
        retryable: false,
        method,
        path,
      });
    }
    return {
      externalId: b.externalId,
      ...(typeof b.externalUrl === 'string' ? { externalUrl: b.externalUrl } : {}),
      recordedAt: typeof b.recordedAt === 'string' ? b.recordedAt : new Date().toISOString(),
    };
  };

  async function find(key: string, companyId: string, signal?: AbortSignal): Promise<RecordedEntry | null> {
    const path = `/${PROTOCOL_VERSION}/entries/${encodeURIComponent(key)}`;
    const answer = await call('GET', path, { companyId, signal });
    if (answer.status === 200) return asRecord(answer.body, 'GET', path);
    if (answer.status === 404 && errorBody(answer.body).type === 'entry_not_found') return null;
    const failure = classifyHttpError(answer.status, errorBody(answer.body), {
      method: 'GET',
      path,
      retryAfter: answer.retryAfter,
    });
    throw new AccountingSystemError(`GET ${path} → HTTP ${answer.status}: ${failure.failureReason}`, {
      code: 'ACCOUNTING_REJECTED',
      retryable: false,
      status: answer.status,
    });
  }

  async function upload(
    attachment: StoredAttachment,
    key: string,
    companyId: string,
    signal?: AbortSignal,
  ): Promise<ItemRefusal | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(attachment.path);
    } catch (error) {
      return {
        status: 'failed',
        failureReasonType: 'receipt_upload_failure',
        failureReason: `Receipt ${attachment.name} could not be read from local storage (${(error as Error).message}). Export the expense again to retry.`,
      };
    }
    const path = `/${PROTOCOL_VERSION}/attachments/${encodeURIComponent(attachment.key)}`;
    const answer = await call('PUT', path, {
      companyId,
      signal,
      body: bytes,
      headers: {
        'content-type': attachment.contentType,
        'x-attachment-name': encodeURIComponent(attachment.name),
        'x-entry-id': key,
      },
    });
    if (answer.status === 200 || answer.status === 201 || answer.status === 204) return null;
    const failure = classifyHttpError(answer.status, errorBody(answer.body), {
      method: 'PUT',
      path,
      retryAfter: answer.retryAfter,
      attachment: true,
    });
    return { status: 'failed', ...failure };
  }

  return {
    name: options.name ?? 'http',
    supportsScaleOut: true,

    async validate(ctx): Promise<ValidationResult> {
      // Transport faults, 5xx, 429 and timeouts throw (retryable): the engine retries them and
      // never fails a job for them. Only an explicit refusal or a permanent status is a refusal.
      const path = `/${PROTOCOL_VERSION}/validate`;
      const answer = await call('POST', path, {
        companyId: ctx.companyId,
        signal: ctx.signal,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          companyId: ctx.companyId,
          vendorBasedBookkeeping: ctx.vendorBasedBookkeeping,
        }),
      });
      if (answer.status === 200) {
        const b = (answer.body ?? {}) as {
          ok?: boolean;
          failureReasonType?: string;
          failureReason?: string;
        };
        if (b.ok !== false) return { ok: true };
        return {
          ok: false,
          failureReasonType: isJobFailureType(b.failureReasonType)
            ? b.failureReasonType
            : 'invalid_configuration',
          failureReason: b.failureReason ?? 'The accounting system refused the configuration.',
        };
      }
      // Throws for 401/403 (credentials), 404 without a type (wrong URL), 408/429/5xx (transient).
      classifyHttpError(answer.status, errorBody(answer.body), {
        method: 'POST',
        path,
        retryAfter: answer.retryAfter,
      });
      return {
        ok: false,
        failureReasonType: 'invalid_configuration',
        failureReason: errorBody(answer.body).message ?? `HTTP ${answer.status}`,
      };
    },

    findExisting(idempotencyKey, ctx): Promise<RecordedEntry | null> {
      return find(idempotencyKey, ctx.companyId, ctx.signal);
    },

    async stageAttachments(attachments, ctx): Promise<ItemRefusal | null> {
      // Receipts of one entry go up together; `record` then skips those stored by this process.
      const results = await Promise.all(
        attachments.map(async (attachment) => {
          const failed = await upload(attachment, ctx.idempotencyKey, ctx.companyId, ctx.signal);
          if (failed === null) staged.set(stagedKey(ctx.companyId, attachment), attachment.size);
          return failed;
        }),
      );
      return results.find((r) => r !== null) ?? null;
    },

    async record(entry, ctx): Promise<RecordOutcome> {
      const key = ctx.idempotencyKey;
      for (const attachment of ctx.attachments) {
        const id = stagedKey(ctx.companyId, attachment);
        if (staged.get(id) === attachment.size) {
          staged.delete(id);
          continue;
        }
        const failed = await upload(attachment, key, ctx.companyId, ctx.signal);
        if (failed) return failed;
      }
      const path = `/${PROTOCOL_VERSION}/entries`;
      const request: CreateEntryRequest = {
        entry,
        attachments: ctx.attachments.map((a) => ({
          key: a.key,
          name: a.name,
          contentType: a.contentType,
          size: a.size,
        })),
      };
      const answer = await call('POST', path, {
        companyId: ctx.companyId,
        signal: ctx.signal,
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(request),
      });
      if (answer.status === 200 || answer.status === 201)
        return { status: 'booked', ...asRecord(answer.body, 'POST', path) };
      if (answer.status === 409) {
        // The key exists with another payload (a re-export after a change): never book twice.
        const existing = await find(key, ctx.companyId, ctx.signal);
        if (existing) return { status: 'booked', ...existing };
      }
      const failure = classifyHttpError(answer.status, errorBody(answer.body), {
        method: 'POST',
        path,
        retryAfter: answer.retryAfter,
      });
      return { status: 'failed', ...failure };
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}
