import { describe, expect, it } from 'vitest';

import { Semaphore } from '../../src/engine/semaphore.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('holds at most its size and serves waiters in arrival order', async () => {
    const s = new Semaphore(2);
    const got: string[] = [];
    await s.acquire();
    await s.acquire();
    void s.acquire().then(() => got.push('a'));
    void s.acquire().then(() => got.push('b'));
    await flush();
    expect(got).toEqual([]);
    s.release();
    await flush();
    expect(got).toEqual(['a']);
    s.release();
    await flush();
    expect(got).toEqual(['a', 'b']);
  });

  it('weights: a heavy waiter at the head is not overtaken, an oversized one runs alone', async () => {
    const s = new Semaphore(100);
    const got: string[] = [];
    await s.acquire(60);
    void s.acquire(50).then(() => got.push('heavy'));
    void s.acquire(10).then(() => got.push('light')); // would fit now, but waits its turn
    await flush();
    expect(got).toEqual([]);
    s.release(60);
    await flush();
    expect(got).toEqual(['heavy', 'light']);
    s.release(50);
    s.release(10);
    void s.acquire(500).then(() => got.push('oversized'));
    await flush();
    expect(got).toContain('oversized');
    void s.acquire(1).then(() => got.push('after'));
    await flush();
    expect(got).not.toContain('after');
    s.release(500);
    await flush();
    expect(got.at(-1)).toBe('after');
  });
});
