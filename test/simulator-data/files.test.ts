import { describe, expect, it } from 'vitest';
import { exportItemAt, fileContentAt, parseFileToken } from '../../src/simulator/data/index.js';
import { BASE_URL, jobOf } from './helpers.js';

function tokenOf(url: string): string {
  return url.slice(`${BASE_URL}/files/`.length);
}

describe('receipt files', () => {
  const job = jobOf(51, { jobKey: 'job.with.dots/and-ünïcode' });

  it('serves bytes whose length equals files[].size, as PDF or PNG', () => {
    const types = new Set<string>();
    const counts = new Set<number>();
    let files = 0;
    for (let i = 0; i < 600; i++) {
      const item = exportItemAt(job, i, BASE_URL);
      counts.add(item.files?.length ?? -1);
      (item.files ?? []).forEach((f, fileIndex) => {
        const content = fileContentAt(job, i, fileIndex);
        expect(content.bytes.length).toBe(f!.size);
        expect(content.type).toBe(f!.type);
        expect(f!.size).toBeGreaterThan(1_000);
        expect(f!.size).toBeLessThan(8_000);
        types.add(content.type);
        if (content.type === 'application/pdf') {
          expect(content.bytes.subarray(0, 8).toString('latin1')).toBe('%PDF-1.4');
          expect(content.bytes.subarray(-6).toString('latin1')).toBe('%%EOF\n');
          expect(content.name).toMatch(/\.pdf$/);
        } else {
          expect(content.bytes.subarray(0, 8)).toEqual(
            Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
          );
          expect(content.name).toMatch(/\.png$/);
        }
        files++;
      });
    }
    expect(types).toEqual(new Set(['application/pdf', 'image/png']));
    expect(counts).toEqual(new Set([-1, 0, 1, 2, 3]));
    expect(files).toBeGreaterThan(300);
  });

  it('encodes job, index and file index in an opaque, tamper-evident token', () => {
    const i = Array.from({ length: 100 }, (_, k) => k).find(
      (k) => (exportItemAt(job, k, BASE_URL).files ?? []).length > 1,
    )!;
    const url = exportItemAt(job, i, `${BASE_URL}/`).files![1]!.url;
    expect(url.startsWith(`${BASE_URL}/files/`)).toBe(true);
    const token = tokenOf(url);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[a-z2-7]+$/);
    expect(parseFileToken(token)).toEqual({ jobKey: job.jobKey, index: i, fileIndex: 1 });
    const forged = `${token.slice(0, 3)}${token[3] === 'A' ? 'B' : 'A'}${token.slice(4)}`;
    expect(parseFileToken(forged)).toBeNull();
    expect(parseFileToken('')).toBeNull();
    expect(parseFileToken('not-a-token')).toBeNull();
    expect(parseFileToken(`${token}x`)).toBeNull();
  });

  it('rejects files the item does not have', () => {
    const i = Array.from({ length: 100 }, (_, k) => k).find(
      (k) => exportItemAt(job, k, BASE_URL).files === null,
    )!;
    expect(() => fileContentAt(job, i, 0)).toThrow(RangeError);
    expect(() => fileContentAt(job, 0, 3)).toThrow(RangeError);
    expect(() => fileContentAt(job, job.itemCount, 0)).toThrow(RangeError);
  });
});
