/**
 * The adapter contract against a real trytond (one server per file, fresh keys per test). The
 * exactly-once checks count documents as Tryton's admin sees them, not through the adapter.
 */
import { afterAll, beforeAll } from 'vitest';

import { runAdapterContract } from '../contract.js';
import { inspectKey, startTestTryton, type TestTryton } from './fixture.js';

let tryton: TestTryton | undefined;
beforeAll(async () => {
  tryton = await startTestTryton();
}, 600_000);
afterAll(async () => tryton?.cleanup());

runAdapterContract('tryton', () => {
  const t = tryton;
  if (!t) throw new Error('the Tryton server did not start (see beforeAll)');
  let adapter = t.adapter();
  const admin = t.admin();
  return Promise.resolve({
    adapter,
    async reopen() {
      await adapter.close();
      adapter = t.adapter();
      return adapter;
    },
    async countBookings(key) {
      const found = await inspectKey(admin, key);
      return (
        found.moves.filter((m) => !String(m['description']).startsWith('pleo-settlement:')).length +
        found.invoices.length
      );
    },
    async linkedReceipts(key) {
      return (await inspectKey(admin, key)).attachments.map((a) => String(a['name']));
    },
    cleanup: () => admin.close(),
  });
});
