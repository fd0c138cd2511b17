import { PaygateError } from '../errors.ts';

/**
 * Stable codes of the feed's protocol failures: the Atom representation (atom.ts) and the HTTP
 * server (src/feed/http). The store's own codes are in errors.ts; the server answers either kind
 * with its HTTP status (see docs/feed.md).
 */
export const FEED_PROTOCOL_ERROR_CODES = [
  /** A body is not well-formed XML, or not an Atom feed/entry, or declares a DOCTYPE/ENTITY or a processing instruction. */
  'FEED_BAD_XML',
  /** A request body is larger than `maxEntryBytes`. */
  'FEED_ENTRY_TOO_LARGE',
  /** A request's `Content-Type` is not an Atom entry (`application/atom+xml`). */
  'FEED_UNSUPPORTED_MEDIA_TYPE',
  /** A query parameter, path or method the server does not accept. */
  'FEED_BAD_REQUEST',
  /** No bearer token, or one that matches no configured client. */
  'FEED_UNAUTHORIZED',
  /** The client's token lacks the right for this feed, or the feed refuses HTTP appends. */
  'FEED_FORBIDDEN',
  /** An unexpected failure inside the feed server (answered 500; the cause is in its log). */
  'FEED_INTERNAL_ERROR',
  /** The server's options are invalid, e.g. a non-loopback listen address without TLS. */
  'FEED_SERVER_OPTION',
] as const;

export type FeedProtocolErrorCode = (typeof FEED_PROTOCOL_ERROR_CODES)[number];

/** A typed failure of the feed's Atom representation or HTTP server. */
export class FeedProtocolError extends PaygateError {
  declare readonly code: FeedProtocolErrorCode;

  constructor(code: FeedProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
