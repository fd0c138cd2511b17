/**
 * The public surface of the worker: start one from options or from its
 * configuration file, its events and errors, and the idempotency store it runs on.
 */
export { Worker, type ConnectionLosses, type StopOptions } from './worker.ts';
export { startWorkerFromConfig, workerOptionsFromConfig, type WorkerOverrides } from './from-config.ts';
export { workerOptionsSchema, parseWorkerOptions, defaultWorkerId, type WorkerOptions, type ResolvedWorkerOptions } from './options.ts';
export type { WorkerEvents, ProcessedEvent, DeadLetterEvent, HandlerErrorEvent, WorkerErrorEvent } from './events.ts';
export { WorkerError, WORKER_ERROR_CODES, type WorkerErrorCode } from './errors.ts';
export { deriveDigestKey, payloadDigest, canonicalJson, type DigestInput } from './payload-digest.ts';
export { IdempotencyStore, idempotencyOptionsSchema, type IdempotencyStoreOptions } from './idempotency-store.ts';
export { loadWorkerConfig, parseWorkerConfig, ConfigError, type WorkerConfig, type GatewaySettings } from './config.ts';
