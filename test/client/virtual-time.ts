/**
 * Virtual time for running a client against a real (loopback) simulator with no real sleeps:
 * `sleep` parks the caller on a timer queue, and {@link VirtualTime.run} moves the clock to the
 * next timer only when every task is parked, i.e. no HTTP exchange is in flight and the
 * microtask queue has drained. Each exchange costs `latencyMs` of virtual time (the server sees
 * the request when it arrives and answers `latencyMs` later), so rates measured on the virtual
 * clock are those of a Pleo with that latency, whatever the machine's speed.
 */
import { setImmediate as tick } from 'node:timers/promises';
import type { FetchLike, Sleep } from '../../src/client/index.js';

interface Timer {
  at: number;
  order: number;
  resolve: () => void;
}

export class VirtualTime {
  now: number;
  private timers: Timer[] = [];
  private order = 0;
  /** Real HTTP exchanges (request sent, body not yet read) in flight. */
  private busy = 0;
  /** Bumped by every exchange that starts: a change means the world moved while we waited. */
  private generation = 0;

  constructor(startMs: number) {
    this.now = startMs;
  }

  readonly clock = (): number => this.now;

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new DOMException('Aborted', 'AbortError'));
        return;
      }
      const timer: Timer = { at: this.now + Math.max(0, ms), order: this.order++, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(new DOMException('Aborted', 'AbortError'));
        },
        { once: true },
      );
    });

  /** Wraps a real fetch: the exchange happens at once in real time, then takes `latencyMs` of virtual time. */
  fetch(inner: FetchLike, latencyMs: number): FetchLike {
    return async (url, init) => {
      this.busy++;
      this.generation++;
      let response: Response;
      let body: ArrayBuffer;
      try {
        response = await inner(url, init);
        body = await response.arrayBuffer();
      } finally {
        this.busy--;
      }
      await this.sleep(latencyMs);
      return new Response(body.byteLength === 0 && response.status === 204 ? null : body, {
        status: response.status,
        headers: response.headers,
      });
    };
  }

  /** Runs `work` to its end, moving the clock from timer to timer whenever every task waits on one. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      const generation = this.generation;
      await tick();
      await tick();
      if (settled) break;
      if (this.busy > 0 || generation !== this.generation) continue;
      if (this.timers.length === 0) continue;
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers.shift()!;
      this.now = Math.max(this.now, next.at);
      next.resolve();
    }
    return work;
  }
}
