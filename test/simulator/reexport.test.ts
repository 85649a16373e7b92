import { afterEach, describe, expect, it } from 'vitest';

import { startSimulator, type RunningSimulator } from '../../src/simulator/index.js';

let sims: RunningSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

async function exportItems(sim: RunningSimulator, jobId: string): Promise<unknown[]> {
  const company = sim.companies[0]!;
  const auth = `Basic ${Buffer.from(`${company.apiKey}:`).toString('base64')}`;
  const res = await fetch(`${sim.url}/v3/export-items?job_id=${jobId}&limit=1000`, {
    headers: { authorization: auth },
  });
  const body = (await res.json()) as { data: { files?: unknown; _links?: unknown }[] };
  // Receipt URLs and links embed the job; the accounting data must be identical.
  return body.data.map(({ files: _f, _links: _l, ...rest }) => rest);
}

describe('admin createJob: explicit id and re-export of an earlier job’s data', () => {
  it('recreates the same entries with the same data under a new job id, across simulator runs', async () => {
    const a = await startSimulator({ seed: 5, companies: 1, jobsPerCompany: 0 });
    const b = await startSimulator({ seed: 5, companies: 1, jobsPerCompany: 0 });
    sims.push(a, b);
    const first = a.admin.createJob(a.companies[0]!.id, { itemCount: 25 });
    const again = b.admin.createJob(b.companies[0]!.id, {
      itemCount: 25,
      id: '0e0e0e0e-0000-4000-8000-000000000001',
      dataKey: first.id,
    });
    expect(again.id).toBe('0e0e0e0e-0000-4000-8000-000000000001');
    expect(await exportItems(b, again.id)).toEqual(await exportItems(a, first.id));
    expect(() => b.admin.createJob(b.companies[0]!.id, { itemCount: 1, id: again.id })).toThrow(/exists/);
    expect(() => b.admin.createJob(b.companies[0]!.id, { itemCount: 1, id: 'nope' })).toThrow(/uuid/);
  });

  it('a job created through the API with entries exported before carries the same data and receipts', async () => {
    const sim = await startSimulator({ seed: 6, companies: 1, jobsPerCompany: 0 });
    sims.push(sim);
    const company = sim.companies[0]!;
    const auth = { authorization: `Basic ${Buffer.from(`${company.apiKey}:`).toString('base64')}` };
    const first = sim.admin.createJob(company.id, { itemCount: 30 });
    // Finish the first job so a new one may be created (one running job per company).
    await fetch(`${sim.url}/v3/export-job-events`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        jobId: first.id,
        event: 'failed',
        failureReason: 'x',
        failureReasonType: 'validation_failure',
      }),
    });
    const before = (await exportItems(sim, first.id).catch(() => [])) as { accountingEntryId: string }[];
    expect(before).toEqual([]); // a final job serves no export items
    const ids = sim.admin
      .job(first.id, { items: true })!
      .items!.slice(5, 15)
      .map((i) => i.accountingEntryId);
    const res = await fetch(`${sim.url}/v3/export-jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ companyId: company.id, accountingEntryIds: ids }),
    });
    expect(res.status).toBe(201);
    const again = ((await res.json()) as { data: { id: string } }).data.id;
    const twin = await startSimulator({ seed: 6, companies: 1, jobsPerCompany: 0 });
    sims.push(twin);
    const reference = twin.admin.createJob(twin.companies[0]!.id, { itemCount: 30 });
    const expected = (await exportItems(twin, reference.id)).slice(5, 15);
    expect(await exportItems(sim, again)).toEqual(expected);
    // The receipts of the re-exported items are served under the new job.
    const raw = await fetch(`${sim.url}/v3/export-items?job_id=${again}&limit=100`, { headers: auth });
    const files = (
      (await raw.json()) as { data: { files?: { url: string; size: number }[] | null }[] }
    ).data.flatMap((i) => i.files ?? []);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files.slice(0, 5)) {
      const got = await fetch(file.url);
      expect(got.status).toBe(200);
      expect((await got.arrayBuffer()).byteLength).toBe(file.size);
    }
  });
});
