import { describe, expect, it } from 'vitest';

import {
  attachmentFileName,
  checkReceipt,
  compileAccountingConfig,
  currencyExponent,
  extensionForContentType,
  formatMinor,
  parseMinor,
  receiptFailure,
  taxIncludedIn,
  taxOn,
} from '../../src/accounting/index.js';

describe('currency', () => {
  it('exponents per ISO 4217', () => {
    expect([
      currencyExponent('EUR'),
      currencyExponent('JPY'),
      currencyExponent('KWD'),
      currencyExponent('CLF'),
    ]).toEqual([2, 0, 3, 4]);
  });
  it('formats minor units exactly', () => {
    expect(formatMinor(89696, 'SEK')).toBe('896.96');
    expect(formatMinor(-5, 'EUR')).toBe('-0.05');
    expect(formatMinor(1234, 'JPY')).toBe('1234');
    expect(formatMinor(1, 'KWD')).toBe('0.001');
    expect(formatMinor(0, 'EUR')).toBe('0.00');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, 'EUR')).toBe('90071992547409.91');
    expect(() => formatMinor(1.5, 'EUR')).toThrow(RangeError);
  });
  it('parses decimal strings exactly', () => {
    expect(parseMinor('896.96', 'SEK')).toBe(89696);
    expect(parseMinor('-0.1', 'EUR')).toBe(-10);
    expect(parseMinor('12', 'JPY')).toBe(12);
    expect(() => parseMinor('1.5', 'JPY')).toThrow(RangeError);
  });
  it('derives tax with integer arithmetic, halves away from zero', () => {
    expect(taxIncludedIn(12500, 0.25)).toBe(2500);
    expect(taxIncludedIn(100, 0.25)).toBe(20);
    expect(taxIncludedIn(1, 0.25)).toBe(0); // 0.2 → 0
    expect(taxIncludedIn(3, 0.25)).toBe(1); // 0.6 → 1
    expect(taxOn(10000, 0.2)).toBe(2000);
    expect(taxOn(5, 0.1)).toBe(1); // 0.5 → 1
    expect(taxOn(-5, 0.1)).toBe(-1);
    expect(taxOn(333, 0.07)).toBe(23); // 23.31
  });
});

describe('attachments', () => {
  const config = compileAccountingConfig({ attachments: { maxBytes: 1000 } });
  it('deterministic names from MIME types', () => {
    expect(attachmentFileName('abc', 0, 'application/pdf')).toBe('abc-0.pdf');
    expect(attachmentFileName('abc', 1, 'image/jpeg; charset=binary')).toBe('abc-1.jpg');
    expect(extensionForContentType('pdf')).toBe('pdf');
    expect(extensionForContentType('application/x-unknown')).toBe('bin');
  });
  it('checks size and type, with receipt_* failures', () => {
    expect(checkReceipt({ index: 0, size: 10, contentType: 'application/pdf' }, config)).toBeNull();
    const big = checkReceipt({ index: 0, size: 2048, contentType: 'application/pdf' }, config);
    expect(big?.kind).toBe('too_large');
    expect(receiptFailure(big!)).toEqual({
      failureReasonType: 'receipt_file_size_limit_exceeded',
      failureReason:
        'Receipt 1 is 2 KB, above the limit of 1000 bytes. Replace it with a smaller file in Pleo and export again.',
    });
    const heic = checkReceipt({ index: 2, size: 10, contentType: 'image/heic' }, config);
    expect(receiptFailure(heic!).failureReasonType).toBe('receipt_conversion_failure');
    expect(receiptFailure({ kind: 'download', index: 0, detail: 'HTTP 403' }).failureReason).toBe(
      'Receipt 1 could not be downloaded from Pleo (HTTP 403). Export the expense again to retry.',
    );
    expect(receiptFailure({ kind: 'upload', index: 0 }).failureReasonType).toBe('receipt_upload_failure');
  });
});
