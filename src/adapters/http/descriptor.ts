/**
 * The generic HTTP adapter as the registry sees it: configuration
 * `{ type: http, url, token | tokenEnv | tokenFile, timeoutMs }`, safe for the scaled-out mode (the
 * ERP deduplicates by `Idempotency-Key`), `check`, and a demo target backed by the reference
 * receiver.
 */
import { join } from 'node:path';

import { z } from 'zod';

import { httpUrlField, positiveIntField, secretField } from '../config-fields.js';
import type { AdapterCheck, AdapterDescriptor } from '../descriptor.js';
import { createHttpAdapter } from './adapter.js';
import { startReceiver } from './receiver.js';

export const httpConfigSchema = z
  .object({
    type: z.literal('http'),
    /** Base URL of the ERP endpoint implementing openapi/accounting-http-adapter.openapi.yml. */
    url: httpUrlField,
    /** Sent as `Authorization: Bearer <token>`. */
    ...secretField('token'),
    /** @default 30000 */
    timeoutMs: positiveIntField(600_000).default(30_000),
  })
  .strict();

export type HttpConfig = z.output<typeof httpConfigSchema>;

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function checkTransport(config: HttpConfig): AdapterCheck {
  const url = new URL(config.url);
  if (url.protocol === 'https:' || LOOPBACK.test(url.hostname))
    return {
      ok: true,
      what: `${config.url} is reached over ${url.protocol === 'https:' ? 'TLS' : 'loopback'}`,
    };
  return {
    ok: false,
    what: `${config.url} is reached over TLS`,
    fix: `Entries${config.token === undefined ? '' : ' and the token'} would cross the network unencrypted: use an https:// URL for adapter.url.`,
  };
}

export const httpAdapter: AdapterDescriptor<HttpConfig> = {
  type: 'http',
  summary: 'an in-house ERP implementing the HTTP accounting protocol (openapi/accounting-http-adapter)',
  configSchema: httpConfigSchema,
  supportsScaleOut: true,
  create(config, deps) {
    return Promise.resolve(
      createHttpAdapter({
        baseUrl: config.url,
        timeoutMs: config.timeoutMs,
        fetch: deps.fetch,
        ...(config.token === undefined ? {} : { token: config.token }),
      }),
    );
  },
  check(config) {
    return Promise.resolve([checkTransport(config)]);
  },
  async demo(dir) {
    const filePath = join(dir, 'erp-entries.jsonl');
    const receiver = await startReceiver({ filePath });
    return {
      config: { type: 'http' as const, url: receiver.url, timeoutMs: 30_000 },
      location: `${receiver.url} (the reference receiver, entries kept in ${filePath})`,
      report() {
        const stats = receiver.stats();
        const ok = stats.duplicates === 0;
        return Promise.resolve({
          ok,
          lines: [
            `ERP entries: ${filePath} (one JSON line per entry, written by the reference receiver)`,
            `Receiver:    ${stats.entries} entries, ${stats.duplicates} booked twice${ok ? '' : ' (FAILED)'}`,
          ],
          json: { entriesFile: filePath, receiver: stats },
        });
      },
      close: () => receiver.close(),
    };
  },
};
