/**
 * WAL checkpoints off the event loop. By default SQLite checkpoints inside a COMMIT once the WAL
 * passes 1,000 pages: the committing call then copies pages into the database file, on the event
 * loop, in the middle of the engine's hot path. The embedded store turns that off on its own
 * connection (`wal_autocheckpoint = 0`) and asks this worker thread, with its own connection to the
 * same file, for a PASSIVE checkpoint every `every` commits. A PASSIVE checkpoint never waits for
 * the writer and never makes it wait: it copies what is committed and stops at what is not.
 *
 * While commits keep arriving the WAL may not get fully copied in one go (SQLite can only start it
 * over once every frame is copied and no one is writing). When it has grown past `restartPages`,
 * the worker asks for a RESTART checkpoint instead, which waits (within the busy timeout) for a
 * quiet moment and then lets the next writer start the WAL from the beginning: a rare, short
 * pause for the writer, and a WAL that stays bounded.
 *
 * The worker starts with the first request (a store that commits little never spawns it), is
 * `unref`ed (it never keeps the process alive) and is ended by `close()`. If it cannot run, the
 * checkpoint runs on the caller's connection, as SQLite would have done.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
process.removeAllListeners('warning');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let log = 0;
  try {
    const row = db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
    log = Number(row?.log ?? 0);
    if (log > workerData.restartPages) db.prepare('PRAGMA wal_checkpoint(RESTART)').get();
  } catch {}
  parentPort.postMessage(log);
});
`;

export interface CheckpointerOptions {
  /** The database file (not ':memory:'). */
  path: string;
  /** Commits between two checkpoint requests. @default 200 */
  every?: number;
  /** WAL pages past which a RESTART checkpoint is asked for. @default 4000 (about 16 MB) */
  restartPages?: number;
  /** Runs a checkpoint on the caller's connection (when the worker cannot). */
  fallback: () => void;
  /** Told when a checkpoint finished, with the WAL's size in pages before it. @default ignore */
  onCheckpoint?: (walPages: number) => void;
}

export class Checkpointer {
  private readonly options: Required<CheckpointerOptions>;
  private worker: Worker | null = null;
  private failed = false;
  private busy = false;
  private commits = 0;

  constructor(options: CheckpointerOptions) {
    this.options = { every: 200, restartPages: 4000, onCheckpoint: () => undefined, ...options };
  }

  /** Called after each commit; every `every` commits asks for a checkpoint (one at a time). */
  committed(): void {
    if (++this.commits < this.options.every || this.busy) return;
    this.commits = 0;
    if (this.failed) {
      this.options.fallback();
      return;
    }
    const worker = this.start();
    this.busy = true;
    worker.postMessage('checkpoint');
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: this.options.path, restartPages: this.options.restartPages },
    });
    worker.unref();
    worker.on('message', (walPages: number) => {
      this.busy = false;
      this.options.onCheckpoint(walPages);
    });
    worker.on('error', () => {
      this.failed = true;
      this.busy = false;
      this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  /** Ends the worker (closing the last connection checkpoints the rest). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
