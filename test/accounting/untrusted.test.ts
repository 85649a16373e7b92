/**
 * Export items are untrusted (issue 17): values that must match the spec refuse the item with an
 * actionable failure, identifiers with control characters are refused with Pleo's failure type for
 * them, free text is cleaned, and an item of another company is never booked.
 */
import { describe, expect, it } from 'vitest';

import { cleanText, compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import type { ExportItem } from '../../src/client/index.js';
import { BASE_CONFIG } from './golden-cases.js';
import { COMPANY, JOB, item, line } from './items.js';

const config = compileAccountingConfig({ ...BASE_CONFIG, dimensions: { team: true, user: true } });
const ctx = { jobId: JOB, companyId: COMPANY };
// eslint-disable-next-line no-control-regex -- the point of the test
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const base = (partial: Partial<ExportItem> = {}): ExportItem =>
  item({
    type: 'card_purchase',
    accountingEntryLines: [line({ account: '6010', amount: -1000 })],
    ...partial,
  });

function refused(i: ExportItem): { type: string; reason: string } {
  const result = mapExportItem(i, config, ctx);
  if (result.ok) throw new Error('the item was accepted');
  expect(result.failureReason).not.toMatch(CONTROL);
  return { type: result.failureReasonType, reason: result.failureReason };
}

describe('export items from another company', () => {
  it('are refused with validation_failure naming both companies, never mapped', () => {
    const other = '99999999-9999-4999-8999-999999999999';
    const r = refused(base({ companyId: other }));
    expect(r.type).toBe('validation_failure');
    expect(r.reason).toContain(other);
    expect(r.reason).toContain(COMPANY);
    expect(r.reason).toMatch(/not booked/);
  });
});

describe('values that must match the spec', () => {
  it.each([
    ['subType', { subType: 'interest\ninclude /etc/passwd' }, /subType "interest\\ninclude \/etc\/passwd"/],
    ['subType', { subType: 'not_a_subtype' }, /one of ExportItemSubTypeV3/],
    ['bookkeeping.method', { bookkeeping: { method: 'journal\n2026-01-01 * fake' } }, /bookkeeping\.method/],
    ['type', { type: 'card_purchase ; x' }, /type "card_purchase ; x"/],
    ['date', { date: '2026-02-30T10:00:00Z' }, /date "2026-02-30T10:00:00Z" is not a valid date/],
    ['date', { date: '2026-03-01T10:00:00Z\ninclude x' }, /not a valid date/],
    ['accountingEntryId', { accountingEntryId: 'eeeeeeee-0000-4000-8000-000000000001\n' }, /UUID/],
  ] as const)('%s %j → validation_failure', (_field, partial, pattern) => {
    const r = refused(base(partial as Partial<ExportItem>));
    expect(r.type).toBe('validation_failure');
    expect(r.reason).toMatch(pattern);
    expect(r.reason).toMatch(/Report the expense to Pleo support/);
  });

  it('invoice and due dates: YYYY-MM-DD or a date-time of a real day, nothing else', () => {
    const invoice = (invoiceDate: string, dueDate?: string): ExportItem =>
      base({
        additionalInformation: {
          reconciliationId: 'R-1',
          invoiceInformation: {
            invoiceNumber: 'INV-1',
            invoiceDate,
            status: 'paid',
            ...(dueDate === undefined ? {} : { dueDate }),
          },
        },
      });
    for (const bad of ['2026-13-45', '2026-03-01\ninclude /etc/passwd', '2026-3-1', '', '01.03.2026']) {
      expect(refused(invoice(bad)).reason).toMatch(/invoice date .* is not a valid date/);
      expect(refused(invoice('2026-03-01', bad)).reason).toMatch(/invoice due date .* is not a valid date/);
    }
    for (const good of ['2026-03-01', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00.123+02:00']) {
      const r = mapExportItem(invoice(good, good), config, ctx);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.entry.invoice).toMatchObject({ date: '2026-03-01', dueDate: '2026-03-01' });
    }
  });

  it('service period dates are date-times of real days', () => {
    const r = refused(base({ servicePeriod: { from: '2026-03-01T00:00:00Z', to: '2026-03-32T00:00:00Z' } }));
    expect(r.reason).toMatch(/service period end/);
  });

  it('a tax type outside TaxTypeV3 refuses the item', () => {
    const l = line({ account: '6010', amount: -1000, tax: { type: 'inclusive', rate: 0.25, amount: -200 } });
    const r = refused(
      base({ accountingEntryLines: [{ ...l, tax: { ...l.tax!, type: 'sometimes' as 'inclusive' } }] }),
    );
    expect(r.reason).toMatch(/tax type "sometimes"/);
  });
});

describe('identifiers with control characters', () => {
  it('account code → account_unknown', () => {
    const r = refused(
      base({ accountingEntryLines: [line({ account: '6010\ninclude /etc/passwd', amount: -1000 })] }),
    );
    expect(r.type).toBe('account_unknown');
    expect(r.reason).toMatch(/Account No\. "6010\\ninclude \/etc\/passwd" contains a control character/);
  });

  it('tax code → tax_code_unknown; tag code → tag_unknown', () => {
    const taxed = line({
      account: '6010',
      amount: -1000,
      tax: { type: 'inclusive', rate: 0.25, amount: -200, code: 'S25\u001b[2J' },
    });
    expect(refused(base({ accountingEntryLines: [taxed] })).type).toBe('tax_code_unknown');
    const tagged = line({
      account: '6010',
      amount: -1000,
      tags: [{ groupCode: 'DEPT', code: 'Sales\u202e' }],
    });
    expect(refused(base({ accountingEntryLines: [tagged] })).type).toBe('tag_unknown');
  });

  it('reconciliation id → validation_failure', () => {
    expect(
      refused(base({ additionalInformation: { reconciliationId: 'R-1\n2026-01-01 * fake' } })).type,
    ).toBe('validation_failure');
  });
});

describe('free text', () => {
  it('each control character becomes a space; the item is booked', () => {
    const hostile = 'Hotel\u001b]0;owned\u0007 Alpha\u202e;\ninclude /etc/passwd\u2028\u0000';
    const result = mapExportItem(
      base({
        note: hostile,
        supplier: { name: hostile },
        user: { id: '55555555-0000-4000-8000-000000000001', name: hostile },
        additionalInformation: {
          reconciliationId: 'R-1',
          attendees: [hostile],
          invoiceInformation: { invoiceNumber: hostile, invoiceDate: '2026-03-01', status: 'paid' },
        },
      }),
      config,
      ctx,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { entry } = result;
    expect(entry.note).toBe(cleanText(hostile));
    expect(entry.note).toBe('Hotel ]0;owned  Alpha ; include /etc/passwd  ');
    expect(entry.attendees).toEqual([cleanText(hostile)]);
    expect(entry.invoice?.number).toBe(cleanText(hostile));
    expect(entry.description).not.toMatch(CONTROL);
    // The user's name is a dimension value when the user has no code.
    expect(entry.postings[0]!.dimensions['user']).toBe(cleanText(hostile));
    expect(JSON.stringify(entry)).not.toMatch(/\\u00(?:0|1)[0-9a-f]|\\u2028/);
  });

  it('a lone surrogate becomes U+FFFD', () => {
    expect(cleanText('a\ud800b\udc00c💸')).toBe('a\ufffdb\ufffdc💸');
  });
});
