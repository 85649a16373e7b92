import { describe, expect, it } from 'vitest';

import { createCompanyPool, type PollTrigger } from '../../src/runtime/index.js';
import { FakeTimers } from '../server/helpers.js';

/** A poll function whose polls the test finishes one by one. */
function controlledPolls() {
  const started: { companyId: string; trigger: PollTrigger; signal: AbortSignal; finish: () => void }[] = [];
  const running = new Map<string, number>();
  let maxParallelPerCompany = 0;
  const poll = (companyId: string, trigger: PollTrigger, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      const now = (running.get(companyId) ?? 0) + 1;
      running.set(companyId, now);
      maxParallelPerCompany = Math.max(maxParallelPerCompany, now);
      started.push({
        companyId,
        trigger,
        signal,
        finish: () => {
          running.set(companyId, (running.get(companyId) ?? 1) - 1);
          resolve();
        },
      });
    });
  return { started, poll, maxParallelPerCompany: () => maxParallelPerCompany };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('company pool', () => {
  it('never runs two polls of one company at once: a trigger while running runs it again once, after', async () => {
    const polls = controlledPolls();
    const timers = new FakeTimers();
    const s = createCompanyPool({
      companyIds: ['a'],
      maxConcurrent: 4,
      pollIntervalMs: 1000,
      poll: polls.poll,
      setTimeout: timers.setTimeout,
    });
    s.start();
    expect(polls.started.map((p) => p.trigger)).toEqual(['startup']);
    expect(s.state('a')).toBe('running');
    const waits = [s.trigger('a', 'webhook'), s.trigger('a', 'manual'), s.trigger('a', 'webhook')];
    let done = 0;
    for (const w of waits) void w.then(() => done++);
    polls.started[0]!.finish();
    await tick();
    expect(done).toBe(0); // they wait for the poll that starts after them
    expect(polls.started.map((p) => p.trigger)).toEqual(['startup', 'webhook']);
    polls.started[1]!.finish();
    await tick();
    expect(done).toBe(3);
    expect(polls.started).toHaveLength(2);
    expect(polls.maxParallelPerCompany()).toBe(1);
    expect(s.state('a')).toBe('idle');
    expect(timers.active()).toHaveLength(1);
  });

  it('runs companies in parallel up to the cap, the others wait in FIFO order', async () => {
    const polls = controlledPolls();
    const s = createCompanyPool({
      companyIds: ['a', 'b', 'c', 'd'],
      maxConcurrent: 2,
      pollIntervalMs: 1000,
      poll: polls.poll,
      setTimeout: new FakeTimers().setTimeout,
    });
    s.start();
    expect(polls.started.map((p) => p.companyId)).toEqual(['a', 'b']);
    expect([s.running(), s.queueDepth()]).toEqual([2, 2]);
    expect([s.state('c'), s.state('d')]).toEqual(['queued', 'queued']);
    void s.trigger('a', 'manual'); // runs again: to the back of the queue
    polls.started[0]!.finish();
    await tick();
    expect(polls.started.map((p) => p.companyId)).toEqual(['a', 'b', 'c']);
    expect(s.queueDepth()).toBe(2);
    polls.started[1]!.finish();
    await tick();
    polls.started[2]!.finish();
    await tick();
    expect(polls.started.map((p) => p.companyId)).toEqual(['a', 'b', 'c', 'd', 'a']);
    let idle = false;
    void s.whenIdle().then(() => (idle = true));
    polls.started[3]!.finish();
    polls.started[4]!.finish();
    await tick();
    await tick();
    expect(idle).toBe(true);
    expect([s.running(), s.queueDepth()]).toEqual([0, 0]);
  });

  it('arms one jittered timer per idle company (±20 %) and polls when it fires', async () => {
    const polls = controlledPolls();
    const timers = new FakeTimers();
    const randoms = [0, 0.999999, 0.5];
    const s = createCompanyPool({
      companyIds: ['a', 'b', 'c'],
      maxConcurrent: 3,
      pollIntervalMs: 100_000,
      poll: polls.poll,
      setTimeout: timers.setTimeout,
      random: () => randoms.shift() ?? 0.5,
    });
    s.start();
    for (const p of polls.started) p.finish();
    await tick();
    expect(timers.active().map((t) => t.ms)).toEqual([80_000, 120_000, 100_000]);
    // A trigger of an idle company cancels its timer; a new one is armed when its poll ends.
    void s.trigger('b', 'manual');
    expect(timers.active()).toHaveLength(2);
    polls.started[3]!.finish();
    await tick();
    expect(timers.active()).toHaveLength(3);
    expect(timers.fireAll()).toBe(3);
    expect(polls.started.slice(4).map((p) => [p.companyId, p.trigger])).toEqual([
      ['a', 'timer'],
      ['c', 'timer'],
      ['b', 'timer'],
    ]);
  });

  it('without a poll interval arms no timer: a company polls only when triggered', async () => {
    const polls = controlledPolls();
    const timers = new FakeTimers();
    const s = createCompanyPool({
      companyIds: ['a', 'b'],
      maxConcurrent: 1,
      pollIntervalMs: null,
      poll: polls.poll,
      setTimeout: timers.setTimeout,
    });
    const done = Promise.all([s.trigger('a', 'manual'), s.trigger('b', 'manual')]);
    expect(polls.started.map((p) => p.companyId)).toEqual(['a']);
    polls.started[0]!.finish();
    await tick();
    expect(polls.started.map((p) => p.companyId)).toEqual(['a', 'b']);
    polls.started[1]!.finish();
    await done;
    await s.whenIdle();
    expect(timers.timers).toHaveLength(0);
    expect([s.state('a'), s.state('b')]).toEqual(['idle', 'idle']);
  });

  it('stop: no new polls, queued ones dropped, timers cancelled, the running poll aborted and awaited', async () => {
    const polls = controlledPolls();
    const timers = new FakeTimers();
    const s = createCompanyPool({
      companyIds: ['a', 'b', 'c'],
      maxConcurrent: 1,
      pollIntervalMs: 1000,
      poll: polls.poll,
      setTimeout: timers.setTimeout,
    });
    s.start();
    const queuedWait = s.trigger('b', 'manual');
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    expect(polls.started[0]!.signal.aborted).toBe(true);
    await queuedWait; // released: that poll will not happen
    await tick();
    expect(stopped).toBe(false);
    polls.started[0]!.finish();
    await stopping;
    expect(polls.started).toHaveLength(1);
    expect(['a', 'b', 'c'].map((id) => s.state(id))).toEqual(['stopped', 'stopped', 'stopped']);
    expect(timers.active()).toHaveLength(0);
    await s.trigger('a', 'webhook');
    expect(polls.started).toHaveLength(1);
    await s.whenIdle();
    expect(() => s.trigger('zzz', 'manual')).toThrow(/unknown company/);
  });
});
