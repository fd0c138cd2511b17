/**
 * How the PostgreSQL engine names its failures: every one becomes `STORE_FAILED` (with the
 * driver's error as its cause), and is classified as LASTING (the database is unreachable, shut
 * down, out of resources, failing I/O: the worker stops claiming and probes until a write works
 * again) or TRANSIENT (contention, a slow statement: the message is NACKed and redelivered, as
 * after any single failed write).
 *
 * A connection URL carries the password: it is masked wherever a URL is shown, and removed from
 * any driver message before the message is ours.
 */
import { WorkerError } from './errors.ts';

/** `postgres://user:***@host:port/db`: the URL as it may be shown (logs, errors, CLI output). */
export function maskPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable as a URL: show the scheme and host part only, never what could be a password.
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** The password a URL holds (decoded), or undefined. */
export function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** `text` with every occurrence of `secret` (and of its URL-encoded form) replaced by `***`. */
export function withoutSecret(text: string, secret: string | undefined): string {
  if (secret === undefined || secret === '') return text;
  return text.split(secret).join('***').split(encodeURIComponent(secret)).join('***');
}

/** Node's socket errors that mean the server cannot be reached (or the connection was lost). */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL',
]);

/**
 * SQLSTATEs that last until someone acts: connection exceptions (08), the server shutting down
 * or not accepting connections yet (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
 * connect now, 57P04 database dropped), insufficient resources (53: disk full, out of memory, too
 * many connections), system I/O errors (58), internal errors (XX: data corrupted), a login that
 * no longer works (28) and a database that does not exist (3D000).
 */
const LASTING_SQLSTATE = /^(08|53|58|XX|28)...$|^57P0[1-4]$|^3D000$/;

/**
 * The driver's own failures without a SQLSTATE that mean the connection is gone or the server
 * does not answer: a connection lost mid-query, a client the pool can no longer use, a connect
 * that timed out, a query the server never answered. NOT "timeout exceeded when trying to
 * connect": that is the pool's queue (every connection busy), i.e. contention.
 */
const LASTING_MESSAGE = /Connection terminated|Connection ended|not queryable|connection timeout|Query read timeout/i;

/**
 * Whether `error` (a driver error) means the database is unusable until something changes, so
 * the worker should stop claiming and probe instead. Contention — serialization failures
 * (40001), deadlocks (40P01), a lock not available (55P03) — and a statement cancelled by
 * `statement_timeout` (57014: a lock held by a slow transaction) clear by themselves: false.
 */
export function isLastingFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return LASTING_SQLSTATE.test(code);
  }
  if (error instanceof AggregateError) return error.errors.some(isLastingFailure);
  return error instanceof Error && LASTING_MESSAGE.test(error.message);
}

/** The driver error's message with its SQLSTATE or errno, the password removed. */
export function describeDriverError(error: unknown, password: string | undefined): string {
  if (!(error instanceof Error)) return withoutSecret(String(error), password);
  const code = (error as { code?: unknown }).code;
  // AggregateError (a host that resolves to several addresses) has an empty message of its own.
  const message = error.message !== '' ? error.message : error instanceof AggregateError ? error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ') : error.name;
  return withoutSecret(typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message, password);
}

/**
 * `STORE_FAILED` for a failure of `what`, the driver's error as its cause (with the password
 * removed from the cause's message too, should a driver ever quote it). A `WorkerError` (the
 * engine's own, e.g. `IDEMPOTENCY_NOT_HELD`) is returned as it is.
 */
export function storeFailure(what: string, error: unknown, password: string | undefined): WorkerError {
  if (error instanceof WorkerError) return error;
  if (error instanceof Error && password !== undefined) {
    error.message = withoutSecret(error.message, password);
    if (error.stack !== undefined) error.stack = withoutSecret(error.stack, password);
  }
  return new WorkerError('STORE_FAILED', `${what}: idempotency store (PostgreSQL) failure: ${describeDriverError(error, password)}`, { cause: error });
}
