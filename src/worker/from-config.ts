/**
 * Starting a worker from its configuration file (config.ts): read the PEM files it names, load
 * the provider plugins it lists and pass each provider's settings on, then `Worker.start`.
 */
import { readFileSync } from 'node:fs';
import { loadProvider } from '../providers/index.ts';
import type { ProviderConfig, WorkerConfig } from './config.ts';
import { WorkerError } from './errors.ts';
import type { ProviderSettingsInput, WorkerOptions } from './options.ts';
import { Worker } from './worker.ts';

/** Options that may replace what the configuration gives (e.g. `log`, `workerId`, `prefetch`). */
export type WorkerOverrides = Partial<WorkerOptions>;

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new WorkerError('WORKER_BAD_OPTIONS', `cannot read the ${what} ${path} (${code}): check the worker configuration and the file's permissions`, { cause });
  }
}

/** A provider's deployment settings as the worker takes them; absent keys stay absent (the plugin's or transports' defaults apply). */
function providerSettingsOf(provider: ProviderConfig): ProviderSettingsInput {
  return {
    ...(provider.endpoint === undefined ? {} : { endpoint: provider.endpoint }),
    ...(provider.tls === undefined ? {} : { tls: { ...provider.tls } }),
    ...(provider.timeoutMs === undefined ? {} : { timeoutMs: provider.timeoutMs }),
    ...(provider.breaker === undefined ? {} : { breaker: { ...provider.breaker } }),
    options: provider.options,
  };
}

/**
 * The worker's options from a loaded configuration: PEM files read, provider modules imported
 * with `loadProvider`, and `providerSettings` keyed by provider name (every configured provider
 * has an entry, `options: {}` at least).
 *
 * @throws ProviderError `PROVIDER_INVALID` (a plugin that cannot be loaded), WorkerError
 *   `WORKER_BAD_OPTIONS` (an unreadable file).
 */
export async function workerOptionsFromConfig(config: WorkerConfig): Promise<WorkerOptions> {
  const providers = await Promise.all(config.providers.map((provider) => loadProvider(provider.module, provider.name, { baseDir: config.baseDir })));
  return {
    stomp: config.stomp,
    identity: { cert: readPem(config.identity.cert, 'gateway certificate'), key: readPem(config.identity.key, 'gateway private key') },
    trust: config.trust.clientCa.map((path) => readPem(path, 'client CA certificate')),
    providers,
    providerSettings: Object.fromEntries(config.providers.map((provider) => [provider.name, providerSettingsOf(provider)])),
    idempotency: { ...config.idempotency },
    freshnessWindowMs: config.freshnessWindowMs,
    ...(config.trust.clientRoles === undefined ? {} : { clientRoleOids: [...config.trust.clientRoles] }),
    ...(config.replyToPattern === undefined ? {} : { replyToPattern: config.replyToPattern }),
    ...(config.maxReplyAttempts === undefined ? {} : { maxReplyAttempts: config.maxReplyAttempts }),
    queuePrefix: config.queuePrefix,
    dlqSuffix: config.dlqSuffix,
    ...(config.stomp.prefetch > 0 ? { prefetch: config.stomp.prefetch } : {}),
    ...(config.events === undefined ? {} : { events: { queue: config.events.queue, recipient: readPem(config.events.recipient, 'feed server certificate') } }),
  };
}

/**
 * Builds the worker's options from a loaded configuration ({@link workerOptionsFromConfig}) and
 * starts it; `overrides` win over the configuration.
 *
 * @throws ProviderError `PROVIDER_INVALID` (a plugin that cannot be loaded), WorkerError
 *   `WORKER_BAD_OPTIONS` (an unreadable file), and whatever {@link Worker.start} throws.
 */
export async function startWorkerFromConfig(config: WorkerConfig, overrides: WorkerOverrides = {}): Promise<Worker> {
  return Worker.start({ ...(await workerOptionsFromConfig(config)), ...overrides });
}
