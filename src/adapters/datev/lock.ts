/**
 * One writer per output directory: `<dir>/.pleo-datev.lock` created with O_EXCL, holding the
 * owner's pid. A lock whose pid no longer runs (its owner crashed) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { AccountingSystemError } from '../../errors/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  release(): Promise<void>;
}

export async function lockDirectory(dir: string): Promise<DirLock> {
  const path = join(dir, '.pleo-datev.lock');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${String(process.pid)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      let released = false;
      return {
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
          `The DATEV output directory ${dir} is in use by process ${String(owner)} (${path}); one writer at a time. If that process is not pleo-export, delete the lock file.`,
          { code: 'ACCOUNTING_UNREACHABLE', retryable: true },
        );
      }
      await unlink(path).catch(() => undefined); // stale: its owner is gone
    }
  }
  throw new AccountingSystemError(`Could not lock the DATEV output directory ${dir}`, {
    code: 'ACCOUNTING_UNREACHABLE',
    retryable: true,
  });
}
