/**
 * The chain's link rules as the verifier streams entries in (page by page over HTTP): the
 * store's own rules (src/feed/chain.ts), so that `paygate audit verify` and `verifyChain` can
 * never disagree; test/audit/walk.test.ts holds them to the same reports.
 */
import { checkChainEnd, checkChainLink, type BrokenLink, type ChainedRow } from '../feed/index.ts';
import type { FeedEntry } from '../feed/index.ts';

export type { BrokenLink };

/** A chained entry: both hashes present. */
export type ChainedEntry = FeedEntry & { readonly prevHash: string; readonly hash: string } & ChainedRow;

/** Checks `row` after `prev` (undefined for the first entry); see src/feed/chain.ts. */
export const checkLink = checkChainLink;

/** The end of the walk: entries recorded after the last one seen are missing (a deleted tail). */
export const checkEnd = checkChainEnd;
