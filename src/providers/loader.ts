/**
 * Loading a provider plugin named in the worker configuration (`providers: [{name, module}]`):
 * import the module, find the definition `defineProvider` made, check that it is the provider the
 * configuration names. Errors name the file and say how to fix it.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { maskPan } from '../wire/index.ts';
import type { ProviderDefinition } from './contract.ts';
import { ProviderError } from './errors.ts';

/**
 * Whether `value` is a definition made by `defineProvider`: frozen, with a name, a version, an
 * action table, its `capabilities` and a `scrub` function. A hand-written look-alike (not frozen,
 * no `capabilities`) was never checked against the contract and is refused.
 */
export function isProviderDefinition(value: unknown): value is ProviderDefinition {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return false;
  const candidate = value as Partial<Record<keyof ProviderDefinition, unknown>>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.version === 'string' &&
    typeof candidate.actions === 'object' &&
    candidate.actions !== null &&
    Array.isArray(candidate.capabilities) &&
    typeof candidate.scrub === 'function'
  );
}

/**
 * Imports the plugin at `modulePath` (resolved against the current directory when relative) and
 * returns its provider definition: the default export, or a named export, made by
 * `defineProvider`, whose `name` is `expectedName`.
 *
 * @throws ProviderError `PROVIDER_INVALID` when the module cannot be imported (missing file, a
 *   failing import), exports no provider definition, or only ones of another name; the message
 *   names the file and the fix.
 */
export async function loadProvider(modulePath: string, expectedName: string): Promise<ProviderDefinition> {
  const file = resolve(modulePath);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    // The import error's text may quote the module's source; only its kind is repeated here.
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'ERR_MODULE_NOT_FOUND' ? 'the file (or a module it imports) does not exist' : `importing it failed (${code ?? errorName(cause)})`;
    throw new ProviderError(
      'PROVIDER_INVALID',
      maskPan(`cannot load provider ${expectedName} from ${file}: ${why}; check providers[].module in the worker configuration and that the plugin runs on its own`),
      { cause },
    );
  }
  const definitions = [...new Set([namespace.default, ...Object.values(namespace)])].filter(isProviderDefinition);
  if (definitions.length === 0) {
    throw new ProviderError(
      'PROVIDER_INVALID',
      `${file} exports no provider definition: export the result of defineProvider({...}) (as the default export or a named one)`,
    );
  }
  const found = definitions.find((definition) => definition.name === expectedName);
  if (found === undefined) {
    const names = definitions.map((definition) => definition.name).join(', ');
    throw new ProviderError(
      'PROVIDER_INVALID',
      `${file} defines provider ${names}, not ${expectedName}: fix providers[].name in the worker configuration or the plugin's name`,
    );
  }
  return found;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
