/**
 * What every paygate sub-command shares: reading input (file or stdin), writing output (file or
 * stdout), files named by flags, and turning a typed error into one stderr line and exit code 2.
 *
 * Every file a flag names goes through these helpers, so that a missing, unreadable or
 * unwritable file is always `FILE_UNREADABLE` / `FILE_UNWRITABLE` naming the flag, the path and
 * the reason, never a stack trace.
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { PaygateError } from '../errors.ts';
import { unreadable, unwritable } from './errors.ts';

/** Exit code for "you called me wrong or the input was refused", as opposed to 1 for a crash. */
export const REFUSED_EXIT_CODE = 2;

/** commander option parser for a repeatable option (`--trust a --trust b`): collects the values. */
export const repeatable = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The bytes of the file `option` names, or of stdin when no path is given (or it is `-`). */
export async function readInput(option: string, path: string | undefined): Promise<Buffer> {
  if (path && path !== '-') return readOptionFile(option, path);
  return buffer(process.stdin); // bytes as they are: DER and UTF-8 must not be re-decoded
}

/** Write to the file `option` names, or to stdout when no path is given (or it is `-`). */
export function writeOutput(option: string, path: string | undefined, data: string | Buffer): void {
  if (!path || path === '-') {
    process.stdout.write(data);
    return;
  }
  try {
    writeFileSync(path, data);
  } catch (error) {
    throw unwritable(option, path, error);
  }
}

/** Read a file named by an option. @throws CliError `FILE_UNREADABLE` naming the option, the path and why. */
export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw unreadable(option, path, error);
  }
}

/**
 * Check that a file another module will read (a config file) can be read, so that a wrong path
 * is refused as the flag's problem rather than as a config problem. Reading it whole is the only
 * check that cannot disagree with the real read (permissions, ACLs, a folder, a FIFO); config
 * files are small.
 */
export function checkReadable(option: string, path: string): void {
  readOptionFile(option, path);
}

/**
 * Make sure the folder `option` names exists (created with its parents when missing) and that we
 * may create files in it. @throws CliError `FILE_UNWRITABLE`.
 */
export function ensureWritableDir(option: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw unwritable(option, dir, error);
  }
}

/**
 * Run a command action; a PaygateError becomes `paygate: CODE: message` on stderr and exit 2.
 * Anything else is a bug and keeps its stack trace (exit 1).
 */
export function guarded<A extends unknown[]>(action: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      if (!(error instanceof PaygateError)) throw error;
      reportRefusal(error);
    }
  };
}

/** `paygate: CODE: message` on stderr and exit code 2. */
export function reportRefusal(error: PaygateError): void {
  process.stderr.write(`paygate: ${error.code}: ${error.message}\n`);
  process.exitCode = REFUSED_EXIT_CODE;
}
