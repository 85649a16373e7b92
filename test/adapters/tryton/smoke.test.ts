import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestTryton, type TestTryton } from './fixture.js';

describe('tryton smoke', () => {
  let t: TestTryton;
  beforeAll(async () => {
    t = await startTestTryton();
  }, 600_000);
  afterAll(async () => t?.cleanup());
  it('logs in', async () => {
    const a = t.adapter();
    expect(await a.validate({ companyId: 'x', vendorBasedBookkeeping: true })).toEqual({ ok: true });
    await a.close();
  });
});
