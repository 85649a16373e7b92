/**
 * The few Pleo Export API v3 calls the docs' pseudo-code makes, written the way the docs show
 * them: `fetch`, HTTP Basic with the API key, `after=<endCursor>` until `hasNextPage` is false.
 * No client-side validation, no rate-limit handling, no token refresh; transient failures of the
 * writes the docs say to retry (item updates, the final event) are retried a few times.
 */
import type {
  ExportItem,
  ExportJob,
  ExportJobItem,
  ExportJobEventType,
  ExportJobFailureReasonType,
  ItemUpdate,
} from '../../src/client/index.js';

interface PageBody<T> {
  data: T[];
  pagination: { hasNextPage: boolean; endCursor?: string | null };
}

export interface PleoApiOptions {
  baseUrl: string;
  apiKey: string;
  companyId: string;
  /** `limit` of the list calls. */
  pageSize: number;
}

export class PleoApiError extends Error {
  readonly status: number;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path} → HTTP ${status}: ${body.slice(0, 300)}`);
    this.status = status;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class PleoApi {
  private readonly options: PleoApiOptions;
  private readonly authorization: string;

  constructor(options: PleoApiOptions) {
    this.options = options;
    this.authorization = `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}`;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers: {
        authorization: this.authorization,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new PleoApiError(method, path, response.status, text);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  /** "retry transient failures": three attempts, one second apart, on 5xx and network errors. */
  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const transient = !(error instanceof PleoApiError) || error.status >= 500;
        if (!transient || attempt >= 3) throw error;
        await sleep(1000);
      }
    }
  }

  /** Every page of a list endpoint, concatenated (the docs' `do … while hasNextPage`). */
  private async all<T>(path: string, params: [string, string][]): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null | undefined = null;
    do {
      const query = new URLSearchParams([
        ...params,
        ['limit', String(this.options.pageSize)],
        ...(cursor ? [['after', cursor] as [string, string]] : []),
      ]);
      const page = (await this.request('GET', `${path}?${query.toString()}`)) as PageBody<T>;
      out.push(...page.data);
      cursor = page.pagination.hasNextPage ? page.pagination.endCursor : null;
    } while (cursor);
    return out;
  }

  fetchExportJobs(): Promise<ExportJob[]> {
    return this.all<ExportJob>('/v3/export-jobs', [
      ['company_id', this.options.companyId],
      ['statuses', 'pending'],
      ['statuses', 'in_progress'],
    ]);
  }

  fetchItems(jobId: string): Promise<ExportJobItem[]> {
    return this.all<ExportJobItem>(`/v3/export-jobs/${jobId}/items`, []);
  }

  fetchExportItems(jobId: string): Promise<ExportItem[]> {
    return this.all<ExportItem>('/v3/export-items', [['job_id', jobId]]);
  }

  async sendEvent(event: {
    jobId: string;
    event: ExportJobEventType;
    failureReason?: string;
    failureReasonType?: ExportJobFailureReasonType;
  }): Promise<void> {
    await this.withRetry(() => this.request('POST', '/v3/export-job-events', event));
  }

  async updateItems(jobId: string, updates: readonly ItemUpdate[]): Promise<void> {
    await this.withRetry(() => this.request('PUT', `/v3/export-jobs/${jobId}/items`, updates));
  }
}
