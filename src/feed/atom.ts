/**
 * The Atom (RFC 4287) representation of feeds and entries, rendered by the feed server and parsed
 * by its clients (the auditor walks a feed over HTTP with {@link parseAtomFeed}). One module does
 * both so that what is written is exactly what is read back: every stored field of an entry
 * round-trips byte for byte, which lets a reader recompute the chain's hashes from the Atom alone.
 *
 * Mapping (docs/feed.md): feed id `tag:paygate,2026:<feed>`, entry id `tag:paygate,2026:<feed>/<id>`;
 * `<published>` = `<updated>` = the stored time; stored `text/plain` ↔ `type="text"`, `text/html`
 * ↔ `type="html"`, other `text/*` as escaped text with that type, any other media type base64
 * (RFC 4287 §4.1.3.3); CR written as `&#13;` (a literal CR would be normalised away by XML
 * parsers); sequence and hashes in the `pg:` extension namespace.
 */
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { FeedError } from './errors.ts';
import { FeedProtocolError } from './protocol-errors.ts';
import type { FeedEntry, PageQuery } from './store.ts';
import { elementsOf, parseXmlTree, textOf, type XmlElement } from './atom-xml.ts';

/** The Atom namespace. */
export const ATOM_NS = 'http://www.w3.org/2005/Atom';
/** AtomPub's namespace (the service document). */
export const APP_NS = 'http://www.w3.org/2007/app';
/** paygate's extension namespace (`pg:seq`, `pg:prev-hash`, `pg:hash`). */
export const PG_NS = 'urn:uuid:a1869485-40b3-4a75-9a3d-76b7e268990d';
/** The media type of an Atom feed or entry document. */
export const ATOM_MEDIA_TYPE = 'application/atom+xml';
const TAG_PREFIX = 'tag:paygate,2026:';
/** A character outside XML 1.0's Char production (control characters, lone surrogates, U+FFFE/FFFF). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Where links point: the server's configured public base URL (never the request's Host header). */
export interface AtomContext {
  /** e.g. `https://feeds.example.com:8443` (a trailing slash is ignored). */
  readonly publicUrl: string;
}

/** A page of a feed to render. */
export interface FeedDocument {
  readonly name: string;
  readonly entries: readonly FeedEntry[];
  /** The id to continue after (`rel="next"`), when more entries follow. */
  readonly next?: string;
  /** The feed's `<updated>`: the newest entry's time, or the feed's creation time when the page is empty. */
  readonly updated: string;
  /** The query this page answers (for `rel="self"`, and `page_size` carried into `rel="next"`). */
  readonly query?: PageQuery;
}

/** An entry as a client POSTs it. */
export interface ParsedEntry {
  readonly title: string;
  readonly content: string;
  readonly contentType: string;
}

/** A feed document as read back: entries with their short ids, and the `rel="next"` href. */
export interface ParsedFeed {
  /** The feed's name, from its `tag:` id. */
  readonly feed: string;
  readonly entries: FeedEntry[];
  readonly next?: string;
}

/** The feed's Atom id. */
export function feedTagId(feed: string): string {
  return `${TAG_PREFIX}${feed}`;
}

/** An entry's Atom id. */
export function entryTagId(feed: string, id: string): string {
  return `${TAG_PREFIX}${feed}/${id}`;
}

/** The absolute URL of a feed page (`/feeds/<name>?…`). */
export function feedUrl(ctx: AtomContext, feed: string, query: PageQuery = {}): string {
  const url = new URL(`${base(ctx)}/feeds/${encodeURIComponent(feed)}`);
  if (query.startAfter !== undefined) url.searchParams.set('start_after', query.startAfter);
  if (query.startAt !== undefined) url.searchParams.set('start_at', query.startAt);
  if (query.pageSize !== undefined) url.searchParams.set('page_size', String(query.pageSize));
  return url.href;
}

/** The absolute URL of one entry (`/feeds/<name>/entries/<id>`). */
export function entryUrl(ctx: AtomContext, feed: string, id: string): string {
  return new URL(`${base(ctx)}/feeds/${encodeURIComponent(feed)}/entries/${encodeURIComponent(id)}`).href;
}

/** One entry as a standalone Atom entry document (a POST's answer, `GET …/entries/<id>`). */
export function renderEntry(entry: FeedEntry, ctx: AtomContext): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const root = doc.ele(ATOM_NS, 'entry').att('http://www.w3.org/2000/xmlns/', 'xmlns:pg', PG_NS);
  writeEntry(root, entry, ctx, true);
  return finish(doc);
}

/** A page of a feed as an Atom feed document, oldest entry first. */
export function renderFeed(page: FeedDocument, ctx: AtomContext): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const root = doc.ele(ATOM_NS, 'feed').att('http://www.w3.org/2000/xmlns/', 'xmlns:pg', PG_NS);
  root.ele(ATOM_NS, 'id').txt(amp(feedTagId(page.name)));
  root.ele(ATOM_NS, 'title').att('type', 'text').txt(amp(page.name));
  root.ele(ATOM_NS, 'updated').txt(amp(page.updated));
  root.ele(ATOM_NS, 'author').ele(ATOM_NS, 'name').txt(amp('paygate'));
  root.ele(ATOM_NS, 'link').att(attrs({ rel: 'self', type: ATOM_MEDIA_TYPE, href: feedUrl(ctx, page.name, page.query) }));
  if (page.next !== undefined) {
    const pageSize = page.query?.pageSize;
    const next = feedUrl(ctx, page.name, pageSize === undefined ? { startAfter: page.next } : { startAfter: page.next, pageSize });
    root.ele(ATOM_NS, 'link').att(attrs({ rel: 'next', type: ATOM_MEDIA_TYPE, href: next }));
  }
  for (const entry of page.entries) writeEntry(root.ele(ATOM_NS, 'entry'), entry, ctx, false);
  return finish(doc);
}

/** An AtomPub service document: one collection per feed, accepting Atom entries. */
export function renderService(feeds: readonly string[], ctx: AtomContext): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const workspace = doc.ele(APP_NS, 'service').att('http://www.w3.org/2000/xmlns/', 'xmlns:atom', ATOM_NS).ele(APP_NS, 'workspace');
  workspace.ele(ATOM_NS, 'atom:title').txt(amp('paygate'));
  for (const feed of feeds) {
    const collection = workspace.ele(APP_NS, 'collection').att('href', amp(feedUrl(ctx, feed)));
    collection.ele(ATOM_NS, 'atom:title').txt(amp(feed));
    collection.ele(APP_NS, 'accept').txt(amp('application/atom+xml;type=entry'));
  }
  return finish(doc);
}

function writeEntry(el: XMLBuilder, entry: FeedEntry, ctx: AtomContext, standalone: boolean): void {
  const { type, text } = contentOut(entry.contentType, entry.content);
  for (const [field, value] of [['title', entry.title], ['content', text], ['content type', type]] as const) {
    // XML 1.0 cannot carry these, not even as references: writing them would make the whole page
    // unreadable to every parser, so the page fails here, naming the entry (never its text).
    if (NOT_XML_CHAR.test(value)) {
      throw new FeedProtocolError('FEED_INTERNAL_ERROR', `entry ${entry.id} of feed ${entry.feed} has a character XML 1.0 cannot carry in its ${field}`);
    }
  }
  el.ele(ATOM_NS, 'id').txt(amp(entryTagId(entry.feed, entry.id)));
  el.ele(ATOM_NS, 'title').att('type', 'text').txt(amp(entry.title));
  el.ele(ATOM_NS, 'published').txt(amp(entry.time));
  el.ele(ATOM_NS, 'updated').txt(amp(entry.time));
  // A standalone entry has no feed to inherit the author from (RFC 4287 §4.1.2).
  if (standalone) el.ele(ATOM_NS, 'author').ele(ATOM_NS, 'name').txt(amp('paygate'));
  el.ele(ATOM_NS, 'link').att(attrs({ rel: 'self', type: ATOM_MEDIA_TYPE, href: entryUrl(ctx, entry.feed, entry.id) }));
  el.ele(ATOM_NS, 'content').att('type', amp(type)).txt(amp(text));
  el.ele(PG_NS, 'pg:seq').txt(amp(String(entry.seq)));
  if (entry.prevHash !== undefined) el.ele(PG_NS, 'pg:prev-hash').txt(amp(entry.prevHash));
  if (entry.hash !== undefined) el.ele(PG_NS, 'pg:hash').txt(amp(entry.hash));
}

function contentOut(contentType: string, content: string): { type: string; text: string } {
  if (contentType === 'text/plain') return { type: 'text', text: content };
  if (contentType === 'text/html') return { type: 'html', text: content };
  if (/^text\//i.test(contentType)) return { type: contentType, text: content };
  return { type: contentType, text: Buffer.from(content, 'utf8').toString('base64') };
}

/**
 * Serialises, then writes every CR as a character reference: the builder escapes `&`, `<`, `>`
 * but leaves CR literal, and a parser would turn a literal CR (LF) into LF. CR can only occur
 * inside text here (the markup is written without line breaks), so the replacement is exact.
 */
function finish(doc: XMLBuilder): string {
  return doc.end({ prettyPrint: false }).replace(/\r/g, '&#13;');
}

/**
 * xmlbuilder2's writer escapes `&` only when it does not already start an entity or decimal
 * character reference, so a stored `&amp;` or `&#13;` would come out unescaped and read back as
 * `&` or CR. Escaping every `&` first makes each one start `&amp;`, which the writer then leaves
 * alone: the output is exact. The round-trip tests hold this in place.
 */
function amp(value: string): string {
  return value.replace(/&/g, '&amp;');
}

function attrs(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, amp(v)]));
}

function base(ctx: AtomContext): string {
  return ctx.publicUrl.replace(/\/+$/, '');
}

/**
 * Parses an Atom entry document as POSTed: title, content and its media type. Refuses DOCTYPE and
 * entity declarations, processing instructions other than the XML declaration, and input over
 * `maxBytes` (UTF-8) with FeedProtocolError; content it cannot store with FEED_BAD_ENTRY.
 */
export function parseAtomEntry(xml: string, options: { maxBytes?: number } = {}): ParsedEntry {
  const root = parseXmlTree(xml, options.maxBytes ?? 1024 * 1024);
  expectElement(root, 'entry');
  const title = child(root, ATOM_NS, 'title');
  if (title === undefined) throw new FeedError('FEED_BAD_ENTRY', 'the entry has no <title>');
  const titleType = title.attrs.type ?? 'text';
  if (titleType !== 'text') throw new FeedError('FEED_BAD_ENTRY', `a title of type "${titleType}" is not accepted: send type="text"`);
  const content = child(root, ATOM_NS, 'content');
  if (content === undefined) return { title: textOf(title), content: '', contentType: 'text/plain' };
  return { title: textOf(title), ...contentIn(content) };
}

/**
 * Parses a feed document this module rendered (or any Atom feed using the same ids and `pg:`
 * elements) back into stored entries: short ids, sequence, time, title, content and media type,
 * hashes; and the `rel="next"` href. `maxBytes` bounds the input (default: unbounded).
 */
export function parseAtomFeed(xml: string, options: { maxBytes?: number } = {}): ParsedFeed {
  const root = parseXmlTree(xml, options.maxBytes ?? Number.POSITIVE_INFINITY);
  expectElement(root, 'feed');
  const feedId = child(root, ATOM_NS, 'id');
  const feed = feedId === undefined ? undefined : textOf(feedId).trim();
  if (feed === undefined || !feed.startsWith(TAG_PREFIX) || feed.includes('/')) {
    throw new FeedProtocolError('FEED_BAD_XML', `the feed's <id> is not a paygate feed id (${TAG_PREFIX}<feed>)`);
  }
  const name = feed.slice(TAG_PREFIX.length);
  const entries = elementsOf(root).filter((e) => e.ns === ATOM_NS && e.local === 'entry').map((e) => entryIn(e, name));
  const next = elementsOf(root).find((e) => e.ns === ATOM_NS && e.local === 'link' && e.attrs.rel === 'next')?.attrs.href;
  return next === undefined ? { feed: name, entries } : { feed: name, entries, next };
}

function entryIn(el: XmlElement, feed: string): FeedEntry {
  const tag = required(el, ATOM_NS, 'id').trim();
  const prefix = `${TAG_PREFIX}${feed}/`;
  if (!tag.startsWith(prefix)) throw new FeedProtocolError('FEED_BAD_XML', `entry id ${JSON.stringify(tag)} is not an entry of feed ${feed}`);
  const seqText = required(el, PG_NS, 'seq').trim();
  if (!/^[1-9][0-9]{0,15}$/.test(seqText)) throw new FeedProtocolError('FEED_BAD_XML', `entry ${tag}: pg:seq ${JSON.stringify(seqText)} is not a positive integer`);
  const title = child(el, ATOM_NS, 'title');
  const contentEl = child(el, ATOM_NS, 'content');
  const content = contentEl === undefined ? { content: '', contentType: 'text/plain' } : contentIn(contentEl);
  const prevHash = child(el, PG_NS, 'prev-hash');
  const hash = child(el, PG_NS, 'hash');
  return {
    id: tag.slice(prefix.length),
    feed,
    seq: Number(seqText),
    time: required(el, ATOM_NS, 'published').trim(),
    title: title === undefined ? '' : textOf(title),
    ...content,
    ...(prevHash === undefined ? {} : { prevHash: textOf(prevHash).trim() }),
    ...(hash === undefined ? {} : { hash: textOf(hash).trim() }),
  };
}

function contentIn(el: XmlElement): { content: string; contentType: string } {
  const type = el.attrs.type ?? 'text';
  if (el.attrs.src !== undefined) throw new FeedError('FEED_BAD_ENTRY', 'out-of-line content (src=) is not accepted');
  if (elementsOf(el).length > 0 || type === 'xhtml') throw new FeedError('FEED_BAD_ENTRY', 'XHTML or inline XML content is not accepted');
  if (type === 'text') return { content: textOf(el), contentType: 'text/plain' };
  if (type === 'html') return { content: textOf(el), contentType: 'text/html' };
  // No control characters (tab, CR, LF included): the type is written back into an XML attribute,
  // where a parser reads each of them as a space, and the stored type would not round-trip.
  // eslint-disable-next-line no-control-regex
  if (!/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*( *;[^\x00-\x1f\x7f-\x9f]*)?$/.test(type)) {
    throw new FeedError('FEED_BAD_ENTRY', `content type ${JSON.stringify(type.slice(0, 100))} is not a media type`);
  }
  if (/^text\//i.test(type)) return { content: textOf(el), contentType: type };
  return { content: fromBase64(textOf(el)), contentType: type };
}

function fromBase64(text: string): string {
  const compact = text.replace(/[ \t\r\n]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new FeedError('FEED_BAD_ENTRY', 'content of a non-text media type must be base64 (RFC 4287 §4.1.3.3)');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
  } catch (error) {
    throw new FeedError('FEED_BAD_ENTRY', 'base64 content does not decode to UTF-8 text', { cause: error });
  }
}

function expectElement(el: XmlElement, local: 'feed' | 'entry'): void {
  if (el.ns !== ATOM_NS || el.local !== local) {
    throw new FeedProtocolError('FEED_BAD_XML', `expected an Atom <${local}> (namespace ${ATOM_NS}), got <${el.local}> in ${el.ns ?? 'no namespace'}`);
  }
}

function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elementsOf(el).find((e) => e.ns === ns && e.local === local);
}

function required(el: XmlElement, ns: string, local: string): string {
  const found = child(el, ns, local);
  if (found === undefined) throw new FeedProtocolError('FEED_BAD_XML', `an entry has no <${local}>`);
  return textOf(found);
}

