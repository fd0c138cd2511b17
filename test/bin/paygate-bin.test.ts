/**
 * bin/paygate.js picks what it runs by what is next to it: the compiled CLI in an installed
 * package (dist/, no src/), the TypeScript sources through tsx in a checkout that has tsx, the
 * compiled CLI in a checkout without tsx, and a message (exit 1) when there is neither. The real
 * bin file is copied into temp package layouts whose CLI entries say which one ran.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/pki.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx', import.meta.url));

interface Layout {
  readonly compiled?: boolean;
  readonly sources?: boolean;
  readonly tsx?: boolean;
}

/** A package folder with bin/paygate.js and what `layout` asks for; each CLI entry prints its kind. */
function packageFolder(layout: Layout): string {
  const dir = makeTempDir('bin');
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('package.json', JSON.stringify({ name: 'paygate', type: 'module' }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(BIN, join(dir, 'bin', 'paygate.js'));
  if (layout.compiled === true) write('dist/src/cli/main.js', "process.stdout.write('compiled ' + process.argv.slice(2).join(' '));\n");
  // A type annotation: only tsx (not plain node 20) runs this file.
  if (layout.sources === true) write('src/cli/main.ts', "const kind: string = 'sources';\nprocess.stdout.write(kind + ' ' + process.argv.slice(2).join(' '));\n");
  if (layout.tsx === true) {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(TSX, join(dir, 'node_modules', 'tsx'), 'dir');
  }
  return dir;
}

async function run(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, NODE_OPTIONS: '' };
  return promisify(execFile)(process.execPath, [join(dir, 'bin', 'paygate.js'), 'gateway', '--help'], { cwd: dir, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('bin/paygate.js', () => {
  it('installed (dist/, no src/): runs the compiled CLI with its arguments', async () => {
    expect(await run(packageFolder({ compiled: true }))).toMatchObject({ code: 0, stdout: 'compiled gateway --help' });
  });

  it('installed with tsx around: still the compiled CLI (there are no sources)', async () => {
    expect(await run(packageFolder({ compiled: true, tsx: true }))).toMatchObject({ code: 0, stdout: 'compiled gateway --help' });
  });

  it('a checkout with tsx: the sources, even when a (possibly stale) dist/ exists', async () => {
    expect(await run(packageFolder({ compiled: true, sources: true, tsx: true }))).toMatchObject({ code: 0, stdout: 'sources gateway --help' });
  });

  it('a checkout without tsx: the compiled CLI', async () => {
    expect(await run(packageFolder({ compiled: true, sources: true }))).toMatchObject({ code: 0, stdout: 'compiled gateway --help' });
  });

  it('neither runnable: exit 1 saying to build, no stack trace', async () => {
    const result = await run(packageFolder({ sources: true }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('npm run build');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
