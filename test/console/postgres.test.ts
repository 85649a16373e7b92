/**
 * The console over the scaled-out store: the same pages read PostgreSQL (fresh schema per run),
 * including an entry's audit trail written by the Postgres store's own statements.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import type { ExportItem } from '../../src/client/index.js';
import { startConsoleServer } from '../../src/console/index.js';
import { createPostgresStore, markBooking, recordOutcome } from '../../src/store/index.js';

const DATABASE_URL = process.env['PLEO_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `pleo_console_${process.pid}`;
const COMPANY = '11111111-1111-4111-8111-111111111111';
const JOB = '22222222-2222-4222-8222-222222222222';
const ENTRY = '00000000-0000-4000-8000-000000000001';

afterAll(async () => {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
});

describe('console over the PostgreSQL store', () => {
  it('shows jobs and an entry whose booking was resolved by lookup', async () => {
    const store = createPostgresStore({ connectionString: DATABASE_URL, schema: SCHEMA, pool: { max: 2 } });
    await store.migrate();
    const ref = { companyId: COMPANY, jobId: JOB };
    await store.upsertJob({
      ...ref,
      createdAt: '2026-01-01T10:00:00.000Z',
      pleoStatus: 'in_progress',
      vendorBasedBookkeeping: false,
      numberOfItems: 1,
    });
    const fence = await store.acquireJob(ref, 'w1');
    await store.saveListedPage(fence, {
      items: [{ accountingEntryId: ENTRY, status: 'pending' }],
      cursor: null,
      complete: true,
    });
    await store.saveFetchedPage(fence, {
      items: [
        {
          accountingEntryId: ENTRY,
          date: '2026-01-02T00:00:00.000Z',
          payload: {
            accountingEntryId: ENTRY,
            amount: { inWalletCurrency: { value: 4200, currency: 'EUR' } },
          } as unknown as ExportItem,
          attachments: [],
          prefailure: null,
        },
      ],
      cursor: null,
      complete: true,
    });
    await markBooking(store, fence, ENTRY, 1, {
      entry: {
        date: '2026-01-02',
        description: '<b>Taxi</b>',
        postings: [
          { account: '6000', role: 'expense', amount: { value: 4200, currency: 'EUR' } },
          { account: '2000', role: 'payable', amount: { value: -4200, currency: 'EUR' } },
        ],
      },
    });
    const resumed = await store.acquireJob(ref, 'w2');
    await recordOutcome(store, resumed, ENTRY, {
      status: 'booked',
      externalId: 'ERP-1',
      externalUrl: 'https://erp.example/ERP-1',
      exportedAt: '2026-02-01T00:00:00.000Z',
      resolvedBy: 'lookup',
    });
    const server = await startConsoleServer({
      store,
      companies: [{ id: COMPANY, name: 'Scaled company' }],
      token: undefined,
      loopback: true,
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const base = server.url.replace(/\/console\/$/, '');
      const jobs = await (await fetch(`${base}/console/jobs`)).text();
      expect(jobs).toContain(JOB);
      expect(jobs).toContain('Scaled company');
      const res = await fetch(`${base}/console/companies/${COMPANY}/entries/${ENTRY}`);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('Resolved by lookup');
      expect(page).toContain('https://erp.example/ERP-1');
      expect(page).toContain('42.00 EUR');
      expect(page).toContain('&lt;b&gt;Taxi&lt;/b&gt;');
      expect(page).not.toContain('<b>Taxi</b>');
      const missing = await fetch(
        `${base}/console/companies/${COMPANY}/entries/00000000-0000-4000-8000-000000000009`,
      );
      expect(missing.status).toBe(404);
    } finally {
      await server.close();
      await store.close();
    }
  });
});
