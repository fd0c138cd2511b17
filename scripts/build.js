#!/usr/bin/env node
// `npm run build` (and `prepare`): compiles src/ and providers/ into dist/ with tsc
// (tsconfig.build.json), then copies the other files of those folders next to the compiled code
// (the card plugin's WSDL, which it reads at run time; the plugins' READMEs). dist/ is emptied first, so a renamed or deleted source leaves nothing behind.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
/** Source folders compiled; every file in them that is not TypeScript is an asset. */
const SOURCES = ['src', 'providers'];

rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  process.stderr.write('build: tsc failed (see above); dist/ is incomplete\n');
  process.exit(compiled.status ?? 1);
}
let copied = 0;
for (const folder of SOURCES) {
  for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const from = join(entry.parentPath ?? entry.path, entry.name); // `path` before Node 20.12
    const to = join(out, relative(root, from));
    // Only next to compiled code: a folder the build leaves out (providers/_template) stays out.
    if (!existsSync(dirname(to))) continue;
    cpSync(from, to);
    copied += 1;
  }
}
process.stdout.write(`build: dist/ compiled, ${copied} asset files copied\n`);
