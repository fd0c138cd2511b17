/**
 * How the worker names an error in its events and logs: a code and a message with card numbers
 * masked. The error object itself is never passed on: a plugin's exception may quote its input.
 */
import { maskPan } from '../wire/index.ts';

/** An error's `code` (class name when it has none) and its masked message, at most 512 characters. */
export function describeError(error: unknown): { code: string; message: string } {
  const code =
    typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : error instanceof Error
        ? error.name
        : typeof error;
  const text = error instanceof Error ? error.message : String(error);
  return { code: maskPan(code), message: maskPan(text).slice(0, 512) };
}
