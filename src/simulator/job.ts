/**
 * One export job and its state machine.
 *
 * ```
 *            started                completed | completed_with_errors | failed
 *  pending ───────────▶ in_progress ─────────────────────────────────────────▶ (final)
 *     │ failed (allowed: a job that fails pre-export validation before being started)
 *     └──────────────────────────────────────────────────────────────────────▶ failed
 *  pending | in_progress ── no update for expiryMs ──▶ failed (job_expired, expiredAt set)
 * ```
 *
 * Decisions where Pleo is silent (docs/decisions.md#c1, docs/decisions.md#c13):
 * - `started` on an `in_progress` job is an illegal change (422), like every event on a final job
 *   and `completed` / `completed_with_errors` on a `pending` job.
 * - `failed` straight from `pending` is allowed.
 * - `lastUpdatedAt` moves on accepted job events and on accepted item updates (PUT); reads never
 *   move it. Expiry is `lastUpdatedAt + expiryMs`, evaluated lazily on every access and by a
 *   periodic sweep; `expiredAt` is the moment it expired, not the moment it was noticed.
 * - `expiresIn` is the number of whole seconds left before expiry (0 once final).
 * - On any final state, items still `pending` / `in_progress` become `abandoned`.
 * - `completedAt` is set by every final event (failed included), not by expiry.
 * - `failureReason` / `failureReasonType` are kept only for `failed` (the spec says to send
 *   them only then); sent with another event they are ignored and a warning is recorded.
 */
import type { components } from '../generated/export-v3.js';
import { iso } from './clock.js';
import type { JobSpec } from './data/index.js';
import { ApiError } from './errors.js';
import type { ItemTable } from './items.js';

type ExportJobV3 = components['schemas']['ExportJobV3'];
export type JobStatus = components['schemas']['ExportJobStatus'];
export type JobEventType = components['schemas']['ExportJobEventType'];
export type JobFailureReasonType = components['schemas']['ExportJobFailureReasonType'];

const INT32_MAX = 2 ** 31 - 1;

const TRANSITIONS: Readonly<Record<JobStatus, Partial<Record<JobEventType, JobStatus>>>> = {
  pending: { started: 'in_progress', failed: 'failed' },
  in_progress: { completed: 'completed', completed_with_errors: 'completed_with_errors', failed: 'failed' },
  completed: {},
  completed_with_errors: {},
  failed: {},
};

export interface JobEventRecord {
  event: JobEventType;
  at: string;
  from: JobStatus;
  accepted: boolean;
  source: 'api' | 'expiry';
  failureReason?: string;
  failureReasonType?: JobFailureReasonType;
}

export interface JobInit {
  id: string;
  companyId: string;
  seq: number;
  spec: JobSpec;
  createdAt: number;
  createdBy: string | null;
  isInteractive: boolean;
  items: ItemTable;
  expiryMs: number;
  /**
   * Per item, the earlier job item whose data it carries (a re-export of an entry the simulator
   * already generated: the same expense has the same data); null/absent → generated for this job.
   */
  sources?: readonly (ItemSource | null)[];
}

/** Where an item's data comes from: item `index` of the job generated from `spec`. */
export interface ItemSource {
  spec: JobSpec;
  index: number;
}

export class Job {
  readonly id: string;
  readonly companyId: string;
  readonly seq: number;
  readonly spec: JobSpec;
  readonly createdAt: number;
  readonly createdBy: string | null;
  readonly isInteractive: boolean;
  readonly items: ItemTable;
  readonly expiryMs: number;
  readonly #sources: readonly (ItemSource | null)[] | undefined;
  status: JobStatus = 'pending';
  startedAt: number | undefined;
  completedAt: number | undefined;
  expiredAt: number | undefined;
  lastUpdatedAt: number;
  failureReason: string | undefined;
  failureReasonType: JobFailureReasonType | undefined;
  readonly events: JobEventRecord[] = [];
  /** Things a strict reviewer would frown at but Pleo does not reject (for tests to assert on). */
  readonly warnings: string[] = [];

  constructor(init: JobInit) {
    this.id = init.id;
    this.companyId = init.companyId;
    this.seq = init.seq;
    this.spec = init.spec;
    this.createdAt = init.createdAt;
    this.createdBy = init.createdBy;
    this.isInteractive = init.isInteractive;
    this.items = init.items;
    this.expiryMs = init.expiryMs;
    this.lastUpdatedAt = init.createdAt;
    this.#sources = init.sources;
  }

  /** The generator input for item `index` of this job (its own spec, or an earlier job's). */
  dataAt(index: number): ItemSource {
    return this.#sources?.[index] ?? { spec: this.spec, index };
  }

  /** The spec whose files this job may serve, by job key (its own and its re-exported sources'). */
  specFor(jobKey: string): JobSpec | undefined {
    if (jobKey === this.spec.jobKey) return this.spec;
    return this.#sources?.find((s) => s?.spec.jobKey === jobKey)?.spec;
  }

  get final(): boolean {
    return this.status !== 'pending' && this.status !== 'in_progress';
  }

  /** Applies expiry if due at `now`; returns whether the job expired just now. */
  expireIfDue(now: number): boolean {
    if (this.final || this.expiryMs <= 0) return false;
    const at = this.lastUpdatedAt + this.expiryMs;
    if (now < at) return false;
    this.events.push({ event: 'failed', at: iso(at), from: this.status, accepted: true, source: 'expiry' });
    this.status = 'failed';
    this.failureReasonType = 'job_expired';
    this.failureReason = `Export job expired: not updated for ${Math.round(this.expiryMs / 1000)} seconds.`;
    this.expiredAt = at;
    this.lastUpdatedAt = at;
    this.items.abandonUnfinished(at, 'expiry');
    return true;
  }

  /** Records an item update batch as an action on the job. */
  touch(now: number): void {
    this.lastUpdatedAt = now;
  }

  /** Applies a job event or throws 422 `INVALID_EXPORT_JOB_STATUS_CHANGE` (after recording it). */
  applyEvent(
    event: JobEventType,
    now: number,
    failureReason?: string,
    failureReasonType?: JobFailureReasonType,
  ): void {
    this.expireIfDue(now);
    const from = this.status;
    const to = TRANSITIONS[from][event];
    const record: JobEventRecord = { event, at: iso(now), from, accepted: to !== undefined, source: 'api' };
    if (failureReason !== undefined) record.failureReason = failureReason;
    if (failureReasonType !== undefined) record.failureReasonType = failureReasonType;
    this.events.push(record);
    if (to === undefined) {
      throw new ApiError(
        422,
        'INVALID_EXPORT_JOB_STATUS_CHANGE',
        `Export Job status change failed: cannot apply '${event}' to a job that is '${from}'.`,
      );
    }
    this.status = to;
    this.lastUpdatedAt = now;
    if (event === 'started') {
      this.startedAt = now;
      return;
    }
    this.completedAt = now;
    if (event === 'failed') {
      this.failureReason = failureReason;
      this.failureReasonType = failureReasonType;
    } else if (failureReason !== undefined || failureReasonType !== undefined) {
      this.warnings.push(`'${event}' was sent with failure fields; they were ignored`);
    }
    const unfinished = this.items.countOf('pending') + this.items.countOf('in_progress');
    if (unfinished > 0)
      this.warnings.push(`'${event}' with ${unfinished} unfinished item(s); they were abandoned`);
    const failed = this.items.countOf('failed');
    if (event === 'completed' && failed > 0) {
      this.warnings.push(`'completed' although ${failed} item(s) failed (completed_with_errors expected)`);
    }
    if (event === 'completed_with_errors' && failed === 0 && unfinished === 0) {
      this.warnings.push("'completed_with_errors' although no item failed");
    }
    this.items.abandonUnfinished(now, 'job_final');
  }

  expiresIn(now: number): number {
    if (this.final) return 0;
    if (this.expiryMs <= 0) return INT32_MAX;
    return Math.max(0, Math.min(INT32_MAX, Math.floor((this.lastUpdatedAt + this.expiryMs - now) / 1000)));
  }

  toJson(now: number): ExportJobV3 {
    const job: ExportJobV3 = {
      id: this.id,
      companyId: this.companyId,
      createdAt: iso(this.createdAt),
      createdBy: this.createdBy,
      startedAt: this.startedAt === undefined ? null : iso(this.startedAt),
      completedAt: this.completedAt === undefined ? null : iso(this.completedAt),
      expiredAt: this.expiredAt === undefined ? null : iso(this.expiredAt),
      lastUpdatedAt: iso(this.lastUpdatedAt),
      expiresIn: this.expiresIn(now),
      failureReason: this.failureReason ?? null,
      isInteractive: this.isInteractive,
      numberOfItems: this.items.count,
      status: this.status,
      vendorBasedBookkeeping: this.spec.vendorBasedBookkeeping,
    };
    // Not nullable in the spec (docs/decisions.md#s4): omitted when absent.
    if (this.failureReasonType !== undefined) job.failureReasonType = this.failureReasonType;
    return job;
  }
}
