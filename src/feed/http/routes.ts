/**
 * The feed server's routes, each a function from a request to an {@link Answer}:
 *
 * - `GET /`: an AtomPub service document listing the feeds the token may read.
 * - `GET /feeds/<name>` (alias `/feed=<name>`): a page, oldest first (`start_after`, `start_at`,
 *   `page_size`), ETag and 304.
 * - `POST /feeds/<name>` (alias `/feed=<name>`): appends an Atom entry, 201 + Location (an
 *   entry shaped as a signed checkpoint is refused: 403).
 * - `GET /feeds/<name>/entries/<id>`: one entry.
 *
 * Order of checks: authentication (401), route (404/405), right on the feed (403), then input
 * and the store, so a client without rights learns nothing about which feeds exist.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ATOM_MEDIA_TYPE, entryTagId, entryUrl, parseAtomEntry, renderEntry, renderFeed, renderService } from '../atom.ts';
import { FeedError } from '../errors.ts';
import { FeedProtocolError } from '../protocol-errors.ts';
import type { FeedStore, PageQuery } from '../store.ts';
import type { GroupAppender } from './appender.ts';
import { allowed, authenticate, requireRight, type FeedClient } from './auth.ts';
import { readBody } from './body.ts';
import type { ResolvedFeedServerOptions } from './options.ts';
import { make, problemOf, type Problem } from './problems.ts';

/** What the server writes back. */
export interface Answer {
  readonly status: number;
  /** The FEED_* code of an error answer (for the log). */
  readonly code?: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** What every route needs. */
export interface RouteContext {
  readonly store: FeedStore;
  readonly options: ResolvedFeedServerOptions;
  readonly publicUrl: string;
  /** Where POSTs append (group commit over `store`). */
  readonly appender: GroupAppender;
}

type Route = { kind: 'service' } | { kind: 'feed'; feed: string } | { kind: 'entry'; feed: string; id: string };

/**
 * What marks an entry as a signed checkpoint to the verifier (src/audit/checkpoint.ts, which this
 * layer may not import; test/feed/http/server.test.ts holds the two to the same values). A client
 * posting one would raise a false alarm in every verification.
 */
const CHECKPOINT_TITLE = 'checkpoint';
const CHECKPOINT_CONTENT_TYPE = 'application/json';

const FEED_TYPE = `${ATOM_MEDIA_TYPE};type=feed;charset=utf-8`;
const ENTRY_TYPE = `${ATOM_MEDIA_TYPE};type=entry;charset=utf-8`;

/** Answers one request; never throws (failures become problem documents). */
export async function handle(ctx: RouteContext, req: IncomingMessage): Promise<Answer> {
  try {
    const client = authenticate(ctx.options.clients, req.headers.authorization);
    const url = new URL(req.url ?? '/', 'http://feed.invalid');
    const route = matchRoute(url.pathname);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (route === undefined) throw new RouteError(make(404, 'FEED_BAD_REQUEST', 'no such resource: use /feeds/<name>, /feed=<name> or /feeds/<name>/entries/<id>'));
    const allow = route.kind === 'feed' ? 'GET, HEAD, POST' : 'GET, HEAD';
    if (method !== 'GET' && !(method === 'POST' && route.kind === 'feed')) {
      const answer = problemAnswer(make(405, 'FEED_BAD_REQUEST', `${String(req.method).slice(0, 16)} is not allowed here (allowed: ${allow})`));
      return { ...answer, headers: { ...answer.headers, allow } };
    }
    if (route.kind === 'service') return service(ctx, client, req);
    if (route.kind === 'entry') return getEntry(ctx, client, route.feed, route.id, req);
    return method === 'POST' ? await postEntry(ctx, client, route.feed, req) : getFeed(ctx, client, route.feed, url.searchParams, req);
  } catch (error) {
    if (error instanceof RouteError) return problemAnswer(error.problem);
    const answer = problemAnswer(problemOf(error));
    // The answer says only "see the log": the cause goes there (messages name ids, never content).
    if (answer.status === 500) ctx.options.log?.error('feed server error', { error: String(error) });
    if (answer.status === 401) return { ...answer, headers: { ...answer.headers, 'www-authenticate': 'Bearer realm="paygate-feed"' } };
    if (answer.status === 413) return { ...answer, headers: { ...answer.headers, connection: 'close' } };
    // A store failure is transient (a held lock, a full disk being cleared): say when to retry.
    if (answer.status === 503) return { ...answer, headers: { ...answer.headers, 'retry-after': '1' } };
    return answer;
  }
}

/** A problem to answer as is (its status chosen by the route, not by its code). */
class RouteError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.body.detail);
  }
}

function problemAnswer(problem: Problem): Answer {
  return { status: problem.status, code: problem.body.code, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify(problem.body) };
}

function matchRoute(pathname: string): Route | undefined {
  if (pathname === '/') return { kind: 'service' };
  const alias = /^\/feed=([^/]+)$/.exec(pathname);
  if (alias !== null) return { kind: 'feed', feed: decode(alias[1] as string) };
  const feed = /^\/feeds\/([^/]+)$/.exec(pathname);
  if (feed !== null) return { kind: 'feed', feed: decode(feed[1] as string) };
  const entry = /^\/feeds\/([^/]+)\/entries\/([^/]+)$/.exec(pathname);
  if (entry !== null) return { kind: 'entry', feed: decode(entry[1] as string), id: decode(entry[2] as string) };
  return undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FeedProtocolError('FEED_BAD_REQUEST', 'the path is not valid percent-encoded UTF-8');
  }
}

function service(ctx: RouteContext, client: FeedClient, req: IncomingMessage): Answer {
  const feeds = ctx.store.feeds().map((f) => f.name).filter((name) => allowed(client, name, 'read'));
  const body = renderService(feeds, ctx);
  return conditional(req, `"s.${hashOf(body)}"`, { 'content-type': 'application/atomsvc+xml;charset=utf-8' }, body);
}

function getFeed(ctx: RouteContext, client: FeedClient, feed: string, params: URLSearchParams, req: IncomingMessage): Answer {
  requireRight(client, feed, 'read');
  const query = pageQuery(ctx, feed, params);
  // The tag is read before the page: if an append lands in between, the page is newer than its
  // tag, and the client's next conditional request simply gets a 200.
  const etag = ctx.store.etag(feed, query);
  // The start entry must exist before any tag is compared: `If-None-Match: *` matches every tag,
  // and must not turn an unknown id into a 304.
  for (const id of [query.startAfter, query.startAt]) if (id !== undefined) ctx.store.get(feed, id);
  if (matches(req.headers['if-none-match'], etag)) return { status: 304, headers: { etag } };
  const page = ctx.store.page(feed, query);
  const updated = page.entries.at(-1)?.time ?? ctx.store.feeds().find((f) => f.name === feed)?.created ?? new Date(0).toISOString();
  const shown = params.has('page_size') ? query : { ...query, pageSize: undefined };
  const body = renderFeed({ name: feed, entries: page.entries, updated, query: dropUndefined(shown), ...(page.next === undefined ? {} : { next: page.next }) }, ctx);
  return { status: 200, headers: { 'content-type': FEED_TYPE, etag }, body };
}

function getEntry(ctx: RouteContext, client: FeedClient, feed: string, id: string, req: IncomingMessage): Answer {
  requireRight(client, feed, 'read');
  try {
    const entry = ctx.store.get(feed, shortId(feed, id));
    // Entries never change: the id is a strong tag.
    return conditional(req, `"e.${entry.id}"`, { 'content-type': ENTRY_TYPE }, renderEntry(entry, ctx));
  } catch (error) {
    if (error instanceof FeedError && error.code === 'FEED_UNKNOWN_ENTRY') throw new RouteError(problemOf(error, 404));
    throw error;
  }
}

async function postEntry(ctx: RouteContext, client: FeedClient, feed: string, req: IncomingMessage): Promise<Answer> {
  if (ctx.options.protectedFeeds.includes(feed)) {
    throw new FeedProtocolError('FEED_FORBIDDEN', `feed ${feed} is written only by the events consumer: HTTP appends are refused`);
  }
  requireRight(client, feed, 'append');
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== ATOM_MEDIA_TYPE) {
    throw new FeedProtocolError('FEED_UNSUPPORTED_MEDIA_TYPE', `send the entry as ${ATOM_MEDIA_TYPE} (got ${JSON.stringify(type?.slice(0, 80) ?? '')})`);
  }
  const xml = await readBody(req, ctx.options.maxEntryBytes);
  const parsed = parseAtomEntry(xml, { maxBytes: ctx.options.maxEntryBytes });
  if (parsed.title === CHECKPOINT_TITLE && parsed.contentType.toLowerCase() === CHECKPOINT_CONTENT_TYPE) {
    throw new FeedProtocolError('FEED_FORBIDDEN', `an entry titled "${CHECKPOINT_TITLE}" with ${CHECKPOINT_CONTENT_TYPE} content is what a signed checkpoint looks like: only the feed's checkpointer writes one, never an HTTP client`);
  }
  const entry = await ctx.appender.append(feed, parsed);
  return {
    status: 201,
    headers: { 'content-type': ENTRY_TYPE, location: entryUrl(ctx, feed, entry.id), 'content-location': entryUrl(ctx, feed, entry.id), etag: `"e.${entry.id}"` },
    body: renderEntry(entry, ctx),
  };
}

/** AtomMQ's query: `start_after` xor `start_at` (short or full tag id), `page_size` 1..max. */
function pageQuery(ctx: RouteContext, feed: string, params: URLSearchParams): PageQuery {
  for (const name of ['start_after', 'start_at', 'page_size']) {
    if (params.getAll(name).length > 1) throw new FeedProtocolError('FEED_BAD_REQUEST', `${name} is given more than once`);
  }
  const startAfter = params.get('start_after');
  const startAt = params.get('start_at');
  if (startAfter !== null && startAt !== null) throw new FeedError('FEED_BAD_QUERY', 'give start_after or start_at, not both');
  const size = params.get('page_size');
  let pageSize = ctx.options.defaultPageSize;
  if (size !== null) {
    if (!/^[0-9]{1,10}$/.test(size) || Number(size) < 1 || Number(size) > ctx.options.maxPageSize) {
      throw new FeedError('FEED_BAD_PAGE_SIZE', `page_size must be an integer from 1 to ${ctx.options.maxPageSize}`);
    }
    pageSize = Number(size);
  }
  return dropUndefined({
    pageSize,
    startAfter: startAfter === null ? undefined : shortId(feed, startAfter),
    startAt: startAt === null ? undefined : shortId(feed, startAt),
  });
}

/** An entry id as given: the store's short id, or the full `tag:` id of an entry of this feed. */
function shortId(feed: string, id: string): string {
  const prefix = entryTagId(feed, '');
  const short = id.startsWith(prefix) ? id.slice(prefix.length) : id;
  if (short.length === 0 || short.length > 64) throw new FeedError('FEED_UNKNOWN_ENTRY', `no entry ${JSON.stringify(short.slice(0, 64))} in feed ${feed}`);
  return short;
}

function dropUndefined(query: { pageSize?: number | undefined; startAfter?: string | undefined; startAt?: string | undefined }): PageQuery {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as PageQuery;
}

function conditional(req: IncomingMessage, etag: string, headers: Record<string, string>, body: string): Answer {
  if (matches(req.headers['if-none-match'], etag)) return { status: 304, headers: { etag } };
  return { status: 200, headers: { ...headers, etag }, body };
}

/** If-None-Match (RFC 9110 §13.1.2): `*` or a list of tags, compared weakly. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const strip = (t: string): string => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => strip(t) === strip(etag));
}

function hashOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 22);
}
