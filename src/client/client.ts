/**
 * `createPleoClient`: the typed, resilient Pleo Export API (v3) client. One instance is bound to
 * one company's credentials.
 *
 * Each operation is one entry of {@link OPERATIONS} (method + retry safety, with the reason a write
 * may be replayed) and one method below: validate the request locally, send it through the
 * {@link HttpTransport} (pacing, auth, timeout, retries), validate the answer at the boundary.
 */
import { createHash } from 'node:crypto';

import { FileSizeMismatchError, FileTooLargeError, MalformedResponseError } from '../errors/index.js';
import { createAuthStrategy } from './authorization.js';
import { fetchChecked } from './download.js';
import {
  type CompiledClientOptions,
  compileClientOptions,
  MAX_PAGE_SIZE,
  type PleoClientOptions,
  type PleoOperation,
} from './options.js';
import { paginate } from './pagination.js';
import { Redactor } from './redact.js';
import {
  assertUuid,
  chunk,
  invalidArgument,
  MAX_ITEMS_PER_UPDATE,
  prepareCreateJob,
  prepareItemStatus,
  prepareItemUpdates,
  prepareJobEvent,
  prepareStatuses,
} from './requests.js';
import type { RetrySafety } from './retry.js';
import { type HttpCall, HttpTransport, readBytes, readJson, readText } from './transport.js';
import type {
  CreateJobRequest,
  DownloadedFile,
  DownloadOptions,
  ExportItem,
  ExportJob,
  ExportJobItem,
  ExportJobItemStatus,
  ExportJobStatus,
  ItemUpdate,
  ItemUpdateResult,
  JobEvent,
  Page,
  PageOptions,
  PleoClient,
  UpdateItemsOptions,
} from './types.js';
import { type ResponseSchemaName, validateResponse } from './validate.js';

interface OperationSpec {
  method: 'GET' | 'POST' | 'PUT';
  safety: RetrySafety;
}

/**
 * Every operation, its HTTP method and whether it may be replayed after an ambiguous failure
 * (timeout, reset, 5xx). See `RETRY_RULES` in retry.ts for which failures are retried at all.
 */
export const OPERATIONS: Readonly<Record<PleoOperation, OperationSpec>> = Object.freeze({
  // Reads: no side effects.
  listJobs: { method: 'GET', safety: 'idempotent' },
  getJob: { method: 'GET', safety: 'idempotent' },
  listJobItems: { method: 'GET', safety: 'idempotent' },
  listExportItems: { method: 'GET', safety: 'idempotent' },
  downloadFile: { method: 'GET', safety: 'idempotent' },
  // PUT sets each item's status and tracking fields to absolute values: the same body applied
  // twice leaves the same state. If the job was finished in between, the replay is answered 422
  // EXPORT_JOB_STATUS_UNPROCESSABLE (ConflictError) and nothing changes.
  updateJobItems: { method: 'PUT', safety: 'idempotent' },
  // A replayed event cannot apply twice: if the first `started`/final event was applied and only
  // its response was lost, the replay is an illegal transition and Pleo answers 422
  // INVALID_EXPORT_JOB_STATUS_CHANGE. That surfaces as ConflictError (message notes the earlier
  // attempt); the engine then reads the job to see whether it is in the state it asked for.
  sendJobEvent: { method: 'POST', safety: 'idempotent' },
  // NOT idempotent: a replay after a lost 201 could create a second job (or be answered 409
  // EXPORT_ALREADY_IN_PROGRESS for a create that in fact succeeded). Retried only when the failure
  // proves nothing was applied: connection refused/DNS, 429, 503 with Retry-After.
  createJob: { method: 'POST', safety: 'not-idempotent' },
  // Webhook subscriptions (Pleo's Subscriptions API, outside the Export API spec; docs/decisions.md#w10).
  // A replayed create could register the endpoint twice (two deliveries per event: harmless, the
  // daemon dedupes webhook ids, but untidy), so it is retried only when nothing was applied.
  createSubscription: { method: 'POST', safety: 'not-idempotent' },
  getSubscriptionSecret: { method: 'GET', safety: 'idempotent' },
});

/**
 * Creates a client bound to one company's credentials. Options are validated once (ConfigError).
 *
 * @example
 * const client = createPleoClient({ companyId, auth: { kind: 'apiKey', apiKey: process.env.PLEO_API_KEY! } });
 * for await (const page of client.listJobs({ statuses: ['pending', 'in_progress'] })) {
 *   for (const job of page.data) console.log(job.id, job.status);
 * }
 */
export function createPleoClient(options: PleoClientOptions): PleoClient {
  const compiled = compileClientOptions(options);
  const redactor = new Redactor();
  const transport = new HttpTransport(compiled, createAuthStrategy(compiled.auth, redactor), redactor);
  return new HttpPleoClient(compiled, transport);
}

type Signal = { signal?: AbortSignal } | undefined;

class HttpPleoClient implements PleoClient {
  readonly companyId: string;
  private readonly options: CompiledClientOptions;
  private readonly transport: HttpTransport;

  constructor(options: CompiledClientOptions, transport: HttpTransport) {
    this.companyId = options.companyId;
    this.options = options;
    this.transport = transport;
  }

  listJobs(query: { statuses?: ExportJobStatus[] }, options?: PageOptions): AsyncIterable<Page<ExportJob>> {
    const statuses = prepareStatuses(query.statuses);
    const params: [string, string][] = [
      ['company_id', this.companyId],
      ...statuses.map((s) => ['statuses', s] as [string, string]),
    ];
    return this.list<ExportJob>(
      'listJobs',
      '/v3/export-jobs',
      params,
      'CursorPaginatedResponseExportJobV3',
      (job) => job.id,
      options,
    );
  }

  async getJob(jobId: string, options?: Signal): Promise<ExportJob> {
    assertUuid('getJob: jobId', jobId);
    const path = `/v3/export-jobs/${encodeURIComponent(jobId)}`;
    const body = await this.json<{ data: ExportJob }>(
      'getJob',
      path,
      [],
      'DataResponseExportJobV3',
      undefined,
      options?.signal,
    );
    return body.data;
  }

  async createJob(request: CreateJobRequest, options?: Signal): Promise<ExportJob> {
    const body = prepareCreateJob(request, this.companyId);
    const response = await this.json<{ data: ExportJob }>(
      'createJob',
      '/v3/export-jobs',
      [],
      'DataResponseExportJobV3',
      body,
      options?.signal,
    );
    return response.data;
  }

  async sendJobEvent(event: JobEvent, options?: Signal): Promise<void> {
    const body = prepareJobEvent(event);
    const path = '/v3/export-job-events';
    // 202 with no body (docs/decisions.md#w7): drain what arrives (bounded) so the connection can be reused.
    await this.transport.send(
      this.call('sendJobEvent', path, [], body, options?.signal, async (response) => {
        await readText(
          response,
          { operation: 'sendJobEvent', method: 'POST', path },
          this.options.maxResponseBytes,
        );
      }),
    );
  }

  listJobItems(
    jobId: string,
    query: { status?: ExportJobItemStatus },
    options?: PageOptions,
  ): AsyncIterable<Page<ExportJobItem>> {
    assertUuid('listJobItems: jobId', jobId);
    const status = prepareItemStatus(query.status);
    const params: [string, string][] = status === undefined ? [] : [['status', status]];
    return this.list<ExportJobItem>(
      'listJobItems',
      `/v3/export-jobs/${encodeURIComponent(jobId)}/items`,
      params,
      'CursorPaginatedResponseExportJobItemV3',
      (item) => item.accountingEntryId,
      options,
    );
  }

  async updateJobItems(
    jobId: string,
    updates: readonly ItemUpdate[],
    options?: UpdateItemsOptions,
  ): Promise<ItemUpdateResult> {
    assertUuid('updateJobItems: jobId', jobId);
    const prepared = prepareItemUpdates(updates);
    const path = `/v3/export-jobs/${encodeURIComponent(jobId)}/items`;
    const result: ItemUpdateResult = { accepted: [], rejected: [] };
    const batches = chunk(prepared, MAX_ITEMS_PER_UPDATE);
    for (const [index, batch] of batches.entries()) {
      // A 413 EXPORT_JOB_ITEMS_UPDATE_LIMIT cannot happen with ≤100 items; if it does, it is thrown
      // (InvalidRequestError, permanent): a programming error, not something to retry.
      const response = await this.json<{ data: ExportJobItem[]; errors: ItemUpdateResult['rejected'] }>(
        'updateJobItems',
        path,
        [],
        'ExportJobItemUpdateV3',
        batch,
        options?.signal,
      );
      result.accepted.push(...response.data);
      result.rejected.push(...response.errors);
      await options?.onBatch?.({ index, updates: batch, accepted: response.data, rejected: response.errors });
    }
    return result;
  }

  listExportItems(jobId: string, options?: PageOptions): AsyncIterable<Page<ExportItem>> {
    assertUuid('listExportItems: jobId', jobId);
    return this.list<ExportItem>(
      'listExportItems',
      '/v3/export-items',
      [['job_id', jobId]],
      'CursorPaginatedResponseExportItemV3',
      (item) => item.accountingEntryId,
      options,
    );
  }

  /**
   * Pre-signed URLs carry their own authorisation in the query string, and the host is usually
   * not Pleo's API: sending our `Authorization` header would leak the credential to a third party
   * (and S3-style hosts reject requests with two auth mechanisms). So NO credentials are sent, to
   * any host. Not rate limited (not Pleo's API). Retried like GETs; 403 (expired signature) and
   * 404/410 are permanent: re-fetch the export item for a fresh URL.
   *
   * The URL is data from Pleo: it goes only where the `downloads` policy allows (download.ts),
   * and the body is counted while it streams (`maxBytes`, `expectedBytes`) and hashed.
   */
  async downloadFile(url: string, options?: DownloadOptions): Promise<Uint8Array> {
    return (await this.download(url, options)).bytes;
  }

  async download(url: string, options?: DownloadOptions): Promise<DownloadedFile> {
    const target = this.downloadUrl(url);
    const maxBytes = options?.maxBytes ?? this.options.maxDownloadBytes;
    if (!Number.isInteger(maxBytes) || maxBytes < 1)
      throw invalidArgument('downloadFile: maxBytes must be a positive integer');
    const expected = options?.expectedBytes;
    if (expected !== undefined && (!Number.isInteger(expected) || expected < 0))
      throw invalidArgument('downloadFile: expectedBytes must be a non-negative integer');
    const path = `${target.host}${target.pathname}`;
    const context = { method: 'GET', path } as const;
    const tooLarge = (size: string): FileTooLargeError =>
      new FileTooLargeError(
        `GET ${path} (downloadFile): the file is ${size}, more than maxBytes ${maxBytes}`,
        { code: 'FILE_TOO_LARGE', retryable: false, ...context },
      );
    const mismatch = (size: string): FileSizeMismatchError =>
      new FileSizeMismatchError(
        `GET ${path} (downloadFile): the file is ${size}, not the ${expected} bytes Pleo declared`,
        { code: 'FILE_SIZE_MISMATCH', retryable: false, ...context },
      );
    if (expected !== undefined && expected > maxBytes) throw tooLarge(`declared ${expected} bytes`);
    // Never hold more than the declared size: a longer body is cut off at that point.
    const limit = expected ?? maxBytes;
    const policy = this.options.downloads;
    return this.transport.send<DownloadedFile>({
      operation: 'downloadFile',
      method: 'GET',
      url: target,
      path,
      authenticated: false,
      safety: OPERATIONS.downloadFile.safety,
      signal: options?.signal,
      send: (url, init) => fetchChecked(policy, url, init),
      read: async (response) => {
        const declared = Number(response.headers.get('content-length') ?? NaN);
        if (Number.isFinite(declared) && declared !== expected) {
          if (declared > maxBytes) {
            await response.body?.cancel().catch(() => undefined);
            throw tooLarge(`${declared} bytes`);
          }
          if (expected !== undefined) {
            await response.body?.cancel().catch(() => undefined);
            throw mismatch(`${declared} bytes (Content-Length)`);
          }
        }
        const hash = createHash('sha256');
        const bytes = await readBytes(
          response,
          limit,
          () => (expected === undefined ? tooLarge('larger') : mismatch(`more than ${limit} bytes`)),
          (chunk) => hash.update(chunk),
        );
        if (expected !== undefined && bytes.byteLength !== expected)
          throw mismatch(`${bytes.byteLength} bytes`);
        return Object.freeze({ bytes, byteLength: bytes.byteLength, sha256: hash.digest('hex') });
      },
    });
  }

  private downloadUrl(raw: string): URL {
    try {
      return new URL(raw);
    } catch {
      throw invalidArgument('downloadFile: url is not a valid URL');
    }
  }

  private list<T>(
    operation: PleoOperation,
    path: string,
    params: [string, string][],
    schema: ResponseSchemaName,
    keyOf: (item: T) => string,
    options: PageOptions | undefined,
  ): AsyncIterable<Page<T>> {
    const pageSize = options?.pageSize ?? this.options.pageSize;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw invalidArgument(
        `${operation}: pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`,
      );
    }
    const startAfter = options?.after;
    if (startAfter !== undefined && (typeof startAfter !== 'string' || startAfter === '')) {
      throw invalidArgument(`${operation}: after must be a non-empty cursor string`);
    }
    const signal = options?.signal;
    // Each page's answer status, for the validation error (validation runs after the read).
    const statusOf = new WeakMap<Page<T>, number>();
    const validate = (value: unknown, status: number | undefined): void => {
      validateResponse<Page<T>>(schema, value, {
        operation,
        method: 'GET',
        path,
        ...(status === undefined ? {} : { status }),
      });
    };
    return paginate<T>({
      operation,
      method: 'GET',
      path,
      keyOf,
      startAfter,
      fetchPage: async (after, abort, sent) => {
        const query: [string, string][] = [...params, ['limit', String(pageSize)]];
        if (after !== undefined) query.push(['after', after]);
        const callSignal = signal === undefined ? abort : AbortSignal.any([signal, abort]);
        // Read without the schema check: paginate validates the page while the next one is fetched.
        const { value, status } = await this.transport.send({
          ...this.call(operation, path, query, undefined, callSignal, async (response) => ({
            value: await readJson(
              response,
              { operation, method: 'GET', path },
              this.options.maxResponseBytes,
            ),
            status: response.status,
          })),
          onSent: sent,
        });
        let page: Page<T>;
        try {
          page = checkPageShape(value as Page<T>, { operation, path });
        } catch (error) {
          // A page too broken to paginate: the schema's own (more precise) error first, as before.
          if (this.options.validateResponses) validate(value, status);
          throw error;
        }
        statusOf.set(page, status);
        return page;
      },
      ...(this.options.validateResponses
        ? { validatePage: (page: Page<T>) => validate(page, statusOf.get(page)) }
        : {}),
    });
  }

  /** Sends a JSON request and validates the JSON answer against `schema`. */
  private json<T>(
    operation: PleoOperation,
    path: string,
    query: [string, string][],
    schema: ResponseSchemaName,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const method = OPERATIONS[operation].method;
    return this.transport.send(
      this.call(operation, path, query, body, signal, async (response) => {
        const value = await readJson(response, { operation, method, path }, this.options.maxResponseBytes);
        if (!this.options.validateResponses) return value as T;
        return validateResponse<T>(schema, value, { operation, method, path, status: response.status });
      }),
    );
  }

  private call<T>(
    operation: PleoOperation,
    path: string,
    query: [string, string][],
    body: unknown,
    signal: AbortSignal | undefined,
    read: HttpCall<T>['read'],
  ): HttpCall<T> {
    const url = new URL(this.options.baseUrl + path);
    for (const [key, value] of query) url.searchParams.append(key, value);
    return {
      operation,
      method: OPERATIONS[operation].method,
      url,
      path: url.pathname,
      ...(body === undefined ? {} : { body }),
      authenticated: true,
      safety: OPERATIONS[operation].safety,
      signal,
      read,
    };
  }
}

/**
 * The minimum the paginator relies on, checked even when schema validation is off, so a broken
 * page is a MalformedResponseError rather than a TypeError inside the generator.
 */
function checkPageShape<T>(page: Page<T>, context: { operation: string; path: string }): Page<T> {
  const p = page as unknown as {
    data?: unknown;
    pagination?: { hasNextPage?: unknown; endCursor?: unknown };
  };
  const problem =
    typeof p !== 'object' || p === null
      ? 'the body is not an object'
      : !Array.isArray(p.data)
        ? 'data is not an array'
        : typeof p.pagination !== 'object' || p.pagination === null
          ? 'pagination is missing'
          : typeof p.pagination.hasNextPage !== 'boolean'
            ? 'pagination.hasNextPage is not a boolean'
            : p.pagination.endCursor !== undefined && typeof p.pagination.endCursor !== 'string'
              ? 'pagination.endCursor is not a string'
              : undefined;
  if (problem === undefined) return page;
  throw new MalformedResponseError(
    `GET ${context.path} (${context.operation}) returned a malformed page: ${problem}`,
    {
      code: 'MALFORMED_RESPONSE',
      retryable: false,
      method: 'GET',
      path: context.path,
    },
  );
}
