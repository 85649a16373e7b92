import { createMemoryAdapter } from '../../src/testing/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import { runAdapterContract } from './contract.js';

/** The engine's in-memory adapter honours the same contract as the real ones. */
runAdapterContract('memory', () => {
  let during: (() => void) | undefined;
  const adapter = createMemoryAdapter({
    // Runs inside `record`, after the call started and before the entry is applied.
    beforeRecord: async () => {
      const run = during;
      during = undefined;
      run?.();
      await Promise.resolve();
    },
    refuse: (entry) =>
      entry.postings.some((p) => p.account === '9999')
        ? {
            failureReasonType: 'account_unknown',
            failureReason: 'Account No. 9999 does not exist in the Accounting System. Check Category.',
          }
        : null,
  });
  const bookings = (key: string) => adapter.bookings().filter((b) => b.key === key);
  return Promise.resolve({
    adapter,
    countBookings: (key) => Promise.resolve(bookings(key).length),
    linkedReceipts: (key) => Promise.resolve(bookings(key).flatMap((b) => b.attachments.map((a) => a.key))),
    faults: {
      transient: () => adapter.failNext(1),
      jobFailure: () =>
        adapter.failNext(
          1,
          new AccountingSystemError('memory: credentials revoked', {
            code: 'ACCOUNTING_AUTH',
            retryable: false,
          }),
        ),
      loseAnswer: () => adapter.loseNextAnswers(1),
      duringNextWrite: (run) => {
        during = run;
      },
    },
    itemRefusal: (entry) => ({
      entry: { ...entry, postings: entry.postings.map((p, i) => (i === 0 ? { ...p, account: '9999' } : p)) },
      failureReasonType: 'account_unknown',
    }),
    breakValidation: () => {
      adapter.setValidation({
        ok: false,
        failureReasonType: 'accounting_system_unreachable',
        failureReason: 'memory: switched off',
      });
      return Promise.resolve();
    },
  });
});
