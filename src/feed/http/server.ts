/**
 * `startFeedServer`: the AtomPub server over a {@link FeedStore} (node:http/https, no framework:
 * five routes do not need one, and reading the body ourselves lets an oversized entry be refused
 * before it is buffered). Routes and their answers are in routes.ts; docs/feed.md describes the API.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FeedStore } from '../store.ts';
import { resolveFeedServerOptions, type FeedServerOptions } from './options.ts';
import { GroupAppender } from './appender.ts';
import { handle, type Answer, type RouteContext } from './routes.ts';
import { problemOf } from './problems.ts';

/** A running feed server. */
export interface FeedServer {
  /** The address it listens on, e.g. `http://127.0.0.1:41234` (links use `publicUrl` when configured). */
  readonly url: string;
  /** The base of the links it writes. */
  readonly publicUrl: string;
  /** Stops accepting, closes every connection; the store is left open (the caller owns it). */
  close(): Promise<void>;
}

/**
 * Starts the feed server on `store`. Fails with FEED_SERVER_OPTION on invalid options, among
 * them a non-loopback `listen.host` without `tls`.
 */
export async function startFeedServer(store: FeedStore, options: FeedServerOptions): Promise<FeedServer> {
  const resolved = resolveFeedServerOptions(options);
  let publicUrl = resolved.publicUrl ?? '';
  const appender = new GroupAppender(store);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    serve({ store, options: resolved, publicUrl, appender }, req, res).catch((error: unknown) => {
      resolved.log?.error('feed server: request failed', { error: String(error) });
      if (!res.headersSent) send(res, 'GET', jsonProblem(problemOf(error)));
      else res.destroy();
    });
  };
  const server: Server = resolved.tls === undefined
    ? createHttpServer(onRequest)
    : createHttpsServer({ cert: resolved.tls.cert, key: resolved.tls.key }, onRequest);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.listen.port, resolved.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${resolved.tls === undefined ? 'http' : 'https'}://${host}:${address.port}`;
  publicUrl = (resolved.publicUrl ?? url).replace(/\/+$/, '');
  resolved.log?.info('feed server listening', { url, publicUrl, clients: resolved.clients.length });
  return {
    url,
    publicUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { options } = ctx;
  const method = req.method ?? 'GET';
  const answer = await handle(ctx, req);
  if (answer.status >= 500) {
    options.log?.error('feed request failed', { method, path: pathOnly(req.url), status: answer.status, code: answer.code });
  } else if (answer.status >= 400) {
    options.log?.warn('feed request refused', { method, path: pathOnly(req.url), status: answer.status, code: answer.code });
  }
  send(res, method, answer);
}

function send(res: ServerResponse, method: string, answer: Answer): void {
  res.writeHead(answer.status, { ...answer.headers, 'cache-control': 'private, no-cache', 'x-content-type-options': 'nosniff' });
  res.end(method === 'HEAD' || answer.body === undefined ? undefined : answer.body);
}

function jsonProblem(problem: ReturnType<typeof problemOf>): Answer {
  return { status: problem.status, code: problem.body.code, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify(problem.body) };
}

/** The request path without its query (the log never holds ids a client sent as parameters). */
function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0]?.slice(0, 300) ?? '';
}
