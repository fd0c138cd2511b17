/**
 * The verifier's HTTP source: a feed read from `paygate feed` (or any server writing the same
 * Atom), `GET <feed URL>` then each `rel="next"` page, with a Bearer token. One page is held at a
 * time, so a feed of millions of entries is walked in bounded memory.
 *
 * The token goes only where the feed URL points: a `rel="next"` link to another origin is refused
 * (a server cannot send the auditor's token elsewhere), and plain `http:` is refused except to a
 * loopback address.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseAtomFeed, type ParsedFeed } from '../feed/atom.ts';
import type { FeedEntry } from '../feed/index.ts';
import { AuditError } from './errors.ts';
import type { ChainSource } from './sources.ts';

const httpSourceOptionsSchema = z.strictObject({
  /** The Bearer token (a right to `read` the feed). */
  token: z.string().min(1).optional(),
  /** PEM CA certificates for an `https:` server whose certificate is not from a public CA. */
  ca: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  /** Entries per page asked for (`page_size`); the server's default when absent. */
  pageSize: z.number().int().positive().optional(),
  /** The largest page body accepted, in bytes. */
  maxPageBytes: z.number().int().positive().default(256 * 1024 * 1024),
  /** How many recent entries' hashes are kept to tell a reordered entry from an altered one. */
  hashWindow: z.number().int().positive().default(10_000),
  /** How long a page may take to arrive. */
  timeoutMs: z.number().int().positive().default(60_000),
});

/** How the HTTP source reads (defaults may be left out). */
export type HttpSourceOptions = z.input<typeof httpSourceOptionsSchema>;
type ResolvedHttpSourceOptions = z.output<typeof httpSourceOptionsSchema>;

/**
 * A source over `feedUrl` (`https://host/feeds/<name>` or AtomMQ's `…/feed=<name>`).
 * @throws AuditError AUDIT_BAD_OPTION for a URL that names no feed or is plain HTTP off loopback.
 */
export function openHttpSource(feedUrl: string, given: HttpSourceOptions = {}): ChainSource {
  const parsed = httpSourceOptionsSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new AuditError('AUDIT_BAD_OPTION', `invalid HTTP source options: ${problems}`);
  }
  const options = parsed.data;
  const start = parseFeedUrl(feedUrl);
  const feed = feedNameOf(start);
  if (options.pageSize !== undefined) start.searchParams.set('page_size', String(options.pageSize));
  // Hashes of recent entries, of the page in hand and of the page after it (fetched before the
  // one in hand is checked): a swapped entry points at a neighbour's hash, which is then found
  // here even across a page boundary.
  const window = new Map<string, string>();
  const remember = (entries: readonly FeedEntry[]): void => {
    for (const entry of entries) {
      if (entry.hash === undefined) continue;
      window.delete(entry.hash);
      window.set(entry.hash, entry.id);
    }
    while (window.size > options.hashWindow) window.delete(window.keys().next().value as string);
  };
  const load = async (url: URL): Promise<{ entries: FeedEntry[]; next: URL | undefined }> => {
    const page = await fetchPage(url, feed, options);
    const entries = page.entries;
    remember(entries);
    if (page.next === undefined) return { entries, next: undefined };
    // Every page must bring entries and lead elsewhere: a page that leads back to itself, or an
    // empty page that leads on, would have the walk go round for ever without a broken link.
    const next = nextUrl(page.next, start);
    if (next.href === url.href) throw new AuditError('AUDIT_BAD_RESPONSE', `GET ${url.href}: its rel="next" link points back to the page itself`);
    if (entries.length === 0) throw new AuditError('AUDIT_BAD_RESPONSE', `GET ${url.href}: an empty page with a rel="next" link (a feed page with nothing in it ends the feed)`);
    return { entries, next };
  };
  async function* entries(): AsyncGenerator<FeedEntry> {
    let page: { entries: FeedEntry[]; next: URL | undefined } | undefined = await load(start);
    // An entry without hashes in a chained feed had them removed (the verifier reports it
    // altered); a feed is taken for unchained only when no entry of its first page has any.
    const unhashed = page.entries.find((e) => e.prevHash === undefined || e.hash === undefined);
    if (unhashed !== undefined && page.entries.every((e) => e.prevHash === undefined && e.hash === undefined)) {
      throw new AuditError('AUDIT_NOT_CHAINED', `entry ${unhashed.id} (seq ${unhashed.seq}) at ${start.href} has no pg:prev-hash/pg:hash, nor has any entry of its page: the feed is not chained`);
    }
    while (page !== undefined) {
      const following: typeof page | undefined = page.next === undefined ? undefined : await load(page.next);
      yield* page.entries;
      page = following;
    }
  }
  return { feed, where: start.href, lastSeq: undefined, entries, idOfHash: (hash) => window.get(hash), close: () => undefined };
}

function parseFeedUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AuditError('AUDIT_BAD_OPTION', `${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new AuditError('AUDIT_BAD_OPTION', `${url.origin}: plain http is accepted only to a loopback address (the token would travel in clear); use https`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AuditError('AUDIT_BAD_OPTION', `${url.protocol} URLs are not feed URLs`);
  return url;
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function feedNameOf(url: URL): string {
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new AuditError('AUDIT_BAD_OPTION', `${url.href}: the path is not valid percent-encoded UTF-8`);
  }
  const match = /\/(?:feeds\/|feed=)([A-Za-z0-9._-]{1,128})\/?$/.exec(path);
  if (match?.[1] === undefined) throw new AuditError('AUDIT_BAD_OPTION', `${url.href} names no feed (expected …/feeds/<name> or …/feed=<name>)`);
  return match[1];
}

function nextUrl(href: string, start: URL): URL {
  let next: URL;
  try {
    next = new URL(href, start);
  } catch {
    throw new AuditError('AUDIT_BAD_RESPONSE', `the rel="next" link ${JSON.stringify(href.slice(0, 200))} is not a URL`);
  }
  if (next.origin !== start.origin) {
    throw new AuditError('AUDIT_BAD_RESPONSE', `the rel="next" link points to ${next.origin}, not to ${start.origin}: not followed (the token is for ${start.origin} only)`);
  }
  return next;
}

async function fetchPage(url: URL, feed: string, options: ResolvedHttpSourceOptions): Promise<ParsedFeed> {
  const { status, type, body } = await get(url, options);
  if (status !== 200) throw new AuditError('AUDIT_SOURCE_FAILED', `GET ${url.href}: ${status}${problemText(type, body)}`);
  let page: ParsedFeed;
  try {
    page = parseAtomFeed(body.toString('utf8'));
  } catch (error) {
    throw new AuditError('AUDIT_BAD_RESPONSE', `GET ${url.href}: not an Atom feed page: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (page.feed !== feed) throw new AuditError('AUDIT_BAD_RESPONSE', `GET ${url.href}: the page is of feed ${page.feed}, not ${feed}`);
  return page;
}

/** `: title (CODE): detail` of an application/problem+json body, else nothing (a body is never echoed raw). */
function problemText(type: string, body: Buffer): string {
  if (!type.startsWith('application/problem+json')) return '';
  try {
    const p = JSON.parse(body.toString('utf8')) as { title?: unknown; code?: unknown; detail?: unknown };
    const show = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 300) : '');
    return `: ${show(p.title)}${typeof p.code === 'string' ? ` (${show(p.code)})` : ''}${typeof p.detail === 'string' ? `: ${show(p.detail)}` : ''}`;
  } catch {
    return '';
  }
}

function get(url: URL, options: ResolvedHttpSourceOptions): Promise<{ status: number; type: string; body: Buffer }> {
  const max = options.maxPageBytes;
  const headers: Record<string, string> = { accept: 'application/atom+xml' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const failed = (error: unknown): void => reject(new AuditError('AUDIT_SOURCE_FAILED', `GET ${url.href}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          res.destroy();
          reject(new AuditError('AUDIT_BAD_RESPONSE', `GET ${url.href}: the page is larger than ${max} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', failed);
    };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, { headers, ...(options.ca === undefined ? {} : { ca: options.ca }) }, onResponse)
      : httpRequest(url, { headers }, onResponse);
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', failed);
    req.end();
  });
}
