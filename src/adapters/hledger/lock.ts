/**
 * One writer per journal: an exclusive lock file `<journal>.lock` created with O_EXCL, holding the
 * owner's pid. A lock whose pid no longer runs is stale (its owner crashed) and is taken over.
 * No native dependencies; works on any local file system. (PID reuse after a crash can make a
 * stale lock look alive: remove the file by hand in that rare case; the error message says so.)
 */
import { open, readFile, unlink } from 'node:fs/promises';

import { AccountingSystemError } from '../../errors/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface JournalLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Acquires `<journalPath>.lock` or throws a retryable `AccountingSystemError` naming the owner. */
export async function acquireLock(journalPath: string): Promise<JournalLock> {
  const path = `${journalPath}.lock`;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new AccountingSystemError(
          `The journal ${journalPath} is locked by process ${owner} (${path}); only one writer at a time. If that process is not a pleo-export writer, delete the lock file.`,
          { code: 'ACCOUNTING_UNREACHABLE', retryable: true },
        );
      }
      // Stale (owner dead) or half-written lock: remove and try again.
      await unlink(path).catch(() => undefined);
    }
  }
  throw new AccountingSystemError(`Could not acquire the journal lock ${path}`, {
    code: 'ACCOUNTING_UNREACHABLE',
    retryable: true,
  });
}
