/**
 * Contract: every request the client can send is validated against Pleo's OpenAPI file, and the
 * client parses responses that conform to it. The server answers with spec-conforming bodies,
 * which are themselves checked against the spec before being sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, checkResponse, OPERATIONS } from './contract.js';
import {
  checkNoSecretsLeak,
  collect,
  COMPANY_ID,
  cursor,
  makeClient,
  makeExportItem,
  makeJob,
  makeJobItem,
  page,
  uuid,
} from './helpers.js';
import { type Handler, sendJson, startServer, type TestServer } from './server.js';

checkNoSecretsLeak();

const JOB_ID = uuid(1, 'b');

/** Answers like Pleo would, and asserts each answer conforms before sending it. */
const pleo: Handler = (request, response) => {
  const { method } = request;
  const path = request.url.pathname;
  const after = request.url.searchParams.get('after');
  const answer = (operationId: string, status: number, body?: unknown): void => {
    expect(checkResponse(operationId, status, body)).toEqual([]);
    sendJson(response, status, body);
  };
  if (method === 'GET' && path === '/v3/export-jobs') {
    return answer(
      'getExportJobsListV3',
      200,
      after === null ? page([makeJob(1)], cursor(1)) : page([makeJob(2)]),
    );
  }
  if (method === 'POST' && path === '/v3/export-jobs')
    return answer('createExportJobV3', 201, { data: makeJob(9) });
  if (method === 'GET' && path === `/v3/export-jobs/${JOB_ID}`) {
    return answer('getExportJobByIdV3', 200, {
      data: makeJob(1, { status: 'in_progress', startedAt: '2024-05-01T10:01:00Z' }),
    });
  }
  if (method === 'POST' && path === '/v3/export-job-events') return answer('createExportJobEventV3', 202);
  if (method === 'GET' && path === `/v3/export-jobs/${JOB_ID}/items`) {
    return answer(
      'getExportJobItemsV3',
      200,
      after === null ? page([makeJobItem(1)], cursor(7)) : page([makeJobItem(2)]),
    );
  }
  if (method === 'PUT' && path === `/v3/export-jobs/${JOB_ID}/items`) {
    const updates = JSON.parse(request.body) as { accountingEntryId: string; status: string }[];
    return answer('updateExportJobItemsV3', 200, {
      data: updates.map((u) =>
        makeJobItem(0, JOB_ID, { accountingEntryId: u.accountingEntryId, status: 'successful' }),
      ),
      errors: [],
    });
  }
  if (method === 'GET' && path === '/v3/export-items') {
    return answer(
      'getExportItemsV3',
      200,
      after === null ? page([makeExportItem(1)], cursor(40)) : page([makeExportItem(2)]),
    );
  }
  sendJson(response, 404, { type: 'NOT_FOUND', message: `no route ${method} ${path}` });
};

let server: TestServer;
beforeAll(async () => {
  server = await startServer(pleo);
});
afterAll(() => server.close());

describe('client requests conform to the OpenAPI file', () => {
  it('exercises every operation and every request validates', async () => {
    const { client } = makeClient(server.url, { pageSize: 1 });

    const jobs = await collect(client.listJobs({ statuses: ['pending', 'in_progress'] }));
    expect(jobs.items.map((j) => j.id)).toEqual([makeJob(1).id, makeJob(2).id]);
    await collect(client.listJobs({}));
    await client.getJob(JOB_ID);
    await client.createJob({
      companyId: COMPANY_ID,
      accountingEntryIds: [uuid(1, 'c'), uuid(2, 'c')],
      employeeId: uuid(5, 'e'),
      isInteractive: false,
      vendorBasedBookkeeping: true,
    });
    await client.createJob({ companyId: COMPANY_ID, accountingEntryIds: [uuid(3, 'c')] });
    await client.sendJobEvent({ jobId: JOB_ID, event: 'started' });
    await client.sendJobEvent({ jobId: JOB_ID, event: 'completed' });
    await client.sendJobEvent({ jobId: JOB_ID, event: 'completed_with_errors' });
    await client.sendJobEvent({
      jobId: JOB_ID,
      event: 'failed',
      failureReason: 'ERP unavailable',
      failureReasonType: 'service_unreachable',
    });
    await collect(client.listJobItems(JOB_ID, { status: 'pending' }));
    await collect(client.listJobItems(JOB_ID, {}, { after: cursor(7) }));
    const result = await client.updateJobItems(JOB_ID, [
      {
        accountingEntryId: uuid(1, 'c'),
        status: 'successful',
        exportedAt: '2024-05-01T10:05:00.123Z',
        externalId: 'JE-1001',
        externalUrl: 'https://erp.example/je/1001',
      },
      {
        accountingEntryId: uuid(2, 'c'),
        status: 'failed',
        failureReason: 'Tax Code X does not exist in the Accounting System',
        failureReasonType: 'tax_code_unknown',
      },
      { accountingEntryId: uuid(3, 'c'), status: 'in_progress' },
    ]);
    expect(result.accepted).toHaveLength(3);
    const exportItems = await collect(client.listExportItems(JOB_ID));
    expect(exportItems.items).toHaveLength(2);

    const checked = server.requests.map((request) => ({
      line: `${request.method} ${request.url.pathname}${request.url.search}`,
      ...checkRequest(request),
    }));
    expect(checked.filter((c) => c.violations.length > 0)).toEqual([]);
    const used = new Set(checked.map((c) => c.operationId));
    expect([...used].sort()).toEqual(
      [
        'createExportJobEventV3',
        'createExportJobV3',
        'getExportItemsV3',
        'getExportJobByIdV3',
        'getExportJobItemsV3',
        'getExportJobsListV3',
        'updateExportJobItemsV3',
      ].sort(),
    );
    // Repeated `statuses` keys (form, explode) and snake_case query names.
    const list = server.requests.find((r) => r.url.searchParams.getAll('statuses').length === 2);
    expect(list?.url.searchParams.get('company_id')).toBe(COMPANY_ID);
    expect(list?.url.searchParams.get('limit')).toBe('1');
  });

  it('the contract checker itself rejects what the spec forbids', () => {
    const base = { method: 'GET', headers: { authorization: 'Basic YWJjOg==' }, body: '' };
    const bad = [
      { ...base, url: new URL('http://x/v3/export-jobs?statuses=done') },
      { ...base, url: new URL('http://x/v3/export-jobs?after=lowercase') },
      { ...base, url: new URL('http://x/v3/export-jobs?limit=-1') },
      { ...base, url: new URL('http://x/v3/export-jobs?unknown=1') },
      { ...base, url: new URL('http://x/v3/export-jobs/not-a-uuid') },
      { ...base, url: new URL('http://x/v3/export-jobs'), headers: {} },
      {
        ...base,
        method: 'PUT',
        url: new URL(`http://x/v3/export-jobs/${JOB_ID}/items`),
        headers: { ...base.headers, 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify([{ accountingEntryId: uuid(1, 'c'), status: 'successful', externalId: null }]),
      },
      {
        ...base,
        method: 'POST',
        url: new URL('http://x/v3/export-job-events'),
        headers: { ...base.headers, 'content-type': 'application/json;charset=UTF-8' },
        body: JSON.stringify({ jobId: JOB_ID, event: 'canceled' }),
      },
    ];
    for (const request of bad) expect(checkRequest(request).violations, request.url.href).not.toEqual([]);
    expect(OPERATIONS.length).toBe(9);
  });
});
