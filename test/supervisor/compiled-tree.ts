/**
 * paygate's src/ compiled the way `npm run build` compiles it (tsconfig.build.json's options, one
 * module at a time), into a temp folder: tests of the compiled paths run the current sources,
 * never a dist/ that may be stale or missing. Its node_modules links the repo's packages, minus
 * the ones a test wants absent (tsx: proof that nothing compiled needs it).
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { makeTempDir } from '../helpers/pki.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function buildOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (parsed === undefined) throw new Error('tsconfig.build.json cannot be read');
  // One module at a time, tsc cannot see package.json's "type": ESNext emits what NodeNext emits for it.
  return { ...parsed.options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
}

/** Links every package of the repo's node_modules into `dir`/node_modules, except `without`. */
function linkModules(dir: string, without: readonly string[]): void {
  const target = join(dir, 'node_modules');
  mkdirSync(target);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '.bin' || name.startsWith('.') || without.includes(name)) continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(target, name), 'dir');
  }
}

/**
 * A folder holding `src/` compiled (`<folder>/src/supervisor/worker-process.js`, …) and a
 * node_modules without the packages in `without`.
 */
export function compiledTree(without: readonly string[] = []): string {
  const dir = makeTempDir('compiled');
  const options = buildOptions();
  for (const entry of readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const source = join(entry.parentPath, entry.name);
    const out = join(dir, relative(ROOT, source)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions: options, fileName: source });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'paygate-compiled', type: 'module', private: true }));
  linkModules(dir, without);
  return dir;
}

/**
 * test/fixtures/<name>.ts compiled into `tree` (returns the .js file): its `../../src/…` imports
 * land on the tree's compiled src/.
 */
export function compiledFixture(tree: string, name: string): string {
  const source = join(ROOT, 'test', 'fixtures', `${name}.ts`);
  const out = join(tree, 'test', 'fixtures', `${name}.js`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions: buildOptions(), fileName: source }).outputText);
  return out;
}
