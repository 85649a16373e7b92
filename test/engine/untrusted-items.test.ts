/**
 * Through the whole engine (issue 17): an export item whose `companyId` is another company's, or
 * whose `subType` carries a line break, is reported failed with a clear reason and never reaches
 * the accounting system; the rest of the job is booked.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { compileAccountingConfig, mapExportItem } from '../../src/accounting/index.js';
import { simulatorAccountingConfig } from '../../src/cli/demo/catalog-config.js';
import { createPleoClient, type FetchLike } from '../../src/client/index.js';
import { noSleep, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const OTHER_COMPANY = '99999999-9999-4999-8999-999999999999';

describe('engine: hostile export items', () => {
  it('an item of another company and an item with a newline in subType are failed, never booked', async () => {
    h = await startHarness();
    const harness = h;
    const job = harness.sim.admin.createJob(harness.companyId, {
      itemCount: 30,
      profile: { failureRatio: 0 },
    });
    const tampered = new Map<string, string>();
    // Pleo (here: the simulator's answer, rewritten on the way) sends two hostile items.
    const hostileFetch: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      if (!new URL(url).pathname.endsWith('/export-items')) return response;
      const body = (await response.json()) as { data: Record<string, unknown>[] };
      const [first, second] = body.data;
      if (first && !tampered.has(first['accountingEntryId'] as string)) {
        first['companyId'] = OTHER_COMPANY;
        tampered.set(first['accountingEntryId'] as string, 'company');
      }
      if (second && !tampered.has(second['accountingEntryId'] as string)) {
        second['subType'] = 'interest\ninclude /etc/passwd';
        tampered.set(second['accountingEntryId'] as string, 'subType');
      }
      return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
    };
    const client = createPleoClient({
      baseUrl: harness.sim.url,
      companyId: harness.companyId,
      auth: { kind: 'apiKey', apiKey: harness.apiKey },
      rateLimit: false,
      sleep: noSleep,
      clock: () => harness.sim.admin.now(),
      fetch: hostileFetch,
    });
    const config = compileAccountingConfig(simulatorAccountingConfig(7), 'accounting');
    const [result] = await harness
      .engine({ client, mapItem: (item, ctx) => mapExportItem(item, config, ctx) })
      .runOnce();

    expect(tampered.size).toBe(2);
    expect(result).toMatchObject({ event: 'completed_with_errors', counts: { successful: 28, failed: 2 } });
    const booked = new Set(harness.adapter.bookings().map((b) => b.key));
    expect(booked.size).toBe(28);
    const snap = harness.sim.admin.job(job.id, { items: true })!;
    for (const [id, what] of tampered) {
      expect(booked.has(id)).toBe(false);
      expect(snap.items!.find((i) => i.accountingEntryId === id)!.status).toBe('failed');
      // What was reported, as the local state recorded it.
      const [item] = await harness.store.findItemsByEntry(id);
      expect(item!.failureReasonType).toBe('validation_failure');
      if (what === 'company') {
        expect(item!.failureReason).toContain(OTHER_COMPANY);
        expect(item!.failureReason).toContain(harness.companyId);
      } else {
        expect(item!.failureReason).toContain('subType "interest\\ninclude /etc/passwd"');
      }
    }
  });
});
