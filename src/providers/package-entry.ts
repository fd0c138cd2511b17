/**
 * Where an installed package's module lives, found the way `import` would find it from a given
 * folder: the nearest `node_modules/<name>` above it, then its `exports` (conditions `node`,
 * `import`, `default`) or, without `exports`, its `main` or the subpath itself. Node 20 cannot
 * resolve a specifier from another folder than the importing module's (`import.meta.resolve`'s
 * parent argument is behind a flag), and `createRequire` would pick the `require` condition.
 * Subpath patterns (`"./*"`) are not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The conditions an ESM `import` in node matches, in the order node tries them. */
const CONDITIONS: ReadonlySet<string> = new Set(['node', 'import', 'default']);

/** Why a package specifier could not be resolved; the caller wraps it into its own typed error. */
export class PackageEntryError extends Error {
  override readonly name = 'PackageEntryError';
}

/**
 * Whether `specifier` names a package (`acme-plugin`, `@acme/plugin/card`) rather than a file:
 * not relative, not absolute, not a URL.
 */
export function isPackageSpecifier(specifier: string): boolean {
  if (specifier === '' || specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('\\')) return false;
  return !/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(specifier);
}

/** A module file's extension: what a path to a plugin ends with, and a package name does not. */
const MODULE_FILE = /\.[cm]?[jt]s$/;

/**
 * Whether `module`, as written in a configuration whose folder is `baseDir`, names an installed
 * package. Configurations have always named plugin files relative to their folder without a
 * leading `./` (`providers/card/index.ts`): a package specifier that exists as a path there, or
 * ends with a module file's extension, stays a file (and a missing one is reported as such).
 */
export function namesPackage(module: string, baseDir: string): boolean {
  return isPackageSpecifier(module) && !MODULE_FILE.test(module) && !existsSync(resolve(baseDir, module));
}

/**
 * The absolute path of the module `specifier` names, resolved from `fromDir`.
 *
 * @throws PackageEntryError when no `node_modules` above `fromDir` holds the package, or the
 *   package does not export the subpath.
 */
export function resolvePackageEntry(specifier: string, fromDir: string): string {
  const { name, subpath } = splitSpecifier(specifier);
  const dir = findPackageDir(name, fromDir);
  if (dir === undefined) throw new PackageEntryError(`package ${name} is not installed in ${fromDir} or any folder above it`);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: unknown; main?: unknown };
  if (manifest.exports === undefined || manifest.exports === null) {
    if (subpath !== '.') return join(dir, subpath);
    return join(dir, typeof manifest.main === 'string' ? manifest.main : 'index.js');
  }
  const target = pickTarget(exportsEntry(manifest.exports, subpath));
  if (target === undefined || !target.startsWith('./')) {
    throw new PackageEntryError(`package ${name} (${dir}) exports no ${subpath === '.' ? 'main entry' : subpath} for import`);
  }
  return join(dir, target);
}

function splitSpecifier(specifier: string): { name: string; subpath: string } {
  const parts = specifier.split('/');
  const length = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, length).join('/');
  const rest = parts.slice(length);
  if (name === '' || (length === 2 && parts.length < 2)) throw new PackageEntryError(`${specifier} is not a package name`);
  return { name, subpath: rest.length === 0 ? '.' : `./${rest.join('/')}` };
}

function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The value `exports` maps `subpath` to: sugar (a string, array or conditions) is the main entry. */
function exportsEntry(exports: unknown, subpath: string): unknown {
  const isMap = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports as object).some((key) => key.startsWith('.'));
  if (!isMap) return subpath === '.' ? exports : undefined;
  return (exports as Record<string, unknown>)[subpath];
}

/** The first target that matches node's import conditions, in the package's key order. */
function pickTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const target = pickTarget(item);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [condition, nested] of Object.entries(value)) {
    if (!CONDITIONS.has(condition)) continue;
    const target = pickTarget(nested);
    if (target !== undefined) return target;
  }
  return undefined;
}
