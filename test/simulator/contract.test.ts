import { describe, expect, it } from 'vitest';
import { Contract, contract } from '../helpers/openapi.js';
import { start } from './helpers.js';
import type { JobsPage } from './helpers.js';

describe('the contract helper', () => {
  it('knows every operation of the shared file plus the subscription ones', () => {
    const ids = contract.operations().map((o) => o.operationId);
    expect(ids).toEqual(
      expect.arrayContaining([
        'getExportJobsListV3',
        'createExportJobV3',
        'getExportJobByIdV3',
        'getExportJobItemsV3',
        'updateExportJobItemsV3',
        'createExportJobEventV3',
        'getExportItemsV3',
        'createSubscription',
        'getSubscriptionSecret',
      ]),
    );
    expect(contract.operation({ method: 'PUT', path: '/v3/export-jobs/abc/items' }).operationId).toBe(
      'updateExportJobItemsV3',
    );
  });

  it('is not vacuous: it catches the mistakes a server or client could make', () => {
    const job = {
      id: '6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60',
      companyId: '6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f61',
      createdAt: '2026-03-02T09:00:00.000Z',
      createdBy: null,
      expiresIn: 3600,
      isInteractive: true,
      numberOfItems: 1,
      status: 'pending',
      vendorBasedBookkeeping: false,
    };
    expect(contract.validateResponse('getExportJobByIdV3', 200, { data: job }).ok).toBe(true);
    const nullType = contract.validateResponse('getExportJobByIdV3', 200, {
      data: { ...job, failureReasonType: null },
    });
    expect(nullType.ok).toBe(false);
    expect(nullType.errors.join()).toContain('/data/failureReasonType');
    expect(
      contract.validateResponse('getExportJobByIdV3', 200, { data: { ...job, createdAt: 'yesterday' } }).ok,
    ).toBe(false);
    expect(contract.validateResponse('createExportJobEventV3', 202, undefined).ok).toBe(true);
    expect(contract.validateResponse('createExportJobEventV3', 202, { ok: true }).ok).toBe(false);
    const undocumented = contract.validateResponse('getExportJobsListV3', 401, { type: 'unauthorized' });
    expect(undocumented).toMatchObject({ ok: true, documented: false });
    expect(contract.validateResponse('getExportJobsListV3', 204, undefined).ok).toBe(false);
    expect(
      contract.validateRequestBody('updateExportJobItemsV3', [
        { accountingEntryId: job.id, status: 'failed', failureReasonType: null },
      ]).ok,
    ).toBe(false);
    expect(
      contract.validateRequestBody('updateExportJobItemsV3', [{ accountingEntryId: job.id, status: 'done' }])
        .ok,
    ).toBe(false);
    expect(
      contract.validateQuery('getExportJobsListV3', 'statuses=pending&statuses=failed&limit=10').ok,
    ).toBe(true);
    expect(contract.validateQuery('getExportJobsListV3', 'statuses=paused').ok).toBe(false);
    expect(contract.validateQuery('getExportJobsListV3', 'limit=-1').ok).toBe(false);
    expect(contract.validateQuery('getExportJobsListV3', 'job_id=x').errors.join()).toContain(
      'not a query parameter',
    );
    expect(
      new Contract({ allowUnknownQuery: true }).validateQuery('getExportJobsListV3', 'job_id=x').ok,
    ).toBe(true);
  });

  it('accepts what the simulator sends for every documented status of the list operation', async () => {
    const h = await start();
    const res = await h.api.call<JobsPage>('GET', '/v3/export-jobs?limit=1');
    contract.assertResponse('getExportJobsListV3', 200, res.body);
  });
});
