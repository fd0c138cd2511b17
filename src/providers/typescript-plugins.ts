/**
 * TypeScript plugins under compiled paygate. Running from the sources, paygate itself goes
 * through tsx (or vitest), so a `.ts` plugin imports like any module. Compiled, plain node cannot
 * import TypeScript: tsx's loader is registered on the first `.ts` plugin, when tsx is installed
 * (a checkout, or a project that has it), else the plugin must be compiled.
 */
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolvePackageEntry } from './package-entry.ts';

const TYPESCRIPT_FILE = /\.[cm]?ts$/;

let registration: Promise<boolean> | undefined;

/** Whether `file` is a TypeScript module (`.ts`, `.mts`, `.cts`). */
export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT_FILE.test(file) && !file.endsWith('.d.ts');
}

/**
 * Makes `.ts` modules importable in this process: nothing to do when paygate runs from its own
 * sources (this module is `.ts`); compiled, registers tsx's ESM loader once, found next to paygate
 * or above `fromDir` (the configuration's folder). Resolves `false` when tsx is not installed.
 */
export function enableTypeScriptImports(fromDir: string, moduleUrl: string = import.meta.url): Promise<boolean> {
  if (isTypeScriptFile(moduleUrl)) return Promise.resolve(true);
  registration ??= registerTsx([dirname(fileURLToPath(moduleUrl)), fromDir]);
  return registration;
}

async function registerTsx(folders: readonly string[]): Promise<boolean> {
  for (const folder of folders) {
    let entry: string;
    try {
      entry = resolvePackageEntry('tsx/esm/api', folder);
    } catch {
      continue;
    }
    try {
      const api = (await import(pathToFileURL(entry).href)) as { register?: () => unknown };
      if (typeof api.register !== 'function') continue;
      api.register();
      return true;
    } catch {
      // A broken or incompatible tsx is no tsx: the plugin's import then says what to do.
    }
  }
  return false;
}
