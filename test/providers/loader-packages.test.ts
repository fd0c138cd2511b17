/**
 * loadProvider with a package name (`providers[].module: acme-plugin`): found in the nearest
 * node_modules above the configuration's folder, through its package.json (`exports` with
 * node's import conditions, or `main`), never through the current directory. A package is
 * JavaScript (node imports it natively, as it would in production): the counting fixture
 * compiled into a temp tree is what the packages here re-export.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPackageSpecifier, namesPackage, resolvePackageEntry } from '../../src/providers/package-entry.ts';
import { isProviderDefinition, loadProvider, ProviderError } from '../../src/providers/index.ts';
import { makeTempDir } from '../helpers/pki.ts';
import { compiledFixture, compiledTree } from '../supervisor/compiled-tree.ts';

let REEXPORT = '';
let tree = '';
let fixture = '';

beforeAll(() => {
  tree = compiledTree(['tsx']);
  fixture = compiledFixture(tree, 'counting-provider');
  REEXPORT = `export { counting as default } from ${JSON.stringify(pathToFileURL(fixture).href)};\n`;
});

async function loads(module: string, baseDir: string): Promise<void> {
  const definition = await loadProvider(module, 'counting', { baseDir });
  expect(isProviderDefinition(definition)).toBe(true);
  expect(definition.name).toBe('counting');
}

/** A project folder with `node_modules/<name>` holding `manifest` and `files`. */
function project(name: string, manifest: Record<string, unknown>, files: Record<string, string>): string {
  const dir = makeTempDir('plugin-package');
  const pkg = join(dir, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', ...manifest }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(pkg, file, '..'), { recursive: true });
    writeFileSync(join(pkg, file), text);
  }
  return dir;
}

async function refusal(module: string, baseDir: string): Promise<ProviderError> {
  const error: unknown = await loadProvider(module, 'counting', { baseDir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

describe('isPackageSpecifier', () => {
  it('tells package names from paths and URLs', () => {
    for (const name of ['acme-plugin', '@acme/plugins', '@acme/plugins/card', 'acme/sub/path.js']) expect(isPackageSpecifier(name), name).toBe(true);
    for (const path of ['./plugin.js', '../p/index.ts', '/abs/plugin.js', 'file:///abs/plugin.js', '.', '']) expect(isPackageSpecifier(path), path).toBe(false);
  });
});

describe('loadProvider by package name', () => {
  it('loads the package found above the configuration folder, through its exports’ import condition', async () => {
    const dir = project('acme-plugin', { exports: { '.': { types: './index.d.ts', require: './missing.cjs', import: './dist/index.js' } } }, { 'dist/index.js': REEXPORT });
    const configDir = join(dir, 'config', 'prod');
    mkdirSync(configDir, { recursive: true });
    await loads('acme-plugin', configDir);
  });

  it('loads a scoped package’s subpath export, and a package with only `main`', async () => {
    const scoped = project('@acme/plugins', { exports: { './counting': './counting.js', './package.json': './package.json' } }, { 'counting.js': REEXPORT });
    await loads('@acme/plugins/counting', scoped);
    const legacy = project('old-plugin', { main: 'lib/main.js' }, { 'lib/main.js': REEXPORT });
    await loads('old-plugin', legacy);
  });

  it('resolves from the configuration folder, not from the current directory', () => {
    const dir = project('acme-plugin', { exports: './index.js' }, { 'index.js': REEXPORT });
    expect(resolvePackageEntry('acme-plugin', dir)).toBe(join(dir, 'node_modules', 'acme-plugin', 'index.js'));
    expect(() => resolvePackageEntry('acme-plugin', process.cwd())).toThrow(/not installed/);
  });

  it('PROVIDER_INVALID naming the package, the folder and the fix when it is not installed', async () => {
    const dir = makeTempDir('plugin-package');
    const error = await refusal('acme-missing', dir);
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toContain('acme-missing');
    expect(error.message).toContain(dir);
    expect(error.message).toContain('npm install acme-missing');
  });

  it('PROVIDER_INVALID when the package exports no such subpath or no import entry', async () => {
    const dir = project('acme-plugin', { exports: { '.': { require: './index.cjs' } } }, { 'index.cjs': 'module.exports = {};\n' });
    expect((await refusal('acme-plugin', dir)).message).toMatch(/acme-plugin .*exports no main entry for import/);
    expect((await refusal('acme-plugin/card', dir)).message).toMatch(/exports no \.\/card for import/);
  });

  it('a relative path is resolved from the configuration folder, with or without ./ (a name ending in .js/.ts, or existing there, is a path)', async () => {
    const dir = makeTempDir('plugin-path');
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins', 'counting.mjs'), REEXPORT);
    await loads('./plugins/counting.mjs', dir);
    expect(namesPackage('plugins/counting.mjs', dir)).toBe(false);
    await loads('plugins/counting.mjs', dir);
    expect(namesPackage('plugins/other.mjs', dir)).toBe(false);
    expect(namesPackage('acme-plugin', dir)).toBe(true);
    expect(namesPackage('paygate/providers/card', dir)).toBe(true);
    mkdirSync(join(dir, 'acme-plugin'));
    expect(namesPackage('acme-plugin', dir)).toBe(false);
  });
});

/** Plain node, compiled loadProvider (tsx absent from the compiled tree's node_modules): what it says about `module`. */
async function compiledLoad(module: string, baseDir: string): Promise<{ name?: string; code?: string; message?: string }> {
  const driver = join(tree, 'load.js');
  writeFileSync(driver, [
    "import { loadProvider } from './src/providers/index.js';",
    'const [module, baseDir] = process.argv.slice(2);',
    'const result = await loadProvider(module, "counting", { baseDir }).then((d) => ({ name: d.name }), (e) => ({ code: e.code, message: e.message }));',
    'process.stdout.write(JSON.stringify(result));',
  ].join('\n'));
  const { stdout } = await promisify(execFile)(process.execPath, [driver, module, baseDir], { cwd: tree, env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout) as { name?: string; code?: string; message?: string };
}

describe('a TypeScript plugin under compiled paygate', () => {
  /** A folder with plugin.ts (a type annotation: plain node 20 cannot run it) re-exporting the compiled fixture. */
  function typescriptPlugin(): string {
    const dir = makeTempDir('ts-plugin');
    // An ES module, as paygate's own plugins are: tsx would make a plugin of a CommonJS folder require() the ESM paygate.
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    writeFileSync(join(dir, 'plugin.ts'), `import { counting } from ${JSON.stringify(pathToFileURL(fixture).href)};\nconst kind: string = 'typescript';\nexport default counting;\nexport { kind };\n`);
    return dir;
  }

  it('loads through tsx when tsx is installed above the configuration folder', async () => {
    const dir = typescriptPlugin();
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(fileURLToPath(new URL('../../node_modules/tsx', import.meta.url)), join(dir, 'node_modules', 'tsx'), 'dir');
    expect(await compiledLoad('./plugin.ts', dir)).toEqual({ name: 'counting' });
  });

  it('PROVIDER_INVALID saying to compile the plugin when tsx is not installed', async () => {
    const dir = typescriptPlugin();
    const result = await compiledLoad('./plugin.ts', dir);
    expect(result.code).toBe('PROVIDER_INVALID');
    expect(result.message).toContain(join(dir, 'plugin.ts'));
    expect(result.message).toContain('compile the plugin to JavaScript');
  });
});
