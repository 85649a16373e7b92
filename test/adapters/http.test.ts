import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
  classifyAccountingError,
  createHttpAdapter,
  httpAdapter,
  type AdapterDeps,
} from '../../src/adapters/index.js';
import { AccountingSystemError } from '../../src/errors/index.js';
import { startReferenceReceiver, type ReferenceReceiver } from '../../src/testing/index.js';
import { contractEntry, runAdapterContract } from './contract.js';
import { faultyFetch, request } from './faulty-fetch.js';

/** Deps for a descriptor-created adapter in a test (a throwaway key-value store). */
function testDeps(fetchImpl: typeof fetch): AdapterDeps {
  const values = new Map<string, string>();
  return {
    companyId: '11111111-1111-4111-8111-111111111111',
    dataDir: tmpdir(),
    kv: {
      getValue: (key) => Promise.resolve(values.get(key) ?? null),
      setValue: (key, value) => {
        if (value === null) values.delete(key);
        else values.set(key, value);
        return Promise.resolve();
      },
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    fetch: fetchImpl,
    now: Date.now,
  };
}

// Created through the registry's descriptor, faults injected into the adapter's own fetch.
runAdapterContract('http (reference receiver, in memory)', async () => {
  const receiver = await startReferenceReceiver({ token: 'secret', knownAccounts: ['6010', '2640', '1920'] });
  const faults = faultyFetch();
  const config = { type: 'http' as const, url: receiver.url, token: 'secret', timeoutMs: 5000 };
  const postEntry = request('POST', /^\/v1\/entries$/);
  return {
    adapter: await httpAdapter.create(config, testDeps(faults.fetch)),
    sibling: () => httpAdapter.create(config, testDeps(globalThis.fetch)),
    countBookings: (key) => Promise.resolve(receiver.stats().bookingsByEntryId[key] ?? 0),
    linkedReceipts: (key) => Promise.resolve(receiver.entries().get(key)?.attachments ?? []),
    faults: {
      transient: () =>
        faults.next(postEntry, { kind: 'status', status: 503, body: { message: 'maintenance' } }),
      jobFailure: () =>
        faults.next(postEntry, { kind: 'status', status: 401, body: { message: 'token revoked' } }),
      loseAnswer: () => faults.next(postEntry, { kind: 'loseAnswer' }),
      duringNextWrite: (run) => faults.next(postEntry, { kind: 'during', run }),
    },
    itemRefusal: (entry) => ({
      entry: {
        ...entry,
        postings: entry.postings.map((p, i) => (i === 0 ? { ...p, account: '9999' } : p)),
      },
      failureReasonType: 'account_unknown',
    }),
    breakValidation: () => httpAdapter.create({ ...config, token: 'wrong' }, testDeps(globalThis.fetch)),
    cleanup: () => receiver.close(),
  };
});

runAdapterContract('http (reference receiver, file-backed, restart)', async () => {
  const filePath = join(await mkdtemp(join(tmpdir(), 'pleo-http-')), 'entries.jsonl');
  let receiver = await startReferenceReceiver({ filePath, latencyMs: 2 });
  const make = () => createHttpAdapter({ baseUrl: receiver.url, timeoutMs: 5000 });
  return {
    adapter: make(),
    async reopen() {
      await receiver.close();
      receiver = await startReferenceReceiver({ filePath });
      return make();
    },
    sibling: () => Promise.resolve(make()),
    countBookings: (key) => Promise.resolve(receiver.stats().bookingsByEntryId[key] ?? 0),
    linkedReceipts: (key) => Promise.resolve(receiver.entries().get(key)?.attachments ?? []),
    // Faults on the receiver's side: the commit then a dropped connection, a 503 before anything.
    faults: {
      transient: () => receiver.setFaults({ failNext: 1, status: 503 }),
      loseAnswer: () => receiver.setFaults({ dropAfterCommit: 1 }),
    },
    cleanup: () => receiver.close(),
  };
});

describe('http adapter: error mapping', () => {
  let receiver: ReferenceReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });
  const ctx = (key: string) => ({ companyId: 'c', idempotencyKey: key, attachments: [] });

  it('401 → non-retryable auth error (job failure accounting_system_authentication_failure)', async () => {
    receiver = await startReferenceReceiver({ token: 'right' });
    const adapter = createHttpAdapter({ baseUrl: receiver.url, token: 'wrong' });
    const e = contractEntry();
    const error = await adapter.record(e, ctx(e.accountingEntryId)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AccountingSystemError);
    expect((error as AccountingSystemError).code).toBe('ACCOUNTING_AUTH');
    expect((error as AccountingSystemError).retryable).toBe(false);
    expect(classifyAccountingError(error)).toMatchObject({
      kind: 'job',
      failureReasonType: 'accounting_system_authentication_failure',
    });
    // validate throws the same error: the engine fails the job with that type (test/engine).
    await expect(adapter.validate({ companyId: 'c', vendorBasedBookkeeping: false })).rejects.toMatchObject({
      code: 'ACCOUNTING_AUTH',
      retryable: false,
    });
  });

  it('403 → authorization_failure; 429 → retryable with Retry-After; 5xx → retryable', async () => {
    receiver = await startReferenceReceiver();
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const e = contractEntry();
    const cases: [number, string, boolean, string][] = [
      [403, 'ACCOUNTING_AUTH', false, 'job authorization_failure'],
      [429, 'ACCOUNTING_RATE_LIMITED', true, 'transient'],
      [503, 'ACCOUNTING_UNREACHABLE', true, 'transient'],
      [504, 'ACCOUNTING_TIMEOUT', true, 'transient'],
    ];
    for (const [status, code, retryable, type] of cases) {
      receiver.setFaults({ failNext: 1, status, retryAfterSeconds: 7 });
      const error = (await adapter
        .record(e, ctx(e.accountingEntryId))
        .catch((err: unknown) => err)) as AccountingSystemError;
      const fault = classifyAccountingError(error);
      const meaning = fault.kind === 'job' ? `job ${fault.failureReasonType}` : fault.kind;
      expect([error.code, error.retryable, meaning]).toEqual([code, retryable, type]);
      if (status === 429) expect(error.retryAfterMs).toBe(7000);
    }
    expect(receiver.stats().entries).toBe(0);
  });

  it('422 with a Pleo failure type → that item failure and message', async () => {
    receiver = await startReferenceReceiver({ knownAccounts: ['1920', '2640'] });
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const e = contractEntry();
    expect(await adapter.record(e, ctx(e.accountingEntryId))).toEqual({
      status: 'failed',
      failureReasonType: 'account_unknown',
      failureReason: 'Account No. 6010 does not exist in the Accounting System. Check Category.',
    });
  });

  it('timeout → retryable ACCOUNTING_TIMEOUT', async () => {
    receiver = await startReferenceReceiver({ latencyMs: 300 });
    const adapter = createHttpAdapter({ baseUrl: receiver.url, timeoutMs: 50 });
    const e = contractEntry();
    const error = (await adapter
      .record(e, ctx(e.accountingEntryId))
      .catch((err: unknown) => err)) as AccountingSystemError;
    expect([error.code, error.retryable]).toEqual(['ACCOUNTING_TIMEOUT', true]);
  });

  it('connection refused → retryable ACCOUNTING_UNREACHABLE', async () => {
    const adapter = createHttpAdapter({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    const e = contractEntry();
    const error = (await adapter
      .record(e, ctx(e.accountingEntryId))
      .catch((err: unknown) => err)) as AccountingSystemError;
    expect([error.code, error.retryable]).toEqual(['ACCOUNTING_UNREACHABLE', true]);
  });

  it('lost response after commit: the retry with the same key books nothing new; findExisting reconciles', async () => {
    receiver = await startReferenceReceiver();
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const e = contractEntry();
    receiver.setFaults({ dropAfterCommit: 1 });
    const error = (await adapter
      .record(e, ctx(e.accountingEntryId))
      .catch((err: unknown) => err)) as AccountingSystemError;
    expect(error.retryable).toBe(true);
    const found = await adapter.findExisting(e.accountingEntryId, { companyId: 'c' });
    expect(found?.externalId).toMatch(/^ERP-/);
    const retried = await adapter.record(e, ctx(e.accountingEntryId));
    expect(retried.status === 'booked' && retried.externalId).toBe(found?.externalId);
    expect(receiver.stats()).toMatchObject({
      entries: 1,
      duplicates: 0,
      postsByKey: { [e.accountingEntryId]: 2 },
    });
  });

  it('uploads attachments before the entry; 413 → receipt_file_size_limit_exceeded', async () => {
    receiver = await startReferenceReceiver({ maxAttachmentBytes: 10 });
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const dir = await mkdtemp(join(tmpdir(), 'pleo-http-att-'));
    const e = contractEntry();
    const small = join(dir, 'a.pdf');
    await writeFile(small, '12345');
    const ok = await adapter.record(e, {
      companyId: 'c',
      idempotencyKey: e.accountingEntryId,
      attachments: [
        {
          key: `${e.accountingEntryId}-0`,
          path: small,
          name: 'a.pdf',
          contentType: 'application/pdf',
          size: 5,
        },
      ],
    });
    expect(ok.status).toBe('booked');
    expect(receiver.entries().get(e.accountingEntryId)?.attachments).toEqual([`${e.accountingEntryId}-0`]);
    const big = join(dir, 'b.pdf');
    await writeFile(big, 'x'.repeat(100));
    const e2 = contractEntry();
    const failed = await adapter.record(e2, {
      companyId: 'c',
      idempotencyKey: e2.accountingEntryId,
      attachments: [
        {
          key: `${e2.accountingEntryId}-0`,
          path: big,
          name: 'b.pdf',
          contentType: 'application/pdf',
          size: 100,
        },
      ],
    });
    expect(failed).toMatchObject({ status: 'failed', failureReasonType: 'receipt_file_size_limit_exceeded' });
    expect(receiver.stats().bookingsByEntryId[e2.accountingEntryId]).toBeUndefined();
  });

  it('a missing local receipt → receipt_upload_failure, nothing booked', async () => {
    receiver = await startReferenceReceiver();
    const adapter = createHttpAdapter({ baseUrl: receiver.url });
    const e = contractEntry();
    const r = await adapter.record(e, {
      companyId: 'c',
      idempotencyKey: e.accountingEntryId,
      attachments: [
        { key: 'k', path: '/nonexistent/x.pdf', name: 'x.pdf', contentType: 'application/pdf', size: 1 },
      ],
    });
    expect(r).toMatchObject({ status: 'failed', failureReasonType: 'receipt_upload_failure' });
    expect(receiver.stats().entries).toBe(0);
  });
});
