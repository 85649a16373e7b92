/**
 * Prometheus metrics of the daemon, on a registry of its own (one per server: tests start
 * several, and an embedding application keeps its own default registry untouched).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `pleo_export_jobs_total` | counter | `outcome`: completed, completed_with_errors, failed, skipped, already_final, expired, interrupted, error |
 * | `pleo_export_job_duration_seconds` | histogram | `outcome` |
 * | `pleo_export_items_total` | counter | `outcome` (booked, failed), `failure_type` (`none` when booked) |
 * | `pleo_export_pleo_requests_total` | counter | `operation`, `status` (HTTP status, or timeout/network/aborted) |
 * | `pleo_export_pleo_request_duration_seconds` | histogram | `operation` |
 * | `pleo_export_pleo_retries_total` | counter | `operation` |
 * | `pleo_export_polls_total` | counter | `trigger` (startup, timer, webhook, manual), `outcome` (ok, error, interrupted) |
 * | `pleo_export_webhooks_total` | counter | `result` (accepted, ignored, duplicate, missing_headers, bad_timestamp, stale, bad_signature, malformed, too_large, unavailable) |
 * | `pleo_export_queue_depth` | gauge | companies waiting for a slot |
 * | `pleo_export_running_jobs` | gauge | jobs being processed now |
 *
 * plus the standard `process_*` and `nodejs_*` metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { RequestEvent } from '../client/index.js';
import type { JobOutcome, PollOutcome, PollTrigger } from '../runtime/index.js';

export type { JobOutcome, PollTrigger } from '../runtime/index.js';

export type WebhookResult =
  | 'accepted'
  | 'ignored'
  | 'duplicate'
  | 'missing_headers'
  | 'bad_timestamp'
  | 'stale'
  | 'bad_signature'
  | 'malformed'
  | 'too_large'
  | 'unavailable';

export interface ServerMetrics {
  readonly registry: Registry;
  /** `seconds` is null when the run's start was not seen (a stale job settled at startup). */
  jobFinished(outcome: JobOutcome, seconds: number | null): void;
  itemRecorded(outcome: 'booked' | 'failed', failureType: string | null): void;
  pleoRequest(event: RequestEvent): void;
  pollFinished(trigger: PollTrigger, outcome: PollOutcome): void;
  webhook(result: WebhookResult): void;
}

/** Live values read at scrape time from the company pool and the poller. */
export interface GaugeSources {
  queueDepth(): number;
  runningJobs(): number;
}

export function createServerMetrics(sources: GaugeSources): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const jobs = new Counter({
    name: 'pleo_export_jobs_total',
    help: 'Export jobs handled, by how the run ended.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const jobDuration = new Histogram({
    name: 'pleo_export_job_duration_seconds',
    help: 'Wall time of one run of one export job.',
    labelNames: ['outcome'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers,
  });
  const items = new Counter({
    name: 'pleo_export_items_total',
    help: 'Export items recorded, by outcome and failure type.',
    labelNames: ['outcome', 'failure_type'] as const,
    registers,
  });
  const requests = new Counter({
    name: 'pleo_export_pleo_requests_total',
    help: 'HTTP attempts towards Pleo, by client operation and status.',
    labelNames: ['operation', 'status'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'pleo_export_pleo_request_duration_seconds',
    help: 'Duration of HTTP attempts towards Pleo.',
    labelNames: ['operation'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const retries = new Counter({
    name: 'pleo_export_pleo_retries_total',
    help: 'HTTP attempts towards Pleo that the client will retry.',
    labelNames: ['operation'] as const,
    registers,
  });
  const polls = new Counter({
    name: 'pleo_export_polls_total',
    help: 'Polls of a company (detect and run its eligible jobs), by trigger and outcome.',
    labelNames: ['trigger', 'outcome'] as const,
    registers,
  });
  const webhooks = new Counter({
    name: 'pleo_export_webhooks_total',
    help: 'Webhook deliveries received, by result.',
    labelNames: ['result'] as const,
    registers,
  });
  new Gauge({
    name: 'pleo_export_queue_depth',
    help: 'Companies waiting for a free slot (server.maxConcurrentCompanies).',
    registers,
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: 'pleo_export_running_jobs',
    help: 'Export jobs being processed now.',
    registers,
    collect() {
      this.set(sources.runningJobs());
    },
  });

  return {
    registry,
    jobFinished(outcome, seconds) {
      jobs.inc({ outcome });
      if (seconds !== null) jobDuration.observe({ outcome }, seconds);
    },
    itemRecorded(outcome, failureType) {
      items.inc({ outcome, failure_type: failureType ?? 'none' });
    },
    pleoRequest(event) {
      const status =
        event.status === undefined ? (event.errorCode ?? 'network').toLowerCase() : String(event.status);
      requests.inc({ operation: event.operation, status });
      requestDuration.observe({ operation: event.operation }, event.durationMs / 1000);
      if (event.retryInMs !== undefined) retries.inc({ operation: event.operation });
    },
    pollFinished(trigger, outcome) {
      polls.inc({ trigger, outcome });
    },
    webhook(result) {
      webhooks.inc({ result });
    },
  };
}
