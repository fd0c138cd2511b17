/**
 * What a feed store accepts, as pure functions: the store runs them before every append, and a
 * producer that must not hand the store an entry it would refuse (the events consumer: a refusal
 * there is permanent, a retry would never end) runs the same checks first.
 */
import { FeedError } from './errors.ts';
import type { NewEntry } from './store.ts';

const FEED_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** Any character outside XML 1.0's Char production (a lone surrogate too: the `u` flag sees code points). */
const NOT_XML_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * A control character or one outside XML 1.0's Char production: a media type is written into an
 * XML attribute, where a parser turns tab, CR and LF into spaces, so none may appear there.
 */
// eslint-disable-next-line no-control-regex
const NOT_ATTRIBUTE_TEXT = /[\x00-\x1f\x7f-\x9f]|[^\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** @throws FeedError `FEED_BAD_NAME` unless `feed` is 1-128 characters of A-Z a-z 0-9 . _ - */
export function checkFeedName(feed: string): void {
  if (typeof feed !== 'string' || !FEED_NAME.test(feed)) {
    throw new FeedError('FEED_BAD_NAME', `a feed name is 1-128 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(feed)}`);
  }
}

/**
 * Checks an entry as the store would store it: a non-empty title, content within
 * `maxContentBytes` (UTF-8; unchecked when absent), title and content of characters XML 1.0 can
 * carry, a media type without control characters, a key of 1-256 characters.
 *
 * @throws FeedError `FEED_BAD_ENTRY` naming the problem, never the entry's text.
 */
export function checkNewEntry(entry: NewEntry, maxContentBytes?: number): void {
  if (typeof entry.title !== 'string' || entry.title.length === 0) {
    throw new FeedError('FEED_BAD_ENTRY', 'an entry needs a non-empty title');
  }
  if (typeof entry.content !== 'string' || (maxContentBytes !== undefined && Buffer.byteLength(entry.content, 'utf8') > maxContentBytes)) {
    throw new FeedError('FEED_BAD_ENTRY', `an entry's content must be a string${maxContentBytes === undefined ? '' : ` of at most ${maxContentBytes} bytes`}`);
  }
  if (NOT_XML_TEXT.test(entry.title) || NOT_XML_TEXT.test(entry.content)) {
    // Atom is XML: one such character would make every page holding the entry unreadable.
    throw new FeedError('FEED_BAD_ENTRY', "an entry's title and content must be characters XML 1.0 can carry (no control characters other than tab, LF and CR, no lone surrogates)");
  }
  if (entry.contentType !== undefined && (typeof entry.contentType !== 'string' || entry.contentType.length === 0 || NOT_ATTRIBUTE_TEXT.test(entry.contentType))) {
    throw new FeedError('FEED_BAD_ENTRY', "an entry's media type must be non-empty text without control characters (an XML attribute would not keep them)");
  }
  if (entry.key !== undefined && (typeof entry.key !== 'string' || entry.key.length < 1 || entry.key.length > 256)) {
    throw new FeedError('FEED_BAD_ENTRY', "an entry's key must be a string of 1-256 characters");
  }
}
