/**
 * Starting the provider plugins of a worker (docs/providers.md, "Setup"): for each provider, its
 * own settings checked by its `config` schema, its breaker configured (plugin defaults, then the
 * deployment's overrides), and its `setup(tools)` run once with transports that carry the
 * deployment's endpoint, TLS and deadline and send every call through the breaker. What `setup`
 * returns is the handlers' `context.resources`.
 */
import { BreakerRegistry, type ActionLogger, type BreakerSnapshot, type ProviderDefinition, type TranscriptHook } from '../providers/index.ts';
import { createSetupTools, type SetupToolsHandle } from '../providers/setup.ts';
import { maskPan } from '../wire/index.ts';
import { WorkerError } from './errors.ts';
import type { ResolvedWorkerOptions } from './options.ts';

/** The started plugins of one worker. */
export interface StartedPlugins {
  /** `context.resources` of each provider (undefined for a plugin without `setup`). */
  readonly resources: ReadonlyMap<string, unknown>;
  /** Breaker state per provider endpoint, for health and metrics. */
  snapshot(): BreakerSnapshot[];
  /** Closes the plugins' transports and stops the breakers' timers. */
  close(): Promise<void>;
}

/** The plugin's own settings, checked by its `config` schema; problems name paths, never values. */
function pluginConfig(definition: ProviderDefinition, options: Readonly<Record<string, unknown>>): unknown {
  const parsed = definition.config.safeParse(options);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues.map((issue) => `${['options', ...issue.path.map(String)].join('.')}: ${issue.message}`);
  throw new WorkerError('WORKER_BAD_OPTIONS', maskPan(`provider ${definition.name}: ${where.join('; ')}`));
}

/**
 * Configures, sets up and returns every provider's plugin. Only the worker options' `providers` and
 * `providerSettings` are read. The transports' libraries are not loaded here: each is imported
 * when a transport of its kind is first used (src/providers/transports/lazy.ts).
 * @throws WorkerError `WORKER_BAD_OPTIONS`, ProviderError `PROVIDER_INVALID`.
 */
export async function startPlugins(options: Pick<ResolvedWorkerOptions, 'providers' | 'providerSettings'>, log: ActionLogger, transcript?: TranscriptHook): Promise<StartedPlugins> {
  const breakers = new BreakerRegistry();
  const handles: SetupToolsHandle<unknown>[] = [];
  const resources = new Map<string, unknown>();
  const close = async (): Promise<void> => {
    await Promise.allSettled(handles.splice(0).map((handle) => handle.close()));
    breakers.shutdown();
  };
  try {
    for (const definition of options.providers) {
      const settings = options.providerSettings[definition.name] ?? { options: {} };
      breakers.configure(definition.name, { ...definition.breaker, ...settings.breaker });
      const config = pluginConfig(definition, settings.options);
      if (definition.setup === undefined) continue;
      const handle = createSetupTools({
        provider: definition.name,
        config,
        deployment: { endpoint: settings.endpoint, tls: settings.tls, timeoutMs: settings.timeoutMs },
        breakers,
        log,
        transcript,
        scrub: definition.scrub,
      });
      handles.push(handle);
      resources.set(definition.name, await definition.setup(handle.tools));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { resources, snapshot: () => breakers.snapshot(), close };
}
