/**
 * The public surface of the worker (`paygate/worker`): start one in-process from options
 * (`Worker.start`) or from its configuration file (`startWorkerFromConfig`), its events and
 * errors, and the idempotency store it runs on.
 */
export { Worker, type ConnectionLosses, type StartHooks, type StopOptions } from './worker.ts';
export { startWorkerFromConfig, workerOptionsFromConfig, type WorkerOverrides } from './from-config.ts';
export {
  workerOptionsSchema, parseWorkerOptions, defaultWorkerId, providerSettingsSchema, DEFAULT_EVENTS_QUEUE,
  type WorkerOptions, type ResolvedWorkerOptions, type ProviderSettingsInput,
} from './options.ts';
export type { WorkerEvents, ProcessedEvent, DeadLetterEvent, HandlerErrorEvent, WorkerErrorEvent } from './events.ts';
export { WorkerError, WORKER_ERROR_CODES, type WorkerErrorCode } from './errors.ts';
export { deriveDigestKey, payloadDigest, canonicalJson, type DigestInput } from './payload-digest.ts';
export { IdempotencyStore, idempotencyOptionsSchema, type IdempotencyStoreOptions } from './idempotency-store.ts';
export { openWorkerStore, storeOptionsSchema, type StoreOptions } from './open-store.ts';
export type { WorkerStore, StoreOperations, StoreHealthListener, ClaimInput, ClaimResult } from './store-engine.ts';
export { postgresStoreOptionsSchema, type PostgresStoreOptions } from './postgres-options.ts';
export { loadWorkerConfig, parseWorkerConfig, ConfigError, type WorkerConfig, type GatewaySettings, type EventsSettings } from './config.ts';
export { deriveAuditKey, PAYMENT_STATUSES } from './audit-events.ts';
