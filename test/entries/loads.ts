/**
 * What importing a module really loads: a child Node process (with tsx, as the tests run the
 * sources) imports it under fixtures/load-probe.mjs, whose resolve hook reports every ESM module
 * resolved and which then reports every CommonJS module in require.cache.
 */
import { execFile } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The TypeScript loader's own packages: a test artefact, not something the module loads. */
const LOADER_PACKAGES = new Set(['tsx', 'esbuild', 'get-tsconfig', 'resolve-pkg-maps']);

/** What a set of imports loaded: npm packages by name, and files of this repository by repo path. */
export interface Loaded {
  readonly packages: readonly string[];
  readonly files: readonly string[];
}

/** Imports `modules` (repo paths) together in a fresh process and reports what came with them. */
export async function loadedBy(modules: readonly string[]): Promise<Loaded> {
  const { stderr } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/load-probe.mjs', import.meta.url))], {
    cwd: ROOT,
    env: { ...process.env, PAYGATE_PROBE_IMPORTS: modules.map((m) => `${ROOT}${m}`).join(',') },
  });
  const urls = stderr.split('\n').flatMap((line) => (line.startsWith('paygate-load file:') ? [line.slice('paygate-load '.length)] : []));
  const packages = new Set<string>();
  const files = new Set<string>();
  for (const url of urls) {
    const path = fileURLToPath(url);
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (match !== null) {
      if (!LOADER_PACKAGES.has(match[1] as string)) packages.add(match[1] as string);
    } else if (path.startsWith(ROOT)) {
      files.add(relative(ROOT, path));
    }
  }
  return { packages: [...packages].sort(), files: [...files].sort() };
}
