/**
 * One item's turn to call the accounting system: granted in dispatch order by `process`, taken
 * when the item is ready to write, passed on as soon as its call returned (or at once when the
 * item has nothing to write). Passing twice, or passing a turn never taken, is harmless.
 */
export class Turn {
  readonly granted: Promise<void>;
  private readonly release: () => void;
  private state: 'waiting' | 'held' | 'passed' = 'waiting';

  constructor(granted: Promise<void>, release: () => void) {
    this.granted = granted;
    this.release = release;
  }

  async take(): Promise<void> {
    await this.granted;
    if (this.state === 'waiting') this.state = 'held';
  }

  pass(): void {
    if (this.state === 'held') this.release();
    else if (this.state === 'waiting') void this.granted.then(() => this.release());
    this.state = 'passed';
  }
}
