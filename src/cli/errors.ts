/**
 * The typed errors of the `paygate` command itself: a file named by a flag that cannot be used,
 * and a pid file another live process holds. Each reaches the user as one line,
 * `paygate: CODE: --flag PATH: reason (ERRNO)`, exit 2, never as a stack trace.
 */
import { PaygateError } from '../errors.ts';

/** Stable codes of the command line's own refusals (docs/errors.md). */
export const CLI_ERROR_CODES = [
  /** A file (or folder) a flag names cannot be read. */
  'FILE_UNREADABLE',
  /** A file (or folder) a flag names cannot be written or created. */
  'FILE_UNWRITABLE',
  /** `--pid-file` names a file that holds the pid of a process still running. */
  'PID_FILE_IN_USE',
] as const;

/** One of {@link CLI_ERROR_CODES}. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** A refusal of the command line, naming the flag and the path concerned. */
export class CliError extends PaygateError {
  declare readonly code: CliErrorCode;
  /** The flag that named the file, e.g. `--config`. */
  readonly option: string;
  /** The path as given (or the file inside a named folder that failed). */
  readonly path: string;

  constructor(code: CliErrorCode, option: string, path: string, reason: string, options?: { cause?: unknown }) {
    super(code, `${option} ${path}: ${reason}`, options);
    this.option = option;
    this.path = path;
  }
}

/**
 * The OS error codes a user meets with files, in words. The code itself is kept in the message
 * too: it is what a search engine or a colleague recognises.
 */
const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, a file was expected',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file of that name exists where a directory was expected',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'the file is busy',
  ETXTBSY: 'the file is busy',
};

/** Whether `error` is a failed system call (it carries an OS error code such as `ENOENT`). */
export function isErrnoError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code ?? '');
}

/** `no such file or directory (ENOENT)`: the words for a failed system call, with its code. */
export function reasonOf(error: unknown): string {
  if (!isErrnoError(error)) return error instanceof Error ? error.message : String(error);
  return `${REASONS[error.code] ?? error.message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')} (${error.code})`;
}

/** `FILE_UNREADABLE` for the file `path` that `option` names. */
export function unreadable(option: string, path: string, cause: unknown): CliError {
  return new CliError('FILE_UNREADABLE', option, path, reasonOf(cause), { cause });
}

/** `FILE_UNWRITABLE` for the file `path` that `option` names. */
export function unwritable(option: string, path: string, cause: unknown): CliError {
  return new CliError('FILE_UNWRITABLE', option, path, reasonOf(cause), { cause });
}
