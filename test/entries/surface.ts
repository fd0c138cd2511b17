/**
 * The names an entry module exports, values and types alike, as the TypeScript checker sees
 * them; and the names the repository's plugins import from the contract and the wire.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from './loads.ts';

/** Every name `modulePath` (a repo path) exports, types included. */
export function exportedNames(...modulePaths: string[]): Map<string, Set<string>> {
  const files = modulePaths.map((path) => join(ROOT, path));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  return new Map(
    modulePaths.map((path, index) => {
      const source = program.getSourceFile(files[index] as string);
      const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      const names = symbol === undefined ? [] : checker.getExportsOfModule(symbol).map((s) => s.getName());
      return [path, new Set(names)];
    }),
  );
}

/** The plugin sources of the repository (tests and test helpers excluded), as repo paths. */
function pluginSources(): string[] {
  return readdirSync(join(ROOT, 'providers'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.startsWith('test-'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const FROM_SURFACE = /(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'(?:\.\.\/)+src\/(?:providers|wire)\/index\.ts'/g;

/** Each name the plugins import (or re-export) from src/providers/index.ts or src/wire/index.ts, with a file that does. */
export function namesPluginsImport(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of pluginSources()) {
    for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(FROM_SURFACE)) {
      for (const part of (match[1] as string).split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]?.trim();
        if (name !== undefined && name !== '' && !found.has(name)) found.set(name, file);
      }
    }
  }
  return found;
}
