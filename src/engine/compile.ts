import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

import { z } from 'zod';

import { clientSettings, compileRetryPolicy } from '../client/index.js';
import { ConfigError } from '../errors/index.js';
import type { EngineEvent, EngineLogger, EngineOptions, EngineStep } from './types.js';

/**
 * Parallel receipt downloads per job when not configured. Receipts come from Pleo's file host (a
 * CDN), one request each; at 25 ms per request 32 in flight keep them off the critical path
 * (BENCHMARKS.md), and `DOWNLOAD_BYTES_IN_FLIGHT` bounds the memory they hold.
 */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 32;

const wholeNumber = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The engine's settings of the configuration file's `engine` block, each with its limits and
 * default: their one definition (`config/schema.ts` builds the block from these fields).
 */
export const engineSettings = {
  /** Accounting-system writes in flight per job; 1 = strict order. @default 1 */
  concurrency: wholeNumber(1, 256).default(1),
  /** Parallel receipt downloads per job. @default 32 */
  downloadConcurrency: wholeNumber(1, 64).default(DEFAULT_DOWNLOAD_CONCURRENCY),
  /**
   * Longest silence towards Pleo while a job is in progress, in ms. Pleo expires a job one hour
   * after its last update; the engine reports (or sends an `in_progress` heartbeat) well before.
   * @default 600000 (10 minutes)
   */
  keepAliveMs: wholeNumber(1, 50 * 60 * 1000).default(10 * 60 * 1000),
};

/**
 * Every numeric engine option: the configuration's `engine` block, the client's page size (the
 * engine passes it to each listing; the configuration's `pleo.pageSize`) and the report retries.
 */
export const engineNumbers = z.object({
  ...engineSettings,
  /** Page size of the engine's Pleo listings. @default 100 */
  pageSize: clientSettings.pageSize,
  /** Rejected item reports are re-sent this many times before they are surfaced and left. @default 3 */
  maxReportAttempts: wholeNumber(1, 100).default(3),
});

/** The numeric engine options as a caller writes them (all optional: the defaults above). */
export type EngineNumbers = z.input<typeof engineNumbers>;

/** Engine options with every default resolved, validated once (house style rule 9). */
export type CompiledEngine = Readonly<
  Required<Omit<EngineOptions, 'onEvent' | 'logger' | 'onStep' | keyof EngineNumbers>> &
    z.output<typeof engineNumbers> & {
      logger: EngineLogger;
      emit: (event: EngineEvent) => void;
      step: (step: EngineStep) => void;
    }
>;

const silent: EngineLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The numeric options checked against their fields once, defaults resolved. */
function compileNumbers(options: EngineOptions): z.output<typeof engineNumbers> {
  const { concurrency, downloadConcurrency, keepAliveMs, pageSize, maxReportAttempts } = options;
  const input = { concurrency, downloadConcurrency, keepAliveMs, pageSize, maxReportAttempts };
  const parsed = engineNumbers.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0]) as keyof typeof input;
  const field = engineNumbers.shape[key].unwrap();
  throw new ConfigError(
    `engine.${key} must be an integer from ${String(field.minValue)} to ${String(field.maxValue)}, got ${String(input[key])}`,
  );
}

export function compileEngineOptions(options: EngineOptions): CompiledEngine {
  const onEvent = options.onEvent;
  const logger = options.logger ?? silent;
  return Object.freeze({
    ...compileNumbers(options),
    store: options.store,
    client: options.client,
    adapter: options.adapter,
    mapItem: options.mapItem,
    attachmentsDir: options.attachmentsDir,
    receiptPolicy: options.receiptPolicy,
    owner: options.owner ?? `${hostname()}:${process.pid}`,
    adapterRetry:
      options.adapterRetry ??
      compileRetryPolicy({ maxAttempts: 6, initialDelayMs: 500, maxDelayMs: 30_000 }, 'adapterRetry'),
    now: options.now ?? Date.now,
    sleep:
      options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {})),
    random: options.random ?? Math.random,
    logger,
    step: options.onStep ?? (() => {}),
    emit: (event: EngineEvent) => {
      if (!onEvent) return;
      try {
        onEvent(event);
      } catch (error) {
        logger.warn({ err: error }, 'engine event listener threw');
      }
    },
  });
}
