/**
 * The connection pool of the PostgreSQL engine (node-postgres), set up once for the store and
 * for `paygate db migrate`:
 *
 * - `statement_timeout` (server side) bounds a statement, a lock wait included;
 * - `query_timeout` (client side) a little longer, for a server that stopped answering at all
 *   (its own timeout cannot fire then): the query fails instead of hanging the worker;
 * - `idle_in_transaction_session_timeout`: a transaction left open by a stalled process, or by a
 *   host that vanished without closing its connections, does not keep its row locks (and every
 *   other host waiting on them) for ever: the server ends it after `statementTimeoutMs`;
 * - TCP keep-alive from 10 s of silence, so an idle pooled connection to a vanished server is
 *   found dead instead of failing the next query after its timeout;
 * - BIGINT (epoch ms) read as a JavaScript number: every time fits in 2^53;
 * - an `error` listener on the pool: a connection that breaks while idle in the pool (the server
 *   restarted, a network blip) is dropped by the pool and must never crash the process. The next
 *   operation opens a new one and reports whatever is wrong then.
 */
import pg from 'pg';
import type { ResolvedPostgresStoreOptions } from './postgres-options.ts';

const INT8 = pg.types.builtins.INT8;

/** Parsers of the pool: node-postgres's defaults, but BIGINT as a number (it returns a string). */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The settings of a pool for `options`; `max` connections (the store's `poolSize` unless given). */
export function poolConfig(options: ResolvedPostgresStoreOptions, max: number = options.poolSize): pg.PoolConfig {
  return {
    connectionString: options.url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // The server's own timeout should fire first (a clean error); this one only when it cannot.
    query_timeout: options.statementTimeoutMs + options.connectTimeoutMs,
    idle_in_transaction_session_timeout: options.statementTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'paygate',
    types,
  };
}

/**
 * A pool for `options`, with `error` listeners that keep a broken connection from crashing the
 * process: the pool's (a connection idle in the pool) and one on every connection for its whole
 * life. The second closes a gap of node-postgres: a connection handed to a waiting caller has the
 * pool's idle listener removed at once, but the caller attaches its own only a turn later, and a
 * server shutting down sends its "terminating connection" (57P01) right after a query's end,
 * often in the same read as it. With no listener between the two, that `error` event was an
 * uncaught exception that killed a worker during a PostgreSQL restart (seen in CI). The
 * connection is unusable afterwards: the next query on it fails, and it is then destroyed.
 */
export function createPool(options: ResolvedPostgresStoreOptions, max?: number): pg.Pool {
  const pool = new pg.Pool(poolConfig(options, max));
  pool.on('error', () => {
    // The pool has already dropped the connection; the next operation reports the cause.
  });
  pool.on('connect', (client) => {
    client.on('error', () => {
      // Whoever uses the connection hears of the failure from its query; nothing to do here.
    });
  });
  return pool;
}
