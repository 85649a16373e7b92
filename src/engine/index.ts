export { createEngine, type Engine } from './engine.js';
export type { EngineEvent, EngineLogger, EngineOptions, JobResult } from './types.js';
export type { ReceiptPolicy } from './attachments.js';
export type { EngineStep } from './types.js';
export { previewJob, type PreviewItem, type PreviewResult } from './preview.js';
export { DEFAULT_DOWNLOAD_CONCURRENCY, engineSettings } from './compile.js';
export { DOWNLOAD_BYTES_IN_FLIGHT } from './data-layer.js';
