/**
 * Attachment URLs. Pleo's `files[].url` are pre-signed and valid for 24 hours from the moment the
 * export item was fetched (docs/decisions.md#w18). The simulator hands the generator a base URL
 * `<origin>/_files/<jobId>/<expiresAtMs>/<signature>`; the generator appends `/files/<token>`.
 * The URL needs no credentials; an expired URL → 403 `url_expired`, a tampered one → 403
 * `forbidden`, an unknown job or file → 404.
 */
import { ApiError } from '../errors.js';
import type { Route } from '../http.js';
import { tag } from '../ids.js';
import { fileContentAt, parseFileToken } from '../data/index.js';
import type { SimulatorState } from '../state.js';

export const FILE_URL_TTL_MS = 24 * 60 * 60 * 1000;

export class FileUrls {
  /** Set once the server listens. */
  origin = '';
  readonly #secret: string;
  readonly ttlMs: number;
  constructor(secret: string, ttlMs: number = FILE_URL_TTL_MS) {
    this.#secret = secret;
    this.ttlMs = ttlMs;
  }

  baseUrl(jobId: string, now: number): string {
    const exp = now + this.ttlMs;
    return `${this.origin}/_files/${jobId}/${exp}/${tag(this.#secret, `${jobId}.${exp}`)}`;
  }

  check(jobId: string, exp: string, sig: string, now: number): void {
    if (!/^\d+$/.test(exp) || tag(this.#secret, `${jobId}.${exp}`) !== sig) {
      throw new ApiError(403, 'forbidden', 'Invalid file URL signature');
    }
    if (now >= Number(exp)) throw new ApiError(403, 'url_expired', 'Request has expired');
  }
}

export function fileRoutes(state: SimulatorState, files: FileUrls): Route[] {
  return [
    {
      method: 'GET',
      path: '/_files/:jobId/:exp/:sig/files/:token',
      operation: 'files',
      auth: 'none',
      write: false,
      handler: (ctx) => {
        const { jobId = '', exp = '', sig = '', token = '' } = ctx.params;
        files.check(jobId, exp, sig, state.now());
        const job = state.jobs.get(jobId);
        const ref = parseFileToken(token);
        const notFound = new ApiError(404, 'not_found', 'File not found');
        const spec = job && ref ? job.specFor(ref.jobKey) : undefined;
        if (!job || !ref || !spec) throw notFound;
        if (!(ref.index >= 0 && ref.index < spec.itemCount)) throw notFound;
        let content: ReturnType<typeof fileContentAt>;
        try {
          content = fileContentAt(spec, ref.index, ref.fileIndex);
        } catch {
          throw notFound;
        }
        return {
          status: 200,
          body: content.bytes,
          contentType: content.type,
          headers: {
            'content-disposition': `attachment; filename="${content.name.replace(/["\\\r\n]/g, '_')}"`,
            'cache-control': 'private, max-age=0',
          },
        };
      },
    },
  ];
}
