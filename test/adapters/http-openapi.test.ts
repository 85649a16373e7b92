import { readFile } from 'node:fs/promises';

import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import { BASE_CONFIG, GOLDEN } from '../accounting/golden-cases.js';
import { COMPANY } from '../accounting/items.js';

const SPEC = new URL('../../openapi/accounting-http-adapter.openapi.yml', import.meta.url);

describe('accounting HTTP protocol (OpenAPI)', () => {
  it('documents the four operations and every entry the mapping produces conforms to its schema', async () => {
    const doc = parse(await readFile(SPEC, 'utf8'), { strict: true }) as {
      paths: Record<string, unknown>;
      components: unknown;
    };
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/v1/attachments/{attachmentKey}',
      '/v1/entries',
      '/v1/entries/{idempotencyKey}',
      '/v1/validate',
    ]);
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'spec', components: doc.components });
    const validate = ajv.getSchema('spec#/components/schemas/CreateEntryRequest');
    if (!validate) throw new Error('CreateEntryRequest schema missing');
    for (const c of GOLDEN) {
      const r = mapExportItem(c.item, compileAccountingConfig(c.config ?? BASE_CONFIG), {
        jobId: 'j',
        companyId: COMPANY,
      });
      if (!r.ok) throw new Error(r.failureReason);
      const body = {
        entry: r.entry,
        attachments: [
          { key: `${r.entry.accountingEntryId}-0`, name: 'r.pdf', contentType: 'application/pdf', size: 1 },
        ],
      };
      const valid = validate(JSON.parse(JSON.stringify(body)));
      expect(valid ? [] : validate.errors).toEqual([]);
    }
  });
});
