#!/usr/bin/env node
// The `paygate` command.
//
// Installed (the package ships dist/, not src/): runs the compiled CLI, dist/src/cli/main.js,
// with plain node; its worker processes are compiled too.
//
// In a checkout (src/cli/main.ts next to this folder) with tsx installed (a devDependency): runs
// the TypeScript sources through tsx's loader, so `npx paygate …`, `npm run demo`, the tests and
// the benchmarks always run the current code, with no build to forget or go stale. The compiled
// CLI of a checkout runs as `node dist/src/cli/main.js …` (after `npm run build`).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const sources = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);

/** tsx's registration API, or undefined when tsx is not installed. */
async function tsxApi() {
  try {
    return await import('tsx/esm/api');
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

const tsx = existsSync(sources) ? await tsxApi() : undefined;
if (tsx !== undefined) {
  tsx.register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    'paygate: the compiled CLI (dist/src/cli/main.js) is missing: run `npm run build` in the paygate folder ' +
      '(or `npm install` there, which builds it), or install tsx to run the sources\n',
  );
  process.exitCode = 1;
}
