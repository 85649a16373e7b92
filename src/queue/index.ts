/**
 * @module queue
 * The scaled-out mode's work distribution on pg-boss: a `key_strict_fifo` queue of "run this
 * company once" messages (`createWorkQueue`), the workers that run them with the shared engine
 * (`createQueueWorkers`), and what the metrics endpoint shows (`queueMetrics`).
 */
export {
  COMPANY_QUEUE,
  createWorkQueue,
  queueSettings,
  type Delivery,
  type EnqueueReason,
  type QueueDepth,
  type WaitingMessage,
  type WorkMessage,
  type WorkQueue,
  type WorkQueueOptions,
} from './work-queue.js';
export {
  createQueueWorkers,
  RunInterruptedError,
  type QueueWorkers,
  type QueueWorkersOptions,
  type RunCompany,
  type WorkerLogger,
  type WorkerStats,
  type WorkersState,
} from './workers.js';
export { queueMetrics, registerQueueMetrics, type QueueMetrics } from './metrics.js';
