/**
 * The AIMD controller and the pacer that enforces it (issue 20), on a fake clock: no real sleeps.
 */
import { describe, expect, it } from 'vitest';
import { AimdController, Pacer, type Permit } from '../../src/client/rate-limit.js';
import { fakeTime } from './helpers.js';

/** Sends `n` requests `gapMs` apart from `from`; returns the sequence numbers and the last time. */
function sendEvery(aimd: AimdController, n: number, gapMs: number, from = 0): { seqs: number[]; at: number } {
  const seqs: number[] = [];
  let at = from;
  for (let i = 0; i < n; i++) {
    at = from + i * gapMs;
    seqs.push(aimd.sent(at));
  }
  return { seqs, at };
}

describe('AimdController', () => {
  it('starts unpaced, at the concurrency cap', () => {
    const aimd = new AimdController({ maxConcurrency: 8 });
    expect(aimd.rate).toBe(Infinity);
    expect(aimd.concurrency).toBe(8);
    const { seqs } = sendEvery(aimd, 100, 0);
    for (const seq of seqs) aimd.success(seq);
    expect(aimd.rate).toBe(Infinity);
    expect(aimd.concurrency).toBe(8);
  });

  it('cuts rate and window to 0.7 × what was actually used on a congestion signal', () => {
    const aimd = new AimdController({ maxConcurrency: 8 });
    // 10 requests/s for a second (t = 0 … 900 ms), 4 in flight when the 429 arrives.
    const { seqs, at } = sendEvery(aimd, 10, 100);
    expect(aimd.measuredRate(at)).toBeCloseTo(10, 6);
    expect(aimd.congestion(seqs.at(-1)!, at, 4)).toBe(true);
    expect(aimd.rate).toBeCloseTo(7, 6);
    expect(aimd.concurrency).toBe(2); // floor(0.7 × 4), not 0.7 × the cap of 8
    expect(aimd.decreases).toBe(1);
  });

  it('counts the signals of requests already in flight at a cut once', () => {
    const aimd = new AimdController({ maxConcurrency: 8 });
    const { seqs, at } = sendEvery(aimd, 10, 100);
    expect(aimd.congestion(seqs[9]!, at, 8)).toBe(true);
    // Seven more 429s for requests sent before the cut: one event, not eight halvings.
    for (const seq of seqs.slice(2, 9)) expect(aimd.congestion(seq, at + 5, 8)).toBe(false);
    expect(aimd.rate).toBeCloseTo(7, 6);
    expect(aimd.decreases).toBe(1);
    // A request sent after the cut that is refused again cuts again: 0.7 × 7.
    const next = aimd.sent(at + 150);
    expect(aimd.congestion(next, at + 200, 1)).toBe(true);
    expect(aimd.rate).toBeCloseTo(4.9, 6);
    expect(aimd.concurrency).toBe(1);
  });

  it('grows back additively: a fixed step per second of successes, the window by one per window', () => {
    const aimd = new AimdController({ maxConcurrency: 4 });
    const { seqs, at } = sendEvery(aimd, 40, 25); // 40/s
    aimd.congestion(seqs.at(-1)!, at, 4);
    expect(aimd.rate).toBeCloseTo(28, 6);
    expect(aimd.concurrency).toBe(2);
    // The step is max(1, 5 % of 28) = 1.4 requests/s per second of successful traffic: after about
    // `rate` successes (one second at that rate) the rate has grown by about 1.4, never more.
    const rates: number[] = [aimd.rate];
    for (let second = 0; second < 5; second++) {
      const n = Math.round(aimd.rate);
      for (let i = 0; i < n; i++) aimd.success(aimd.sent(at + 1000 + second * 1000 + i));
      rates.push(aimd.rate);
    }
    const steps = rates.slice(1).map((r, i) => r - rates[i]!);
    for (const step of steps) {
      expect(step).toBeGreaterThan(1.3);
      expect(step).toBeLessThan(1.5);
    }
    // The window is back at the cap of 4 (2 → 3 after 2 successes, 3 → 4 after 3 more) and stays there.
    expect(aimd.concurrency).toBe(4);
  });

  it('never drops below 0.5 requests/s and never grows past maxRate', () => {
    const slow = new AimdController({ maxConcurrency: 2 });
    let at = 0;
    for (let i = 0; i < 20; i++) {
      at += 10_000;
      slow.congestion(slow.sent(at), at, 1);
    }
    expect(slow.rate).toBe(0.5);
    expect(slow.concurrency).toBe(1);

    const capped = new AimdController({ maxConcurrency: 2, maxRate: 5 });
    const { seqs, at: t } = sendEvery(capped, 10, 100);
    capped.congestion(seqs.at(-1)!, t, 1);
    expect(capped.rate).toBe(5); // min(5, 0.7 × 10)
    for (let i = 0; i < 1000; i++) capped.success(capped.sent(t + i));
    expect(capped.rate).toBe(5);
  });

  it('measures the first requests of a run over at least 100 ms, not over zero time', () => {
    const aimd = new AimdController({ maxConcurrency: 8 });
    sendEvery(aimd, 5, 0, 1000);
    expect(aimd.measuredRate(1000)).toBe(50); // 5 in 100 ms
    expect(aimd.measuredRate(5000)).toBe(1); // nothing in the last second: at least 1/s
  });
});

describe('Pacer', () => {
  const maxPauseMs = 60_000;

  it('sends at once while nothing pushes back', async () => {
    const { time, clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 8, maxPauseMs, clock, sleep });
    for (let i = 0; i < 50; i++) (await pacer.acquire()).release({ kind: 'success' });
    expect(time.delays).toEqual([]);
  });

  it('holds requests past the concurrency cap and lets them go in arrival order', async () => {
    const { time, clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 2, maxPauseMs, clock, sleep });
    const a = await pacer.acquire();
    const b = await pacer.acquire();
    const order: string[] = [];
    const c = pacer.acquire().then((p) => (order.push('c'), p));
    const d = pacer.acquire().then((p) => (order.push('d'), p));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(pacer.state().inFlight).toBe(2);
    a.release({ kind: 'success' });
    (await c).release({ kind: 'success' });
    b.release({ kind: 'neutral' });
    (await d).release({ kind: 'success' });
    expect(order).toEqual(['c', 'd']);
    expect(pacer.state().inFlight).toBe(0);
    expect(time.delays).toEqual([]);
  });

  it('a 429 with Retry-After pauses every request, then the rate is paced', async () => {
    const { time, clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 8, maxPauseMs, clock, sleep });
    const permits: Permit[] = [];
    for (let i = 0; i < 4; i++) permits.push(await pacer.acquire());
    permits[0]!.release({ kind: 'congestion', retryAfterMs: 2000 });
    for (const p of permits.slice(1)) p.release({ kind: 'congestion', retryAfterMs: 2000 });
    expect(pacer.state().decreases).toBe(1);
    // 4 requests in the first 100 ms: 40/s measured, 28/s allowed; one request in flight at most 2.
    expect(pacer.state().rate).toBeCloseTo(28, 6);
    expect(pacer.state().concurrency).toBe(2);
    (await pacer.acquire()).release({ kind: 'success' });
    (await pacer.acquire()).release({ kind: 'success' });
    // 2000: the pause; then the rate bucket was full (capacity 1) for the first, the second waits 1/28 s.
    expect(time.delays).toEqual([2000, 36]);
  });

  it('caps a Retry-After pause at maxPauseMs', async () => {
    const { time, clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 8, maxPauseMs: 5000, clock, sleep });
    (await pacer.acquire()).release({ kind: 'congestion', retryAfterMs: 3_600_000 });
    (await pacer.acquire()).release({ kind: 'success' });
    expect(time.delays).toEqual([5000]);
  });

  it('4xx, network errors and timeouts leave the pace alone', async () => {
    const { time, clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 8, maxPauseMs, clock, sleep });
    for (let i = 0; i < 10; i++) (await pacer.acquire()).release({ kind: 'neutral' });
    expect(pacer.state()).toMatchObject({ rate: Infinity, concurrency: 8, decreases: 0 });
    expect(time.delays).toEqual([]);
  });

  it('an aborted wait for a slot leaves no slot taken', async () => {
    const { clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 1, maxPauseMs, clock, sleep });
    const held = await pacer.acquire();
    const controller = new AbortController();
    const waiting = pacer.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    held.release({ kind: 'success' });
    expect(pacer.state().inFlight).toBe(0);
    (await pacer.acquire()).release({ kind: 'success' });
  });

  it('releasing a permit twice counts once', async () => {
    const { clock, sleep } = fakeTime();
    const pacer = new Pacer({ maxConcurrency: 2, maxPauseMs, clock, sleep });
    const p = await pacer.acquire();
    await pacer.acquire();
    p.release({ kind: 'success' });
    p.release({ kind: 'success' });
    expect(pacer.state().inFlight).toBe(1);
  });
});
