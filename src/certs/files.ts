/**
 * Writing a set of certificate and key files all at once, or not at all: `paygate certs init`
 * (the dev PKI) and `paygate certs issue` (one more identity) share it.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CertsError } from './errors.ts';

/** One file to write: keys are private to their owner (0600), certificates public (0644). */
export interface FileToWrite {
  /** Absolute path. */
  path: string;
  content: string;
  mode: 0o600 | 0o644;
}

/**
 * Fails with `CERTS_EXIST` when one of `paths` exists: called before slow key generation, so a
 * refusal costs nothing. {@link writeFilesAtomically} checks again, race-free.
 */
export async function refuseExisting(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    if (await exists(path)) throw existsError(path);
  }
}

/**
 * Writes `files` (all in one folder, created if missing) with their exact modes.
 *
 * Everything is written to temporary files in the folder first and only then moved into place,
 * so a failure or crash leaves no partial set behind. Without `force`, files are moved in with
 * `link()`, which fails if the name exists, so a file that appears meanwhile is not overwritten
 * either (the links already made are then undone).
 *
 * @throws CertsError `CERTS_EXIST` (with `path`) when a target exists and `force` is not set.
 */
export async function writeFilesAtomically(files: readonly FileToWrite[], force: boolean): Promise<void> {
  const first = files[0];
  if (first === undefined) return;
  const dir = dirname(first.path);
  await mkdir(dir, { recursive: true });
  const suffix = `.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const temps = files.map((f) => join(dirname(f.path), `.${basename(f.path)}${suffix}`));
  const targets = files.map((f) => f.path);
  try {
    for (const [i, f] of files.entries()) await writeFileDurably(temps[i]!, f.content, f.mode);
    if (force) {
      for (const [i, target] of targets.entries()) await rename(temps[i]!, target);
    } else {
      await linkAll(temps, targets);
    }
  } finally {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
  }
  await syncDir(dir);
}

/** Links each temp to its target; on the first existing target, removes what it linked so far. */
async function linkAll(temps: string[], targets: string[]): Promise<void> {
  const done: string[] = [];
  try {
    for (const [i, target] of targets.entries()) {
      await link(temps[i]!, target);
      done.push(target);
    }
  } catch (error) {
    await Promise.all(done.map((t) => unlink(t).catch(() => undefined)));
    const target = targets[done.length]!;
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(target);
    throw error;
  }
}

/** Writes with an exact mode (chmod, because `open`'s mode is filtered by the umask) and fsyncs. */
async function writeFileDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable; best effort, since not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some file systems refuse; the files themselves are already synced.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function existsError(path: string): CertsError {
  return new CertsError('CERTS_EXIST', `${path} already exists`, { path });
}
