/**
 * One link of a feed's chain, checked as the verifier streams entries in (page by page over
 * HTTP, so it cannot hand an iterable to src/feed/chain.ts `walkChain`, whose loop is synchronous).
 * The rules, their order and the problems reported are exactly walkChain's; test/audit/walk.test.ts
 * checks both agree on every kind of tampering.
 */
import { entryHash, ZERO_HASH } from '../feed/index.ts';
import type { ChainProblem, FeedEntry } from '../feed/index.ts';

/** A chained entry: both hashes present. */
export type ChainedEntry = FeedEntry & { readonly prevHash: string; readonly hash: string };

/** A broken link: the entry named and what is wrong. */
export interface BrokenLink {
  readonly id: string;
  readonly seq: number;
  readonly problem: ChainProblem;
  readonly detail: string;
}

/**
 * Checks `row` after `prev` (undefined for the first entry). `idOfHash` says which entry a hash
 * belongs to, to tell reordering from alteration. Link checks come before the entry's own hash:
 * a reordered entry also fails its own hash, and "out of order" is the truer report.
 */
export function checkLink(row: ChainedEntry, prev: ChainedEntry | undefined, idOfHash: (hash: string) => string | undefined): BrokenLink | undefined {
  const at = { id: row.id, seq: row.seq };
  const expectedSeq = (prev?.seq ?? 0) + 1;
  if (row.seq < expectedSeq) {
    return { ...at, problem: 'out_of_order', detail: `sequence ${row.seq} where ${expectedSeq} or later was expected` };
  }
  if (row.seq !== expectedSeq) {
    return { ...at, problem: 'missing', detail: `sequence ${expectedSeq}..${row.seq - 1} missing before it` };
  }
  const expectedPrev = prev?.hash ?? ZERO_HASH;
  if (row.prevHash !== expectedPrev) {
    const owner = idOfHash(row.prevHash);
    if (owner !== undefined && owner !== prev?.id) {
      return { ...at, problem: 'out_of_order', detail: `its prev_hash is the hash of entry ${owner}, not of its predecessor` };
    }
    if (entryHash(row) !== row.hash) {
      return { ...at, problem: 'altered', detail: 'its prev_hash was changed: its fields no longer hash to its recorded hash' };
    }
    if (prev !== undefined) {
      // The predecessor hashes to its own recorded hash, yet not to what this entry recorded:
      // the predecessor was altered and re-hashed.
      return { id: prev.id, seq: prev.seq, problem: 'altered', detail: `its successor ${row.id} recorded another hash for it` };
    }
    return { ...at, problem: 'altered', detail: 'the first entry\'s prev_hash is not 64 zeros' };
  }
  if (entryHash(row) !== row.hash) {
    return { ...at, problem: 'altered', detail: 'its fields no longer hash to its recorded hash' };
  }
  return undefined;
}

/** The end of the walk: entries recorded after the last one seen are missing (a deleted tail). */
export function checkEnd(last: ChainedEntry | undefined, lastSeq: number | undefined): BrokenLink | undefined {
  const seen = last?.seq ?? 0;
  if (lastSeq === undefined || seen >= lastSeq) return undefined;
  if (last === undefined) return { id: '', seq: 0, problem: 'missing', detail: `every entry (1..${lastSeq}) is missing` };
  return { id: last.id, seq: last.seq, problem: 'missing', detail: `entries ${seen + 1}..${lastSeq} after it are missing` };
}
