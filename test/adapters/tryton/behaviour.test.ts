/**
 * The Tryton adapter's own behaviour against a real trytond: closed periods, posting modes, lost
 * answers, session expiry, receipts, refusals with Pleo's failure types, and `check`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createTrytonAdapter,
  trytonConfigSchema,
  trytonDescriptor,
} from '../../../src/adapters/tryton/index.js';
import { contractEntry } from '../contract.js';
import {
  ADMIN_PASSWORD,
  inspectKey,
  startTestTryton,
  TRYTON_COMPANY,
  TRYTON_USER,
  type TestTryton,
} from './fixture.js';

let t: TestTryton;
beforeAll(async () => {
  t = await startTestTryton();
}, 600_000);
afterAll(async () => t?.cleanup());

const ctx = (key: string) => ({ companyId: 'c', idempotencyKey: key, attachments: [] });

describe('Tryton adapter', () => {
  it('a closed period refuses the item with an actionable message and books nothing', async () => {
    const admin = t.admin();
    const [period] = await admin.rpc.searchRead('account.period', [['name', '=', '2026-01']], ['id']);
    await admin.rpc.call('model.account.period.close', [[period?.['id']]]);
    const adapter = t.adapter();
    const entry = contractEntry({ date: '2026-01-15' });
    const outcome = await adapter.record(entry, ctx(entry.accountingEntryId));
    expect(outcome).toMatchObject({
      status: 'failed',
      failureReasonType: 'accounting_system_validation_failure',
    });
    expect(outcome.status === 'failed' && outcome.failureReason).toMatch(
      /Period 2026-01 is closed in Tryton.*Reopen the period/,
    );
    expect((await inspectKey(admin, entry.accountingEntryId)).moves).toHaveLength(0);
    // A date without any fiscal year: the message says to create it.
    const future = contractEntry({ date: '2031-05-01' });
    const noYear = await adapter.record(future, ctx(future.accountingEntryId));
    expect(noYear.status === 'failed' && noYear.failureReason).toMatch(/no fiscal year covering 2031-05-01/);
    await adapter.close();
    await admin.close();
  });

  it('posting mode: posted moves are numbered and posted; draft stays draft', async () => {
    const admin = t.admin();
    const posted = t.adapter({ postingMode: 'posted' });
    const e1 = contractEntry({ posting: 'draft' });
    await posted.record(e1, ctx(e1.accountingEntryId));
    expect((await inspectKey(admin, e1.accountingEntryId)).moves.map((m) => m['state'])).toEqual(['posted']);
    const draft = t.adapter({ postingMode: 'draft' });
    const e2 = contractEntry({ posting: 'final' });
    await draft.record(e2, ctx(e2.accountingEntryId));
    expect((await inspectKey(admin, e2.accountingEntryId)).moves.map((m) => m['state'])).toEqual(['draft']);
    await Promise.all([posted.close(), draft.close(), admin.close()]);
  });

  it('a lost answer to the create is resolved by lookup: incomplete until resumed, then booked once', async () => {
    let lose = true;
    const lossy: typeof fetch = async (url, init) => {
      const response = await fetch(url, init);
      const body = JSON.parse(init?.body as string) as { method: string };
      if (lose && body.method === 'model.account.move.create') {
        lose = false;
        await response.body?.cancel();
        throw new TypeError('fetch failed: socket hang up');
      }
      return response;
    };
    const adapter = t.adapter({ fetch: lossy, postingMode: 'posted' });
    const entry = contractEntry();
    await expect(adapter.record(entry, ctx(entry.accountingEntryId))).rejects.toMatchObject({
      code: 'ACCOUNTING_UNREACHABLE',
      retryable: true,
    });
    // Written but not complete (pending marker, draft): not reported as booked yet.
    expect(await adapter.findExisting(entry.accountingEntryId, { companyId: 'c' })).toBeNull();
    const again = await adapter.record(entry, ctx(entry.accountingEntryId));
    expect(again.status).toBe('booked');
    const found = await adapter.findExisting(entry.accountingEntryId, { companyId: 'c' });
    expect(found?.externalId).toBe(again.status === 'booked' ? again.externalId : '');
    const admin = t.admin();
    expect((await inspectKey(admin, entry.accountingEntryId)).moves).toHaveLength(1);
    await Promise.all([adapter.close(), admin.close()]);
  });

  it('an expired session is renewed by logging in again, once', async () => {
    const methods: string[] = [];
    let expireNext = false;
    const watching: typeof fetch = async (url, init) => {
      const body = JSON.parse(init?.body as string) as { method: string };
      methods.push(body.method);
      if (expireNext && body.method.startsWith('model.')) {
        expireNext = false;
        return new Response(null, { status: 401 });
      }
      return fetch(url, init);
    };
    const adapter = t.adapter({ fetch: watching });
    const first = contractEntry();
    expect((await adapter.record(first, ctx(first.accountingEntryId))).status).toBe('booked');
    expireNext = true;
    const second = contractEntry();
    expect((await adapter.record(second, ctx(second.accountingEntryId))).status).toBe('booked');
    expect(methods.filter((m) => m === 'common.db.login')).toHaveLength(2);
    await adapter.close();
  });

  it('wrong credentials are an authentication failure (job level), not retryable', async () => {
    const adapter = t.adapter({ password: 'wrong-password' });
    expect(await adapter.validate({ companyId: 'c', vendorBasedBookkeeping: false })).toMatchObject({
      ok: false,
      failureReasonType: 'accounting_system_authentication_failure',
    });
    const entry = contractEntry();
    await expect(adapter.record(entry, ctx(entry.accountingEntryId))).rejects.toMatchObject({
      code: 'ACCOUNTING_AUTH',
      retryable: false,
    });
    await adapter.close();
  });

  it('a user working for another company, or an unknown company, fails validation with what to do', async () => {
    const other = t.adapter({ username: 'pleo-dkk', password: 'Rn3v-Lc8d-Hy5s-Jp6f' });
    const v = await other.validate({ companyId: 'c', vendorBasedBookkeeping: false });
    expect(v).toMatchObject({ ok: false, failureReasonType: 'invalid_configuration' });
    expect(!v.ok && v.failureReason).toMatch(
      /no company "Pleo Test EUR" visible to this user|works for company/,
    );
    const unknown = t.adapter({ company: 'Nope Ltd' });
    const u = await unknown.validate({ companyId: 'c', vendorBasedBookkeeping: false });
    expect(!u.ok && u.failureReason).toMatch(/no company "Nope Ltd".*it sees: Pleo Test EUR/);
    await Promise.all([other.close(), unknown.close()]);
  });

  it('unknown accounts and currencies: item refusals with Pleo types; the account mapping', async () => {
    const adapter = t.adapter();
    const unknown = contractEntry();
    unknown.postings[0] = { ...unknown.postings[0]!, account: '6999' };
    expect(await adapter.record(unknown, ctx(unknown.accountingEntryId))).toEqual({
      status: 'failed',
      failureReasonType: 'account_unknown',
      failureReason: 'Account No. 6999 does not exist in the Accounting System. Check Category.',
    });
    const chf = contractEntry();
    chf.postings[0] = { ...chf.postings[0]!, cost: { currency: 'CHF', value: 9000 } };
    const refused = await adapter.record(chf, ctx(chf.accountingEntryId));
    expect(refused).toMatchObject({ status: 'failed', failureReasonType: 'missing_configuration' });
    expect(refused.status === 'failed' && refused.failureReason).toContain(
      'Currency CHF does not exist in Tryton',
    );
    // The account mapping translates Pleo codes to Tryton codes.
    const mapped = t.adapter({ accounts: { '6999': '6020' } });
    expect((await mapped.record(unknown, ctx(unknown.accountingEntryId))).status).toBe('booked');
    await Promise.all([adapter.close(), mapped.close()]);
  });

  it('receipts become attachments once, with their bytes, even when recorded again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pleo-tryton-receipt-'));
    const path = join(dir, 'receipt.png');
    await writeFile(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const adapter = t.adapter();
    const entry = contractEntry();
    const key = entry.accountingEntryId;
    const attachments = [{ key: `${key}-0`, path, name: 'receipt.png', contentType: 'image/png', size: 7 }];
    await adapter.record(entry, { companyId: 'c', idempotencyKey: key, attachments });
    await adapter.record(entry, { companyId: 'c', idempotencyKey: key, attachments });
    const admin = t.admin();
    const found = await inspectKey(admin, key);
    expect(found.attachments.map((a) => [a['name'], a['data_size']])).toEqual([[`${key}-0.png`, 7]]);
    await Promise.all([adapter.close(), admin.close()]);
  });

  it('check: every finding ok for a good configuration, actionable fixes otherwise', async () => {
    const deps = { fetch, now: () => Date.parse('2026-06-15T10:00:00Z') };
    const base = trytonConfigSchema.parse({
      type: 'tryton',
      url: t.url,
      database: t.database,
      username: TRYTON_USER.login,
      passwordEnv: 'PLEO_TRYTON_TEST_PASSWORD',
      company: TRYTON_COMPANY,
      accounts: { '6999': '6020' },
    });
    process.env['PLEO_TRYTON_TEST_PASSWORD'] = TRYTON_USER.password;
    const good = await trytonDescriptor.check!(base, deps as never);
    expect(good.filter((c) => !c.ok)).toEqual([]);
    expect(good.map((c) => c.what).join('\n')).toMatch(
      /login of pleo-eur works[\s\S]*company Pleo Test EUR[\s\S]*open period covers today \(2026-06-15\)[\s\S]*journal CASH[\s\S]*journal EXP[\s\S]*mapped accounts/,
    );
    const bad = await trytonDescriptor.check!(
      { ...base, journal: 'NOPE', accounts: { '6999': '9999' } },
      deps as never,
    );
    expect(bad.filter((c) => !c.ok).map((c) => c.fix)).toEqual([
      'Create a journal with code NOPE in Tryton (Financial › Configuration › Journals) or set adapter.journal to an existing code.',
      expect.stringContaining('6999 → 9999'),
    ]);
    const noYear = await trytonDescriptor.check!(base, {
      ...deps,
      now: () => Date.parse('2031-01-01T00:00:00Z'),
    } as never);
    expect(noYear.find((c) => !c.ok)?.fix).toMatch(/Create the fiscal year 2031/);
    const unreachable = await trytonDescriptor.check!({ ...base, url: 'http://127.0.0.1:9' }, deps as never);
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]?.fix).toMatch(/unreachable.*Start trytond/);
    delete process.env['PLEO_TRYTON_TEST_PASSWORD'];
    const noPassword = await trytonDescriptor.check!(base, deps as never);
    expect(noPassword[0]?.fix).toMatch(/PLEO_TRYTON_TEST_PASSWORD is not set/);
  });

  it('the configuration schema rejects two password spellings and non-http URLs', () => {
    const base = { type: 'tryton', url: 'http://127.0.0.1:8000', database: 'd', username: 'u', company: 1 };
    expect(trytonConfigSchema.safeParse({ ...base, password: 'a', passwordEnv: 'B' }).success).toBe(false);
    expect(trytonConfigSchema.safeParse({ ...base, url: 'ftp://x' }).success).toBe(false);
    expect(trytonConfigSchema.parse({ ...base, password: 'p' })).toMatchObject({
      journal: 'CASH',
      invoiceJournal: 'EXP',
      supplierInvoices: true,
      timeoutMs: 30000,
    });
    expect(ADMIN_PASSWORD).not.toBe(TRYTON_USER.password);
    expect(typeof createTrytonAdapter).toBe('function');
  });
});
