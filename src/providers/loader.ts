/**
 * Loading a provider plugin named in the worker configuration (`providers: [{name, module}]`):
 * find the module (a file, or an installed package by name), import it, find the definition
 * `defineProvider` made, check that it is the provider the configuration names. Errors name the
 * file and say how to fix it.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { maskPan } from '../wire/index.ts';
import type { ProviderDefinition } from './contract.ts';
import { PaygateError } from '../errors.ts';
import { ProviderError } from './errors.ts';
import { namesPackage, PackageEntryError, resolvePackageEntry } from './package-entry.ts';
import { enableTypeScriptImports, isTypeScriptFile } from './typescript-plugins.ts';

/** Options of {@link loadProvider}. */
export interface LoadProviderOptions {
  /**
   * The folder a relative path or a package name is resolved from: the configuration file's
   * folder. The current directory when absent.
   */
  readonly baseDir?: string;
}

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
 * Imports the plugin `module` names and returns its provider definition: the default export, or
 * a named export, made by `defineProvider`, whose `name` is `expectedName`. `module` is a file
 * path (relative ones from `options.baseDir`, with or without `./`) or an installed package's
 * name (`acme-plugin`, `@acme/plugins/card`; a name that is also a path there is that file),
 * found in the nearest `node_modules` above `options.baseDir`. A `.ts`
 * file under compiled paygate is imported through tsx when tsx is installed.
 *
 * @throws ProviderError `PROVIDER_INVALID` when the module cannot be found or imported (missing
 *   file or package, a TypeScript file and no tsx, a failing import), exports no provider
 *   definition, or only ones of another name; the message names the file and the fix.
 */
export async function loadProvider(module: string, expectedName: string, options: LoadProviderOptions = {}): Promise<ProviderDefinition> {
  const baseDir = resolve(options.baseDir ?? '.');
  const file = locate(module, expectedName, baseDir);
  // Compiled paygate imports a TypeScript plugin only through tsx; without it, node may still
  // manage (a node that strips types), so the import is tried before saying it cannot.
  const typescriptReady = isTypeScriptFile(file) ? await enableTypeScriptImports(baseDir) : true;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    throw importFailure(cause, file, expectedName, typescriptReady);
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

/** Why importing the plugin failed, from the import error's code (its text may quote the module's source). */
function importFailure(cause: unknown, file: string, expectedName: string, typescriptReady: boolean): ProviderError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (!typescriptReady && code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return new ProviderError(
      'PROVIDER_INVALID',
      `cannot load provider ${expectedName} from ${file}: it is TypeScript, which this compiled paygate imports only through tsx, and tsx is not installed; compile the plugin to JavaScript (tsc) and name the .js file in providers[].module, or install tsx`,
      { cause },
    );
  }
  // A paygate error raised while the module ran (defineProvider refusing the definition) is our own text: say it.
  const why =
    code === 'ERR_MODULE_NOT_FOUND'
      ? 'the file (or a module it imports) does not exist'
      : cause instanceof PaygateError
        ? `importing it failed (${cause.code}: ${cause.message})`
        : `importing it failed (${code ?? errorName(cause)})`;
  return new ProviderError(
    'PROVIDER_INVALID',
    maskPan(`cannot load provider ${expectedName} from ${file}: ${why}; check providers[].module in the worker configuration and that the plugin runs on its own`),
    { cause },
  );
}

/** The plugin's file: a path resolved from `baseDir`, or a package's entry. */
function locate(module: string, expectedName: string, baseDir: string): string {
  if (!namesPackage(module, baseDir)) return resolve(baseDir, module);
  try {
    return resolvePackageEntry(module, baseDir);
  } catch (cause) {
    const why = cause instanceof PackageEntryError ? cause.message : `its package.json cannot be read (${errorName(cause)})`;
    throw new ProviderError(
      'PROVIDER_INVALID',
      `cannot load provider ${expectedName} from package ${module}: ${why}; install it in the configuration's folder (npm install ${module}) or give a file path in providers[].module`,
      { cause },
    );
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
