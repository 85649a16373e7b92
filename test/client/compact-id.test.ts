import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { IdSet, UuidRows, uuidWords } from '../../src/client/index.js';

describe('UuidRows and IdSet', () => {
  it('reads a lower-case UUID into its four words, and nothing else', () => {
    const id = '0123abcd-ef01-4234-8567-89abcdef0fff';
    const words = new Int32Array(4);
    expect(uuidWords(id, words)).toBe(true);
    const hex = Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
    expect(hex).toBe(id.replaceAll('-', ''));
    for (const other of [
      id.toUpperCase(),
      'not-a-uuid',
      `${id}0`,
      id.slice(0, 35),
      id.replace('-', 'x'),
      id.replace('a', 'g'),
      '0123abcd0ef01-4234-8567-89abcdef0fff',
    ])
      expect(uuidWords(other, words)).toBe(false);
  });

  it('numbers UUIDs in order of first sight and finds each again, past every growth step', () => {
    const rows = new UuidRows();
    // Random ids, and ids that count up (they differ in a few bits only: the hash must spread them).
    const ids = [
      ...Array.from({ length: 6000 }, () => randomUUID()),
      ...Array.from({ length: 6000 }, (_, n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`),
      ...Array.from(
        { length: 3000 },
        (_, n) => `${(n + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`,
      ),
    ];
    ids.forEach((id, n) => {
      expect(rows.find(id)).toBe(-1);
      expect(rows.insert(id)).toBe(n);
      expect(rows.insert(id)).toBe(n);
      expect(rows.size).toBe(n + 1);
    });
    ids.forEach((id, n) => expect(rows.find(id)).toBe(n));
    for (let i = 0; i < 500; i++) expect(rows.find(randomUUID())).toBe(-1);
    expect(rows.find('job-1')).toBeNull();
    expect(rows.insert('AAAAAAAA-0000-4000-8000-000000000001')).toBeNull();
    expect(rows.size).toBe(ids.length);
    rows.clear();
    expect(rows.size).toBe(0);
    expect(rows.find(ids[0]!)).toBe(-1);
    expect(rows.insert(ids[1]!)).toBe(0);
  });

  it('a set of ids answers like a Set of strings, whatever the form of each id', () => {
    const set = new IdSet();
    const reference = new Set<string>();
    const ids = [
      ...Array.from({ length: 2000 }, () => randomUUID()),
      'job-1',
      '',
      'AAAAAAAA-0000-4000-8000-000000000001',
      'aaaaaaaa-0000-4000-8000-000000000001',
    ];
    for (const id of ids) {
      expect(set.has(id)).toBe(false);
      expect(set.add(id)).toBe(true);
      expect(set.add(id)).toBe(false);
      reference.add(id);
      expect(set.has(id)).toBe(true);
    }
    expect(set.size).toBe(reference.size);
    for (let i = 0; i < 200; i++) expect(set.has(randomUUID())).toBe(false);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.has(ids[0]!)).toBe(false);
  });
});
