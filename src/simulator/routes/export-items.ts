/**
 * Export items (the data layer): `GET /v3/export-items?job_id=…`.
 *
 * Checks in this order: `job_id` present (400 `required_parameter_missing`; the spec marks it
 * optional but says nothing of what would be listed without it) and a uuid (400), job of the
 * caller's company (404 `EXPORT_NOT_FOUND`), job `pending` or `in_progress` (422
 * `EXPORT_JOB_STATUS_UNPROCESSABLE`), company has contra accounts (400
 * `MISSING_CONTRA_ACCOUNTS`). Items come from the generator by position, in job order, so a
 * page costs O(page size) whatever the job size. File URLs are valid for 24 hours (simulated)
 * from the request that returned them.
 */
import { ApiError } from '../errors.js';
import type { Route } from '../http.js';
import { exportItemAt } from '../data/index.js';
import { pageInfo, paginate, parsePageRequest } from '../pagination.js';
import type { PageSource } from '../pagination.js';
import { companyOf, singleQuery, uuidParam } from './deps.js';
import type { RouteDeps } from './deps.js';

export function exportItemRoutes(deps: RouteDeps): Route[] {
  const { state } = deps;
  return [
    {
      method: 'GET',
      path: '/v3/export-items',
      operation: 'listExportItems',
      auth: 'pleo',
      write: false,
      handler: (ctx) => {
        const company = companyOf(ctx);
        const rawJobId = singleQuery(ctx.query, 'job_id');
        if (rawJobId === undefined) {
          throw new ApiError(400, 'required_parameter_missing', "Query parameter 'job_id' is required");
        }
        const job = state.jobOf(company.id, uuidParam('job_id', rawJobId));
        if (job.final) {
          throw new ApiError(
            422,
            'EXPORT_JOB_STATUS_UNPROCESSABLE',
            'Export Job is finished and can no longer be processed.',
          );
        }
        if (!company.hasContraAccounts) {
          throw new ApiError(
            400,
            'MISSING_CONTRA_ACCOUNTS',
            'Contra accounts are not fully configured. Please map contra accounts in the Accounting settings.',
          );
        }
        const page = parsePageRequest(ctx.query, deps.pagination, `listExportItems|${job.id}`, []);
        const src: PageSource = { size: job.items.count, keyAt: (p) => p, direction: 1, matches: () => true };
        const result = paginate(src, page);
        const fileBase = deps.files.baseUrl(job.id, state.now());
        const data = result.positions.map((i) => {
          const source = job.dataAt(i);
          const item = exportItemAt(source.spec, source.index, fileBase);
          item.accountingEntryId = job.items.entryId(i);
          return item;
        });
        return {
          status: 200,
          json: { data, pagination: pageInfo(src, page, result, job.items.count, deps.pagination.secret) },
        };
      },
    },
  ];
}
