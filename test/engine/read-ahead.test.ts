import { describe, expect, it } from 'vitest';

import { ReadAhead } from '../../src/engine/read-ahead.js';

/** A source of `count` pages, each answered when the test says so; its calls are recorded. */
function manualSource(count: number, failAt?: number) {
  const log: string[] = [];
  const answers: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  async function* pages(): AsyncGenerator<number> {
    try {
      for (let n = 1; n <= count; n++) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        log.push(`request ${n}`);
        await new Promise<void>((resolve) => answers.push(resolve));
        inFlight -= 1;
        if (n === failAt) throw new Error(`page ${n} failed`);
        yield n;
      }
    } finally {
      log.push('closed');
    }
  }
  const settle = async (): Promise<void> => {
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  /** Answers every request waiting, turn after turn, until none is left. */
  const answerAll = async (): Promise<void> => {
    await settle();
    while (answers.length > 0) {
      answers.shift()!();
      await settle();
    }
  };
  return { pages, log, answers, settle, answerAll, maxInFlight: () => maxInFlight };
}

describe('ReadAhead', () => {
  it('reads up to depth pages ahead of the consumer, one request at a time, and hands them over in order', async () => {
    const source = manualSource(6);
    const reading = new ReadAhead(source.pages(), 3);
    await source.answerAll();
    // Three pages read before the consumer asked for any, then it waits.
    expect(source.log).toEqual(['request 1', 'request 2', 'request 3']);
    const seen: number[] = [];
    const consuming = (async () => {
      for await (const page of reading) seen.push(page);
    })();
    await source.answerAll();
    await consuming;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(source.maxInFlight()).toBe(1);
    expect(source.log.at(-1)).toBe('closed');
  });

  it('hands a failure over after the pages before it, and reads nothing after it', async () => {
    const source = manualSource(6, 3);
    const reading = new ReadAhead(source.pages(), 4);
    await source.answerAll();
    expect(await reading.next()).toEqual({ done: false, value: 1 });
    expect(await reading.next()).toEqual({ done: false, value: 2 });
    await expect(reading.next()).rejects.toThrow('page 3 failed');
    expect(await reading.next()).toEqual({ done: true, value: undefined });
    expect(source.log).toEqual(['request 1', 'request 2', 'request 3', 'closed']);
  });

  it('stopped early: the request in flight is stopped and awaited, then the source is closed', async () => {
    const source = manualSource(10);
    let stopped = 0;
    const reading = new ReadAhead(source.pages(), 2, () => {
      stopped += 1;
      source.answers.shift()?.(); // the stopped request ends
    });
    await source.settle();
    source.answers.shift()!();
    await source.settle();
    expect(await reading.next()).toEqual({ done: false, value: 1 });
    await source.settle();
    expect(source.log).toEqual(['request 1', 'request 2']); // page 2 in flight
    await reading.return();
    expect(stopped).toBe(1);
    expect(source.log).toEqual(['request 1', 'request 2', 'closed']);
    expect(await reading.next()).toEqual({ done: true, value: undefined });
    await reading.return(); // twice is harmless
    expect(stopped).toBe(1);
  });

  it('refuses a depth below 1', () => {
    expect(() => new ReadAhead(manualSource(1).pages(), 0)).toThrow(RangeError);
  });
});
