/**
 * The supervisor's status endpoint: `GET /healthz` for load balancers and orchestrators,
 * `GET /metrics` for Prometheus. Plain node:http, read-only, no request bodies, nothing but these
 * two routes; it binds to 127.0.0.1 by default because metrics describe the deployment and
 * nothing here authenticates the caller.
 *
 * A failing health check or metrics collection answers 500 with a short fixed body: the
 * exception's message is never sent (it may name paths or hosts) and never crashes the
 * supervisor; `onError` receives it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { PaygateError } from '../errors.ts';
import { GatewayMetrics } from './metrics.ts';

/** Stable codes of {@link StatusServerError}. */
export const STATUS_SERVER_ERROR_CODES = [
  /** The status server cannot listen on its host and port (port in use, permission, unknown host); the message names both and the OS error code. */
  'STATUS_SERVER_LISTEN',
  /** The options of `startStatusServer` do not validate (the message names the paths). */
  'STATUS_SERVER_BAD_OPTIONS',
] as const;

/** One of {@link STATUS_SERVER_ERROR_CODES}. */
export type StatusServerErrorCode = (typeof STATUS_SERVER_ERROR_CODES)[number];

/** A typed failure of the status server. */
export class StatusServerError extends PaygateError {
  declare readonly code: StatusServerErrorCode;

  constructor(code: StatusServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * What `health()` reports. `ok` and `degraded` answer HTTP 200 (the supervisor still serves;
 * `degraded` says it does so short of workers or of a broker), `down` answers 503. Other fields
 * are free-form and sent as JSON.
 */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'down';
  readonly [key: string]: unknown;
}

/** What failed, as `onError` is told: a route's handler, or the server itself (a failed write, an accept error). */
export type StatusErrorSource = '/healthz' | '/metrics' | 'server';

/**
 * Options of {@link startStatusServer}, with their defaults (here and nowhere else).
 *
 * - `host` (default `127.0.0.1`): the address to bind; keep it local unless a firewall guards it.
 * - `port` (default 9464, the port registered for Prometheus exporters of this kind; 0 = any free port).
 * - `metrics`: the pool's {@link GatewayMetrics}.
 * - `health`: called on every `/healthz` request; it should be cheap and synchronous.
 * - `onError` (optional): told when `health()` or `metrics.text()` threw (the client got a 500),
 *   or the server itself failed (`'server'`). It must not throw; if it does, that is ignored.
 */
export const statusServerOptionsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65_535).default(9464),
  metrics: z.instanceof(GatewayMetrics, { message: 'a GatewayMetrics instance' }),
  health: z.custom<() => HealthReport>((value) => typeof value === 'function', 'a function returning a HealthReport'),
  onError: z.custom<(error: unknown, route: StatusErrorSource) => void>((value) => typeof value === 'function', 'a function').optional(),
});

/** Options of {@link startStatusServer} as written. */
export type StatusServerOptions = z.input<typeof statusServerOptionsSchema>;
type ResolvedOptions = z.output<typeof statusServerOptionsSchema>;

/** A running status server. */
export interface StatusServer {
  /** `http://host:port` of the bound address (IPv6 hosts in brackets). */
  readonly url: string;
  /** The bound address: the host as the OS reports it, and the port (the real one when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /** Stops listening and closes every connection, idle keep-alive ones at once; resolves when all are closed. Idempotent. */
  close(): Promise<void>;
}

/** How long `close()` lets a request being answered finish before its connection is cut. */
const CLOSE_GRACE_MS = 1_000;

const HEALTH_STATUSES: ReadonlySet<unknown> = new Set(['ok', 'degraded', 'down']);

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/**
 * Starts the status server.
 *
 * @throws StatusServerError `STATUS_SERVER_BAD_OPTIONS` for invalid options, `STATUS_SERVER_LISTEN`
 *   when the address cannot be bound (port in use, …).
 */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const resolved = parseOptions(options);
  const server = createServer((req, res) => {
    handle(resolved, req, res).catch((error: unknown) => {
      // Only reached if writing the response itself failed: the socket is the only thing left to clean up.
      report(resolved, error, 'server');
      res.destroy();
    });
  });
  await listen(server, resolved.host, resolved.port);
  // After start-up an 'error' (rare: e.g. EMFILE on accept) must not become an uncaught exception.
  server.on('error', (error) => report(resolved, error, 'server'));
  const bound = server.address() as AddressInfo;
  const host = bound.address;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    address: { host, port: bound.port },
    close: () => (closing ??= closeServer(server)),
  };
}

function parseOptions(options: StatusServerOptions): ResolvedOptions {
  const parsed = statusServerOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(options)'}: ${issue.message}`);
    throw new StatusServerError('STATUS_SERVER_BAD_OPTIONS', `invalid status server options: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      reject(new StatusServerError('STATUS_SERVER_LISTEN', `status server cannot listen on ${where}: ${error.code ?? error.message}`, { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // Cuts connections still busy after the grace period; unref'd so it never holds the process open.
    const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    // close() alone waits for keep-alive sockets to time out (5 s by default): close the idle ones now.
    server.closeIdleConnections();
  });
}

async function handle(options: ResolvedOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The path only: a query string (`/metrics?x=1`) does not change the answer.
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/healthz' && path !== '/metrics') {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    return;
  }
  if (path === '/healthz') healthz(options, res);
  else await metrics(options, res);
}

function healthz(options: ResolvedOptions, res: ServerResponse): void {
  let health: HealthReport;
  let body: string;
  try {
    health = options.health();
    if (typeof health !== 'object' || health === null || !HEALTH_STATUSES.has(health.status)) {
      throw new TypeError("health() returned no status of 'ok', 'degraded' or 'down'");
    }
    body = JSON.stringify(health);
  } catch (error) {
    report(options, error, '/healthz');
    send(res, 500, 'application/json; charset=utf-8', '{"status":"down","error":"health check failed"}');
    return;
  }
  send(res, health.status === 'down' ? 503 : 200, 'application/json; charset=utf-8', body);
}

async function metrics(options: ResolvedOptions, res: ServerResponse): Promise<void> {
  let body: string;
  try {
    body = await options.metrics.text();
  } catch (error) {
    report(options, error, '/metrics');
    send(res, 500, 'text/plain; charset=utf-8', 'metrics collection failed\n');
    return;
  }
  send(res, 200, options.metrics.contentType, body);
}

/** Writes a whole response. For HEAD, node:http sends the headers (length included) and drops the body. */
function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...extra,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function report(options: ResolvedOptions, error: unknown, source: StatusErrorSource): void {
  try {
    options.onError?.(error, source);
  } catch {
    // A throwing error hook must not turn a 500 into a crash.
  }
}
