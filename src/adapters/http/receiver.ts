/**
 * The reference receiver: the ERP side of the HTTP accounting protocol on `node:http`, as an
 * example for ERP teams and the `demo --target http` accounting system.
 *
 * - Entries are kept in memory, optionally mirrored to a JSON-lines file (`filePath`) and loaded
 *   from it on start.
 * - It counts bookings per idempotency key and per accountingEntryId, so a caller can prove that
 *   nothing was booked twice (`stats()`, `GET /_admin/stats`).
 * - `hooks` let a caller step in before a request is handled or after an entry is committed: the
 *   test tools' fault injection (`src/testing/reference-receiver.ts`) is built on them.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { AccountingEntry } from '../../accounting/index.js';
import type { CreateEntryRequest, EntryRecord } from './protocol.js';

export type ReceiverOperation = 'validate' | 'attachment' | 'record' | 'lookup';

export function operationOf(method: string | undefined, path: string): ReceiverOperation | null {
  if (method === 'POST' && path === '/v1/validate') return 'validate';
  if (method === 'PUT' && path.startsWith('/v1/attachments/')) return 'attachment';
  if (method === 'POST' && path === '/v1/entries') return 'record';
  if (method === 'GET' && path.startsWith('/v1/entries/')) return 'lookup';
  return null;
}

/** Where a caller steps into the receiver's handling (the test tools' fault injection). */
export interface ReceiverHooks {
  /**
   * Before a protocol request (authenticated, not `/_admin/`) is handled: answer it (or drop its
   * socket) and resolve `'handled'`; or resolve `'continue'`, optionally after replacing the
   * response's methods (an answer that is lost after the work is done).
   */
  before?(
    req: IncomingMessage,
    res: ServerResponse,
    operation: ReceiverOperation | null,
  ): Promise<'handled' | 'continue'> | 'handled' | 'continue';
  /** After an entry was committed, before it is answered: `true` drops the connection instead. */
  afterCommit?(req: IncomingMessage): boolean;
  /** Admin routes other than `GET /_admin/stats`: answer and resolve `true`, else `false`. */
  admin?(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

export interface ReceiverOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** JSON-lines file mirroring the entries (file-backed mode). */
  filePath?: string;
  /** Chart of accounts: postings to other accounts get 422 `account_unknown`. */
  knownAccounts?: readonly string[];
  /** Largest attachment accepted. @default 31457280 */
  maxAttachmentBytes?: number;
  hooks?: ReceiverHooks;
}

export interface ReceiverStats {
  requests: number;
  entries: number;
  attachments: number;
  /** Stored entries per idempotency key (1 each, by construction). */
  bookingsByKey: Record<string, number>;
  /** Stored entries per accountingEntryId: more than 1 means the client booked an entry twice. */
  bookingsByEntryId: Record<string, number>;
  /** POST /v1/entries calls per key (retries and replays included). */
  postsByKey: Record<string, number>;
  duplicates: number;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  stats(): ReceiverStats;
  entries(): ReadonlyMap<string, { record: EntryRecord; entry: AccountingEntry; attachments: string[] }>;
  close(): Promise<void>;
}

interface Stored {
  key: string;
  record: EntryRecord;
  entry: AccountingEntry;
  attachments: string[];
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

/** Starts a receiver; resolves once it listens. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const entries = new Map<string, Stored>();
  const attachments = new Map<string, { contentType: string; size: number }>();
  const postsByKey: Record<string, number> = {};
  const bookingsByEntryId: Record<string, number> = {};
  let requests = 0;
  const hooks = options.hooks ?? {};
  const known = options.knownAccounts ? new Set(options.knownAccounts) : undefined;
  const maxBytes = options.maxAttachmentBytes ?? 30 * 1024 * 1024;
  let sequence = 0;

  const remember = (stored: Stored): void => {
    entries.set(stored.key, stored);
    const id = stored.entry.accountingEntryId;
    bookingsByEntryId[id] = (bookingsByEntryId[id] ?? 0) + 1;
    sequence = Math.max(sequence, Number.parseInt(stored.record.externalId.replace(/\D/g, ''), 10) || 0);
  };
  /** Bookings being written, so a concurrent request with the same key waits instead of booking again. */
  const inFlight = new Map<string, Promise<EntryRecord>>();

  if (options.filePath) {
    const text = await readFile(options.filePath, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        remember(JSON.parse(line) as Stored);
      } catch {
        // A torn last line from a crash: the entry was never acknowledged, ignore it.
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const path = url.pathname;
    if (path.startsWith('/_admin/')) {
      if (req.method === 'GET' && path === '/_admin/stats') return send(res, 200, stats());
      if (await hooks.admin?.(req, res, path)) return;
      return send(res, 404, { type: 'not_found', message: `no admin route ${path}` });
    }
    requests += 1;
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      return send(res, 401, { type: 'unauthenticated', message: 'missing or wrong bearer token' });
    }
    if ((await hooks.before?.(req, res, operationOf(req.method, path))) === 'handled') return;

    if (req.method === 'POST' && path === '/v1/validate') return send(res, 200, { ok: true });

    const attachmentMatch = /^\/v1\/attachments\/([^/]+)$/.exec(path);
    if (req.method === 'PUT' && attachmentMatch?.[1]) {
      const key = decodeURIComponent(attachmentMatch[1]);
      const body = await readBody(req, maxBytes);
      if (!body)
        return send(res, 413, {
          type: 'receipt_file_size_limit_exceeded',
          message: `The receipt is larger than ${maxBytes} bytes.`,
        });
      const existed = attachments.has(key);
      attachments.set(key, {
        contentType: req.headers['content-type'] ?? 'application/octet-stream',
        size: body.length,
      });
      return send(res, existed ? 200 : 201, { key, size: body.length });
    }

    const entryMatch = /^\/v1\/entries\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && entryMatch?.[1]) {
      const stored = entries.get(decodeURIComponent(entryMatch[1]));
      return stored
        ? send(res, 200, stored.record)
        : send(res, 404, { type: 'entry_not_found', message: 'no entry for this key' });
    }

    if (req.method === 'POST' && path === '/v1/entries') {
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || !key)
        return send(res, 400, { type: 'validation_failure', message: 'Idempotency-Key header is required' });
      postsByKey[key] = (postsByKey[key] ?? 0) + 1;
      const raw = await readBody(req, 10 * 1024 * 1024);
      let request: CreateEntryRequest;
      try {
        request = JSON.parse(raw?.toString('utf8') ?? '') as CreateEntryRequest;
      } catch {
        return send(res, 400, { type: 'validation_failure', message: 'body is not JSON' });
      }
      const existing = entries.get(key);
      if (existing) return send(res, 200, existing.record);
      const running = inFlight.get(key);
      if (running) return send(res, 200, await running);
      const problem = validateEntry(request, known, attachments);
      if (problem) return send(res, 422, problem);
      sequence += 1;
      const record: EntryRecord = {
        externalId: `ERP-${String(sequence).padStart(6, '0')}`,
        externalUrl: `${receiverUrl}/v1/entries/${encodeURIComponent(key)}`,
        recordedAt: new Date().toISOString(),
      };
      const stored: Stored = {
        key,
        record,
        entry: request.entry,
        attachments: request.attachments.map((a) => a.key),
      };
      const booking = (async () => {
        if (options.filePath) await appendFile(options.filePath, `${JSON.stringify(stored)}\n`);
        remember(stored);
        return record;
      })();
      inFlight.set(key, booking);
      try {
        await booking;
      } finally {
        inFlight.delete(key);
      }
      if (hooks.afterCommit?.(req)) {
        req.socket.destroy();
        return;
      }
      return send(res, 201, record);
    }
    return send(res, 404, { message: `no route ${req.method ?? '?'} ${path}` });
  }

  function stats(): ReceiverStats {
    const bookingsByKey: Record<string, number> = {};
    for (const key of entries.keys()) bookingsByKey[key] = 1;
    return {
      requests,
      entries: entries.size,
      attachments: attachments.size,
      bookingsByKey,
      bookingsByEntryId: { ...bookingsByEntryId },
      postsByKey: { ...postsByKey },
      duplicates: Object.values(bookingsByEntryId).filter((n) => n > 1).length,
    };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { type: 'internal', message: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const port = (server.address() as AddressInfo).port;
  const receiverUrl = `http://${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url: receiverUrl,
    port,
    stats,
    entries: () =>
      new Map(
        [...entries].map(([k, v]) => [k, { record: v.record, entry: v.entry, attachments: v.attachments }]),
      ),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function validateEntry(
  request: CreateEntryRequest,
  known: ReadonlySet<string> | undefined,
  attachments: ReadonlyMap<string, unknown>,
): { type: string; message: string } | null {
  const entry = request.entry as Partial<AccountingEntry> | undefined;
  if (!entry || !Array.isArray(entry.postings) || typeof entry.accountingEntryId !== 'string') {
    return { type: 'validation_failure', message: 'entry.accountingEntryId and entry.postings are required' };
  }
  let sum = 0n;
  for (const posting of entry.postings) {
    if (!Number.isSafeInteger(posting.amount.value))
      return { type: 'validation_failure', message: 'amounts must be integers (minor units)' };
    sum += BigInt(posting.amount.value);
    if (known && !known.has(posting.account)) {
      return {
        type: 'account_unknown',
        message: `Account No. ${posting.account} does not exist in the Accounting System. Check Category.`,
      };
    }
  }
  if (sum !== 0n)
    return { type: 'validation_failure', message: `entry does not balance (off by ${sum.toString()})` };
  for (const attachment of request.attachments) {
    if (!attachments.has(attachment.key))
      return { type: 'receipt_upload_failure', message: `attachment ${attachment.key} was not uploaded` };
  }
  return null;
}
