/**
 * A counting semaphore: at most `size` units held at once; waiters are served in arrival order
 * (a heavy waiter at the head is not overtaken by lighter ones behind it). A weight above the
 * size is taken as the whole size, so one oversized holder runs alone instead of never.
 */
export class Semaphore {
  private available: number;
  private readonly size: number;
  private readonly waiters: { weight: number; resolve: () => void }[] = [];

  constructor(size: number) {
    this.size = Math.max(1, Math.floor(size));
    this.available = this.size;
  }

  /** Takes `weight` units (default 1); resolves when they are free and every earlier waiter was served. */
  acquire(weight = 1): Promise<void> {
    const w = this.clamp(weight);
    if (this.waiters.length === 0 && this.available >= w) {
      this.available -= w;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ weight: w, resolve }));
  }

  /** Gives back what one `acquire(weight)` took. */
  release(weight = 1): void {
    this.available += this.clamp(weight);
    for (;;) {
      const head = this.waiters[0];
      if (head === undefined || head.weight > this.available) return;
      this.waiters.shift();
      this.available -= head.weight;
      head.resolve();
    }
  }

  private clamp(weight: number): number {
    return Math.min(this.size, Math.max(1, Math.ceil(weight)));
  }
}
