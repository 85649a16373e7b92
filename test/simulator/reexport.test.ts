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
});
