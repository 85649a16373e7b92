import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { IdSet, packUuid } from '../../src/client/index.js';

describe('packUuid and IdSet', () => {
  it('packs a lower-case UUID into its 16 bytes, and nothing else', () => {
    const id = '0123abcd-ef01-4234-8567-89abcdef0fff';
    const packed = packUuid(id);
    expect(packed).toHaveLength(16);
    expect(Buffer.from(packed!, 'latin1').toString('hex')).toBe(id.replaceAll('-', ''));
    expect(packUuid(id.toUpperCase())).toBeNull();
    expect(packUuid('not-a-uuid')).toBeNull();
    expect(packUuid(`${id}0`)).toBeNull();
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
