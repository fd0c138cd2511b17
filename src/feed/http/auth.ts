/**
 * Bearer-token authentication and per-feed rights. Tokens are configured as SHA-256 hashes; a
 * presented token is hashed and compared with every configured hash in constant time (all of
 * them, so the time taken does not tell which client, if any, nearly matched).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { FeedProtocolError } from '../protocol-errors.ts';
import type { FeedRight, ResolvedFeedServerOptions } from './options.ts';

/** An authenticated client. */
export interface FeedClient {
  readonly name: string;
  readonly feeds: Readonly<Record<string, readonly FeedRight[]>>;
}

type Clients = ResolvedFeedServerOptions['clients'];

/** The client whose token the `Authorization` header carries; FEED_UNAUTHORIZED otherwise. */
export function authenticate(clients: Clients, authorization: string | undefined): FeedClient {
  const match = /^Bearer[ ]+([\x21-\x7e]{1,4096})[ ]*$/i.exec(authorization ?? '');
  if (match === null) throw new FeedProtocolError('FEED_UNAUTHORIZED', 'send Authorization: Bearer <token>');
  const presented = createHash('sha256').update(match[1] as string, 'utf8').digest();
  let found: FeedClient | undefined;
  for (const client of clients) {
    const equal = timingSafeEqual(presented, Buffer.from(client.tokenSha256, 'hex'));
    if (equal && found === undefined) found = client;
  }
  if (found === undefined) throw new FeedProtocolError('FEED_UNAUTHORIZED', 'the bearer token matches no configured client');
  return found;
}

/** Whether `client` holds `right` on `feed` (through the feed's name or `*`). */
export function allowed(client: FeedClient, feed: string, right: FeedRight): boolean {
  return (client.feeds[feed] ?? []).includes(right) || (client.feeds['*'] ?? []).includes(right);
}

/** FEED_FORBIDDEN unless `client` holds `right` on `feed`. */
export function requireRight(client: FeedClient, feed: string, right: FeedRight): void {
  if (!allowed(client, feed, right)) {
    throw new FeedProtocolError('FEED_FORBIDDEN', `client ${client.name} may not ${right} feed ${feed}`);
  }
}
