/**
 * `--pid-file FILE` of the long-running commands (`gateway`, `broker`, `demo`): the process's pid,
 * one line, for `kill -TERM $(cat FILE)` and service managers.
 *
 * - Written whole (a temporary file renamed over it): a reader never sees half a number.
 * - Refused (`PID_FILE_IN_USE`) when the file holds the pid of a process still running: two
 *   brokers or gateways started with the same pid file would leave the file naming only one of
 *   them, and a `kill $(cat FILE)` would stop the wrong one. A file left by a process that died
 *   (SIGKILL, a crash, a reboot) is taken over.
 * - Removed when the process exits, however it exits short of SIGKILL, and only while it still
 *   holds our pid (if someone replaced it, it is theirs).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { CliError, unwritable } from './errors.ts';

/** Whether a process with this pid exists (EPERM: it does, under another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a pid file holds, or undefined when it is missing, unreadable or not a pid. */
function heldPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // missing, or a folder: the write below reports what is wrong
  }
  const match = /^\s*(\d{1,10})\s*$/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Writes this process's pid to `path` and removes the file at exit.
 *
 * @param option the flag, for messages (`--pid-file`)
 * @returns a function that removes the file now (it is removed at exit anyway)
 * @throws CliError `PID_FILE_IN_USE` when a running process holds the file; `FILE_UNWRITABLE`
 *   when it cannot be written (missing folder, permissions).
 */
export function claimPidFile(option: string, path: string): () => void {
  const holder = heldPid(path);
  if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
    throw new CliError('PID_FILE_IN_USE', option, path, `held by process ${holder}, which is running: stop it first, or give another file`);
  }
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${process.pid}\n`, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw unwritable(option, path, error);
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // A pid file we cannot remove names a dead process, which the next start takes over.
    if (heldPid(path) === process.pid) removeQuietly(path);
  };
  process.on('exit', release);
  return release;
}

/** Removes a file, ignoring every failure (it may not exist, or its folder may not). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing to clean up, or nothing we can do
  }
}
