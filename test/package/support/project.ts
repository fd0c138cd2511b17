/**
 * A new user's project in a temp folder outside the repository: `npm install <tarball>` with
 * install scripts enabled, then the fixtures (a TypeScript storefront, a plain-JS one, and a
 * plugin package `acme-plugin` in node_modules) copied in.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './pack.ts';
import { npm, run, type RunResult } from './processes.ts';

const FIXTURES = join(REPO, 'test/package/fixtures');

function versionOf(packageDir: string): string {
  return (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * A better-sqlite3 prebuild in `dir`, in prebuild-install's own format and file name, made from
 * the binary this checkout's install compiled (same version, same node ABI). Its install script
 * (`prebuild-install || node-gyp rebuild`) runs as usual in the new project and takes it through
 * prebuild-install's `local-prebuilds` setting: no binary host is reachable from here, and
 * compiling SQLite again would take minutes on every run. Returns the environment that points
 * prebuild-install at it. Should the project resolve another version, the file name does not
 * match and the script compiles from source: slower, still correct.
 */
export function seedSqlitePrebuild(dir: string): Record<string, string> {
  const source = join(REPO, 'node_modules/better-sqlite3');
  const name = `better-sqlite3-v${versionOf(source)}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-czf', join(dir, name), '-C', source, 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/**
 * Installs `tarball` (and @types/node, as any TypeScript project has) into a new project at
 * `dir`, install scripts enabled, from npm's cache where it can.
 */
export async function installProject(dir: string, tarball: string, env: Record<string, string>): Promise<RunResult> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'storefront', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  const typesNode = `@types/node@${versionOf(join(REPO, 'node_modules/@types/node'))}`;
  return npm(['install', tarball, typesNode, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env });
}

/** Copies the storefronts into the project, and the plugin package into its node_modules. */
export function addFixtures(dir: string): void {
  cpSync(join(FIXTURES, 'storefront'), dir, { recursive: true });
  cpSync(join(FIXTURES, 'acme-plugin'), join(dir, 'node_modules/acme-plugin'), { recursive: true });
}

/** The repository's tsc (the project has no TypeScript of its own: it is a dev tool here). */
export function tsc(dir: string, project: string): Promise<RunResult> {
  return run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', project, '--pretty', 'false'], { cwd: dir });
}

/**
 * The storefront with its `@ts-expect-error` line removed, and a tsconfig that checks only that
 * copy: the error the directive expects must then be reported, on the line below it.
 * Returns the tsconfig's name and the (1-based) line of the field in the copy.
 */
export function unmarkedStorefront(dir: string): { project: string; line: number } {
  const lines = readFileSync(join(dir, 'src/storefront.ts'), 'utf8').split('\n');
  const directive = lines.findIndex((line) => line.includes('@ts-expect-error'));
  if (directive < 0) throw new Error('the storefront fixture has no @ts-expect-error line');
  lines.splice(directive, 1);
  writeFileSync(join(dir, 'src/storefront-unmarked.ts'), lines.join('\n'));
  const config = { extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: ['src/storefront-unmarked.ts'] };
  writeFileSync(join(dir, 'tsconfig.unmarked.json'), JSON.stringify(config));
  return { project: 'tsconfig.unmarked.json', line: directive + 1 };
}
