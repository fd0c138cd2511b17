/**
 * The package as `npm pack` makes it from this work tree. The tree's files (tracked and untracked,
 * minus what .gitignore leaves out: what a fresh clone or a git dependency would hold, dist/
 * included only as `prepare` rebuilds it) are copied into a staging folder with node_modules
 * linked, and packed there: `prepare` builds dist/ in that copy, so the shared tree's dist/ is
 * never rewritten under the feet of other tests or people.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npm } from './processes.ts';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** What `npm pack --json` says of the tarball. */
export interface PackResult {
  /** Absolute path of the .tgz. */
  readonly tarball: string;
  /** Paths inside the package, as listed by npm. */
  readonly files: readonly string[];
  readonly entryCount: number;
  readonly unpackedSize: number;
  /** Compressed size of the .tgz, bytes. */
  readonly size: number;
}

/** The work tree's files as a fresh clone would hold them (tracked plus new, minus ignored ones). */
function treeFiles(): string[] {
  const listing = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' });
  // A tracked file deleted in the work tree is listed but gone.
  return listing.split('\0').filter((file) => file !== '' && existsSync(join(REPO, file)));
}

/** Copies the work tree into `stage` (node_modules linked, not copied). */
export function stageTree(stage: string): void {
  for (const file of treeFiles()) {
    mkdirSync(dirname(join(stage, file)), { recursive: true });
    cpSync(join(REPO, file), join(stage, file));
  }
  symlinkSync(join(REPO, 'node_modules'), join(stage, 'node_modules'), 'dir');
}

/**
 * `npm pack` in `stage` (its `prepare` builds dist/ there), the tarball written to `destination`.
 * The build's own output precedes npm's JSON on stdout.
 */
export async function pack(stage: string, destination: string): Promise<PackResult> {
  const { stdout } = await npm(['pack', '--json', '--pack-destination', destination], { cwd: stage });
  const json = stdout.slice(stdout.search(/^\[/m));
  const [info] = JSON.parse(json) as [{ filename: string; files: { path: string }[]; entryCount: number; unpackedSize: number; size: number }];
  return {
    tarball: join(destination, info.filename),
    files: info.files.map((file) => file.path),
    entryCount: info.entryCount,
    unpackedSize: info.unpackedSize,
    size: info.size,
  };
}
