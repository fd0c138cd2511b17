/**
 * What every paygate sub-command shares: reading input (file or stdin), writing output (file or
 * stdout), and turning a typed error into one stderr line and exit code 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buffer } from 'node:stream/consumers';
import { PaygateError } from '../errors.ts';

/** Exit code for "you called me wrong or the input was refused", as opposed to 1 for a crash. */
export const REFUSED_EXIT_CODE = 2;

/** commander option parser for a repeatable option (`--trust a --trust b`): collects the values. */
export const repeatable = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The bytes of `path`, or of stdin when no path is given (or it is `-`). */
export async function readInput(path: string | undefined): Promise<Buffer> {
  if (path && path !== '-') return readFileSync(path);
  return buffer(process.stdin); // bytes as they are: DER and UTF-8 must not be re-decoded
}

/** Write to `path`, or to stdout when no path is given (or it is `-`). */
export function writeOutput(path: string | undefined, data: string | Buffer): void {
  if (path && path !== '-') writeFileSync(path, data);
  else process.stdout.write(data);
}

/** Read a file named by an option, failing with one clear line rather than a stack trace. */
export function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new PaygateError('FILE_UNREADABLE', `${option} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
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
      process.stderr.write(`paygate: ${error.code}: ${error.message}\n`);
      process.exitCode = REFUSED_EXIT_CODE;
    }
  };
}
