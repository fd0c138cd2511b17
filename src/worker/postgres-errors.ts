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
    // Query parameters are shown by name only: one could hold a secret the options refused.
    for (const name of [...parsed.searchParams.keys()]) parsed.searchParams.set(name, '***');
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

/**
 * The failures that clear by themselves, so the message is NACKed and redelivered: contention —
 * serialization failures (40001), deadlocks (40P01), a lock not available (55P03) — and a
 * statement cancelled by `statement_timeout` (57014: a lock held by a slow transaction).
 */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014']);

/** The pool's own wait for a free connection (every connection busy): contention too. */
const TRANSIENT_MESSAGE = /timeout exceeded when trying to connect/i;

/**
 * Whether `error` (a driver error) means the database is unusable until something changes, so
 * the worker should stop claiming and probe instead. Everything is, but the few failures known
 * to clear by themselves ({@link TRANSIENT_SQLSTATES}, the pool's wait): an error nobody foresaw
 * (a node turned read-only by a failover, 25006; a revoked grant, 42501; a missing table) must
 * never loop every request through the broker while the gateway reports itself healthy. The
 * worker's probe ends the state as soon as a write works again. The engine's own errors
 * (`WorkerError`s such as `IDEMPOTENCY_NOT_HELD`) are answers, not failures: false.
 */
export function isLastingFailure(error: unknown): boolean {
  if (error instanceof WorkerError) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_SQLSTATES.has(code)) return false;
  if (error instanceof AggregateError) return error.errors.length === 0 || error.errors.some(isLastingFailure);
  return !(error instanceof Error && TRANSIENT_MESSAGE.test(error.message));
}

/** Node's socket errors that mean the server cannot be reached (or the connection was lost). */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN',
]);

/**
 * Whether `error` (a driver error) says the server cannot be reached now, rather than that it
 * refused us: no connection (the errnos above, a connect that timed out, a connection cut), or
 * a server shutting down or starting up (57P01–57P03, connection exceptions 08…). A wrong
 * password (28…) or a missing database (3D000) is not: waiting would not help.
 */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isUnreachable);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (UNREACHABLE_ERRNOS.has(code) || /^57P0[1-3]$|^08...$/.test(code))) return true;
  return error instanceof Error && /Connection terminated|connection timeout|timeout expired/i.test(error.message);
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
