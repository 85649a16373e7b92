import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { exportItemAt } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

// ajv-formats is CommonJS (`module.exports = plugin`, `exports.default = plugin`); under NodeNext
// the default import is typed as the module, but the value is the plugin itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

function exportItemValidator() {
  const spec = JSON.parse(
    readFileSync(new URL('../../src/generated/export-v3.spec.json', import.meta.url), 'utf8'),
  );
  // strict:false accepts OpenAPI's `example`; Ajv 8 implements OpenAPI's `nullable` itself.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'export-v3', components: spec.components });
  const validate = ajv.getSchema('export-v3#/components/schemas/ExportItemV3');
  if (!validate) throw new Error('ExportItemV3 not found in the spec');
  return validate;
}

describe('OpenAPI schema', () => {
  const validate = exportItemValidator();

  it('honours nullable (sanity check of the validator)', () => {
    expect(validate({})).toBe(false);
    const item = exportItemAt(jobOf(31), 0, BASE_URL);
    expect(validate({ ...item, supplier: null, files: null })).toBe(true);
    expect(validate({ ...item, date: 'yesterday' })).toBe(false);
  });

  it('validates 5,000 items against ExportItemV3 (with and without vendor-based bookkeeping)', () => {
    for (const vendorBasedBookkeeping of [true, false]) {
      const job = jobOf(31, { vendorBasedBookkeeping, profile: { failureRatio: 0.2 } });
      for (let i = 0; i < 2_500; i++) {
        const item = exportItemAt(job, i, BASE_URL);
        const ok = validate(item);
        if (!ok) throw new Error(`item ${String(i)}: ${JSON.stringify(validate.errors)}`);
        expect(JSON.stringify(item)).not.toContain('UNDEFINED');
      }
    }
  });
});
