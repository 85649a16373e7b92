/**
 * Export jobs: list, get, create, and job events.
 *
 * - List (`GET /v3/export-jobs`): the caller's company only; `company_id` naming another company
 *   → 403 `forbidden`. `statuses` filters (repeat the key). Sorted by `createdAt` ascending by
 *   default (oldest first, the order Pleo's guides process jobs in); `sorting_keys=createdAt`
 *   with `sorting_order=DESC` gives newest first. Other sorting keys → 400.
 * - Create (`POST /v3/export-jobs`): `companyId` must be the caller's company (403); a company
 *   without contra accounts → 400 `MISSING_CONTRA_ACCOUNTS`; an unfinished (`pending` or
 *   `in_progress`) job of the company → 409 `EXPORT_ALREADY_IN_PROGRESS` (the admin API can still
 *   queue several jobs, as users pressing Export in the web app do). An empty
 *   `accountingEntryIds` → 400; duplicate ids are kept once. Items of such a job carry the given
 *   accounting entry ids; their payloads come from the generator by position.
 * - Events (`POST /v3/export-job-events`): 202 with no body, 404 for an unknown job or another
 *   company's job, 422 `INVALID_EXPORT_JOB_STATUS_CHANGE` for an illegal change (job.ts).
 */
import { ApiError, badRequest } from '../errors.js';
import { jsonBody } from '../http.js';
import type { Route } from '../http.js';
import { isDescending, pageInfo, paginate, parsePageRequest } from '../pagination.js';
import type { PageSource } from '../pagination.js';
import { JOB_STATUS_VALUES, createJobSchema, jobEventSchema, parseBody } from '../validate.js';
import { companyOf, singleQuery, uuidParam } from './deps.js';
import type { RouteDeps } from './deps.js';

export function jobRoutes(deps: RouteDeps): Route[] {
  const { state } = deps;
  return [
    {
      method: 'GET',
      path: '/v3/export-jobs',
      operation: 'listJobs',
      auth: 'pleo',
      write: false,
      handler: (ctx) => {
        const company = companyOf(ctx);
        const companyId = singleQuery(ctx.query, 'company_id');
        if (companyId !== undefined && uuidParam('company_id', companyId) !== company.id) {
          throw new ApiError(403, 'forbidden', 'The credentials do not give access to this company');
        }
        const statuses = ctx.query.getAll('statuses');
        for (const s of statuses) {
          if (!(JOB_STATUS_VALUES as readonly string[]).includes(s))
            throw badRequest(`Invalid statuses value '${s}'`);
        }
        const filter = [...new Set(statuses)].sort();
        const page = parsePageRequest(
          ctx.query,
          deps.pagination,
          `listJobs|${company.id}|${filter.join(',')}`,
          ['createdAt'],
        );
        const desc = isDescending(page);
        const jobs = state.jobsOf(company.id).filter((j) => filter.length === 0 || filter.includes(j.status));
        if (desc) jobs.reverse();
        const src: PageSource = {
          size: jobs.length,
          keyAt: (p) => jobs[p]!.seq,
          direction: desc ? -1 : 1,
          matches: () => true,
        };
        const result = paginate(src, page);
        const now = state.now();
        return {
          status: 200,
          json: {
            data: result.positions.map((p) => jobs[p]!.toJson(now)),
            pagination: pageInfo(src, page, result, jobs.length, deps.pagination.secret),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v3/export-jobs/:jobId',
      operation: 'getJob',
      auth: 'pleo',
      write: false,
      handler: (ctx) => {
        const job = state.jobOf(companyOf(ctx).id, uuidParam('jobId', ctx.params.jobId));
        return { status: 200, json: { data: job.toJson(state.now()) } };
      },
    },
    {
      method: 'POST',
      path: '/v3/export-jobs',
      operation: 'createJob',
      auth: 'pleo',
      write: true,
      handler: (ctx) => {
        const company = companyOf(ctx);
        const body = parseBody(createJobSchema, jsonBody(ctx), 'CreateExportJob');
        if (body.companyId.toLowerCase() !== company.id) {
          throw new ApiError(403, 'forbidden', 'The credentials do not give access to this company');
        }
        if (!company.hasContraAccounts) {
          throw new ApiError(
            400,
            'MISSING_CONTRA_ACCOUNTS',
            'Contra accounts are not fully configured. Please map contra accounts in the Accounting settings.',
          );
        }
        if (state.jobsOf(company.id).some((j) => !j.final)) {
          throw new ApiError(
            409,
            'EXPORT_ALREADY_IN_PROGRESS',
            'Export Job already in progress for this company.',
          );
        }
        const ids = [...new Set(body.accountingEntryIds.map((id) => id.toLowerCase()))];
        if (ids.length === 0) throw badRequest('accountingEntryIds must not be empty');
        const job = state.createJob(company.id, {
          accountingEntryIds: ids,
          vendorBasedBookkeeping: body.options?.vendorBasedBookkeeping ?? false,
          isInteractive: body.isInteractive ?? true,
          createdBy: body.employeeId ?? null,
        });
        return { status: 201, json: { data: job.toJson(state.now()) } };
      },
    },
    {
      method: 'POST',
      path: '/v3/export-job-events',
      operation: 'createEvent',
      auth: 'pleo',
      write: true,
      handler: (ctx) => {
        const body = parseBody(jobEventSchema, jsonBody(ctx), 'CreateExportJobEvent');
        const job = state.jobOf(companyOf(ctx).id, body.jobId);
        job.applyEvent(body.event, state.now(), body.failureReason, body.failureReasonType);
        return { status: 202 };
      },
    },
  ];
}
