/**
 * Export job items (the control layer): `GET` and `PUT /v3/export-jobs/{jobId}/items`.
 *
 * GET pages through the items in job order (optionally one `status`), for a job in any state.
 *
 * PUT, checks in this order: body must be a JSON array (400), at most 100 entries (413
 * `EXPORT_JOB_ITEMS_UPDATE_LIMIT`), every entry valid (400), job of the caller's company (404),
 * job not final (422 `EXPORT_JOB_STATUS_UNPROCESSABLE`). Then each entry is applied in order: an
 * unknown `accountingEntryId` goes to `errors[]` as `ACCOUNTING_ENTRY_DOES_NOT_EXIST`, the rest to
 * `data[]` (the item after the update). The optional fields of an entry replace the stored ones
 * (a field left out is cleared); `exportedAt` defaults to now for `successful`. Any status may be
 * set, repeated updates are accepted and counted (see the admin API). A 200 moves the job's
 * `lastUpdatedAt`. Updating items of a `pending` job is accepted and recorded as a warning.
 */
import { ApiError, badRequest } from '../errors.js';
import { jsonBody } from '../http.js';
import type { Route } from '../http.js';
import { statusCode } from '../items.js';
import type { ItemStatus, ItemUpdate } from '../items.js';
import { pageInfo, paginate, parsePageRequest } from '../pagination.js';
import type { PageSource } from '../pagination.js';
import { ITEM_STATUS_VALUES, parseItemUpdate } from '../validate.js';
import type { ItemUpdateBody } from '../validate.js';
import { companyOf, singleQuery, uuidParam } from './deps.js';
import type { RouteDeps } from './deps.js';

export const MAX_ITEM_UPDATES = 100;

function toUpdate(u: ItemUpdateBody): ItemUpdate {
  const out: ItemUpdate = { status: u.status };
  if (u.exportedAt !== undefined) out.exportedAt = Date.parse(u.exportedAt);
  if (u.externalId !== undefined) out.externalId = u.externalId;
  if (u.externalUrl !== undefined) out.externalUrl = u.externalUrl;
  if (u.failureReason !== undefined) out.failureReason = u.failureReason;
  if (u.failureReasonType !== undefined) out.failureReasonType = u.failureReasonType;
  return out;
}

export function itemRoutes(deps: RouteDeps): Route[] {
  const { state } = deps;
  return [
    {
      method: 'GET',
      path: '/v3/export-jobs/:jobId/items',
      operation: 'listJobItems',
      auth: 'pleo',
      write: false,
      handler: (ctx) => {
        const job = state.jobOf(companyOf(ctx).id, uuidParam('jobId', ctx.params.jobId));
        const raw = singleQuery(ctx.query, 'status');
        let status: ItemStatus | undefined;
        if (raw !== undefined) {
          status = ITEM_STATUS_VALUES.find((s) => s === raw);
          if (!status) throw badRequest(`Invalid status '${raw}'`);
        }
        const page = parsePageRequest(
          ctx.query,
          deps.pagination,
          `listJobItems|${job.id}|${status ?? ''}`,
          [],
        );
        const items = job.items;
        const code = status === undefined ? -1 : statusCode(status);
        const src: PageSource = {
          size: items.count,
          keyAt: (p) => p,
          direction: 1,
          matches: code < 0 ? () => true : (p) => items.status[p] === code,
        };
        const result = paginate(src, page);
        return {
          status: 200,
          json: {
            data: result.positions.map((i) => items.toJson(i, job.id)),
            pagination: pageInfo(
              src,
              page,
              result,
              status === undefined ? items.count : items.countOf(status),
              deps.pagination.secret,
            ),
          },
        };
      },
    },
    {
      method: 'PUT',
      path: '/v3/export-jobs/:jobId/items',
      operation: 'updateJobItems',
      auth: 'pleo',
      write: true,
      handler: (ctx) => {
        const company = companyOf(ctx);
        const jobId = uuidParam('jobId', ctx.params.jobId);
        const raw = jsonBody(ctx);
        if (!Array.isArray(raw)) throw badRequest('The body must be an array of UpdateExportJobItemV3');
        if (raw.length > MAX_ITEM_UPDATES) {
          throw new ApiError(
            413,
            'EXPORT_JOB_ITEMS_UPDATE_LIMIT',
            'Number of items to update is more than 100.',
          );
        }
        const updates = raw.map((u: unknown, i) => parseItemUpdate(u, `UpdateExportJobItemV3[${i}]`));
        const job = state.jobOf(company.id, jobId);
        if (job.final) throw new ApiError(422, 'EXPORT_JOB_STATUS_UNPROCESSABLE', 'Export job is finished.');
        if (job.status === 'pending') {
          const warning = 'items were updated while the job was still pending (not started)';
          if (!job.warnings.includes(warning)) job.warnings.push(warning);
        }
        const now = state.now();
        const data = [];
        const errors = [];
        for (const u of updates) {
          const index = job.items.indexOf(u.accountingEntryId);
          if (index < 0) {
            errors.push({
              accountingEntryId: u.accountingEntryId,
              type: 'ACCOUNTING_ENTRY_DOES_NOT_EXIST',
              message: 'Accounting entry does not exist in this export job.',
            });
            continue;
          }
          job.items.apply(index, toUpdate(u), now);
          data.push(job.items.toJson(index, job.id));
        }
        job.touch(now);
        return { status: 200, json: { data, errors } };
      },
    },
  ];
}
