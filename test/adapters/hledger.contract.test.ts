import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createHledgerAdapter } from '../../src/adapters/index.js';
import { runAdapterContract } from './contract.js';
import { checkStrict } from './hledger-cli.js';

runAdapterContract('hledger', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pleo-hledger-contract-'));
  const journalPath = join(dir, 'books.journal');
  let adapter = createHledgerAdapter({ journalPath });
  return {
    adapter,
    async reopen() {
      await adapter.close();
      adapter = createHledgerAdapter({ journalPath });
      return adapter;
    },
    // Counted from the file itself, independently of the adapter's index.
    async countBookings(key) {
      const text = await readFile(journalPath, 'utf8');
      return text.split('\n').filter((l) => /^\d{4}-/.test(l) && l.includes(`pleo-entry:${key}`)).length;
    },
    // The `; receipt:` lines of the entry's block, read from the file.
    async linkedReceipts(key) {
      const text = await readFile(journalPath, 'utf8');
      const block = text.split(/\n(?=\d{4}-)/).find((b) => b.includes(`pleo-entry:${key}`)) ?? '';
      return [...block.matchAll(/; receipt:(\S+)/g)].map((m) => m[1] ?? '');
    },
    cleanup: () => {
      checkStrict(journalPath);
      return Promise.resolve();
    },
  };
});
