import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { EntryIndex, type IndexedEntry } from '../../src/adapters/hledger/entry-index.js';

describe('hledger EntryIndex', () => {
  it('gives back exactly what was set, for many UUID keys (past every growth step)', () => {
    const index = new EntryIndex();
    const expected = new Map<string, IndexedEntry>();
    const base = Date.parse('2026-03-01T10:00:00.000Z');
    for (let n = 1; n <= 5000; n++) {
      const entry = {
        code: `P${String(n).padStart(6, '0')}`,
        line: n * 17 + 3,
        recordedAt: new Date(base + n * 1234).toISOString(),
      };
      const key = randomUUID();
      index.set(key, entry);
      expected.set(key, entry);
    }
    expect(index.size).toBe(5000);
    for (const [key, entry] of expected) expect(index.get(key)).toEqual(entry);
    expect(index.get(randomUUID())).toBeUndefined();
  });

  it('keeps keys that are not UUIDs, and codes and times that do not round-trip, as written', () => {
    const index = new EntryIndex();
    const odd: [string, IndexedEntry][] = [
      ['not-a-uuid', { code: 'P000001', line: 10, recordedAt: '2026-03-01T10:00:00.000Z' }],
      // Upper case is another key than the lower-case UUID: ids are compared as written.
      ['AAAAAAAA-0000-4000-8000-000000000001', { code: 'X-7', line: 20, recordedAt: '2026-03-01T10:00:00Z' }],
      ['aaaaaaaa-0000-4000-8000-000000000001', { code: 'P12', line: 30, recordedAt: 'yesterday' }],
      ['', { code: 'aaaaaaaa-0000-4000-8000-000000000009', line: 1, recordedAt: '' }],
      [
        'bbbbbbbb-0000-4000-8000-000000000002',
        { code: 'P1234567', line: 40, recordedAt: '2026-03-01T10:00:00.5Z' },
      ],
    ];
    for (const [key, entry] of odd) index.set(key, entry);
    expect(index.size).toBe(odd.length);
    for (const [key, entry] of odd) expect(index.get(key)).toEqual(entry);
  });

  it('a second set of a key replaces its values; clear empties it', () => {
    const index = new EntryIndex();
    const key = randomUUID();
    index.set(key, { code: 'X-1', line: 1, recordedAt: 'then' });
    index.set(key, { code: 'P000002', line: 2, recordedAt: '2026-03-01T10:00:00.000Z' });
    expect(index.size).toBe(1);
    expect(index.get(key)).toEqual({ code: 'P000002', line: 2, recordedAt: '2026-03-01T10:00:00.000Z' });
    index.clear();
    expect(index.size).toBe(0);
    expect(index.get(key)).toBeUndefined();
  });

  it('refuses a line it cannot hold instead of storing a wrong one', () => {
    const index = new EntryIndex();
    expect(() => index.set(randomUUID(), { code: 'P000001', line: 2 ** 32, recordedAt: '' })).toThrow(
      RangeError,
    );
  });
});
