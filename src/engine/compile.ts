import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

import { compileRetryPolicy } from '../client/index.js';
import { ConfigError } from '../errors/index.js';
import type { EngineEvent, EngineLogger, EngineOptions, EngineStep } from './types.js';

/**
 * Parallel receipt downloads per job when not configured. Receipts come from Pleo's file host (a
 * CDN), one request each; at 25 ms per request 32 in flight keep them off the critical path
 * (BENCHMARKS.md), and `DOWNLOAD_BYTES_IN_FLIGHT` bounds the memory they hold.
 */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 32;

/** Engine options with every default resolved, validated once (house style rule 9). */
export type CompiledEngine = Readonly<
  Required<Omit<EngineOptions, 'onEvent' | 'logger' | 'onStep'>> & {
    logger: EngineLogger;
    emit: (event: EngineEvent) => void;
    step: (step: EngineStep) => void;
  }
>;

const silent: EngineLogger = { debug() {}, info() {}, warn() {}, error() {} };

function positiveInt(name: string, value: number | undefined, fallback: number, max = 1_000_000): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new ConfigError(`engine.${name} must be an integer from 1 to ${max}, got ${String(v)}`);
  return v;
}

export function compileEngineOptions(options: EngineOptions): CompiledEngine {
  const onEvent = options.onEvent;
  const logger = options.logger ?? silent;
  return Object.freeze({
    store: options.store,
    client: options.client,
    adapter: options.adapter,
    mapItem: options.mapItem,
    attachmentsDir: options.attachmentsDir,
    receiptPolicy: options.receiptPolicy,
    owner: options.owner ?? `${hostname()}:${process.pid}`,
    concurrency: positiveInt('concurrency', options.concurrency, 1, 256),
    downloadConcurrency: positiveInt(
      'downloadConcurrency',
      options.downloadConcurrency,
      DEFAULT_DOWNLOAD_CONCURRENCY,
      64,
    ),
    pageSize: positiveInt('pageSize', options.pageSize, 100, 10_000),
    keepAliveMs: positiveInt('keepAliveMs', options.keepAliveMs, 10 * 60 * 1000, 50 * 60 * 1000),
    adapterRetry:
      options.adapterRetry ??
      compileRetryPolicy({ maxAttempts: 6, initialDelayMs: 500, maxDelayMs: 30_000 }, 'adapterRetry'),
    maxReportAttempts: positiveInt('maxReportAttempts', options.maxReportAttempts, 3, 100),
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
