/**
 * The tamper-evident chain of a feed: each entry records the SHA-256 of its predecessor's
 * canonical form, so altering, deleting or reordering a stored entry breaks a link that
 * {@link walkChain} finds and names. The canonical form is documented in docs/feed.md and
 * must never change for entries already written.
 */
import { createHash } from 'node:crypto';
import type { ChainReport, FeedEntry } from './store.ts';

/** The `prev_hash` of a feed's first entry. */
export const ZERO_HASH = '0'.repeat(64);

/** The fields the hash covers, all of an entry except its own `hash`. */
export type HashedFields = Pick<FeedEntry, 'feed' | 'id' | 'seq' | 'time' | 'title' | 'content' | 'contentType'> & {
  readonly prevHash: string;
};

/**
 * Canonical JSON: one object, keys in code-point order, no whitespace, JSON.stringify's
 * escaping (UTF-8 once hashed). Keys are written out rather than sorted at run time so the form
 * is visible here and cannot change with an added property.
 */
export function canonicalForm(e: HashedFields): string {
  return JSON.stringify({
    content: e.content,
    content_type: e.contentType,
    feed: e.feed,
    id: e.id,
    prev_hash: e.prevHash,
    seq: e.seq,
    time: e.time,
    title: e.title,
  });
}

/** SHA-256 hex of the canonical form. */
export function entryHash(e: HashedFields): string {
  return createHash('sha256').update(canonicalForm(e), 'utf8').digest('hex');
}

/** A stored chained entry: both hashes present. */
export type ChainedRow = HashedFields & { readonly hash: string };

/**
 * Walks entries in sequence order. `lastSeq` is the feed's recorded last sequence (so a deleted
 * tail is seen); `idOfHash` finds which entry a hash belongs to (to tell reordering from
 * alteration). Link checks come before the entry's own hash check: a reordered entry also fails
 * its own hash (its `seq` changed), and "out of order" is the truer report.
 */
export function walkChain(rows: Iterable<ChainedRow>, lastSeq: number, idOfHash: (hash: string) => string | undefined): ChainReport {
  let count = 0;
  let prev: ChainedRow | undefined;
  for (const row of rows) {
    const broken = checkChainLink(row, prev, idOfHash);
    if (broken !== undefined) return { count, broken };
    count += 1;
    prev = row;
  }
  const broken = checkChainEnd(prev, lastSeq);
  return broken === undefined ? { count } : { count, broken };
}

/** A broken link: the entry named and what is wrong. */
export type BrokenLink = NonNullable<ChainReport['broken']>;

/**
 * The end of a walk: entries recorded after the last one seen (`lastSeq`, when known) are
 * missing, i.e. a deleted tail.
 */
export function checkChainEnd(last: ChainedRow | undefined, lastSeq: number | undefined): BrokenLink | undefined {
  const seen = last?.seq ?? 0;
  if (lastSeq === undefined || seen >= lastSeq) return undefined;
  if (last === undefined) return { id: '', seq: 0, problem: 'missing', detail: `every entry (1..${lastSeq}) is missing` };
  return { id: last.id, seq: last.seq, problem: 'missing', detail: `entries ${seen + 1}..${lastSeq} after it are missing` };
}

/**
 * One link: `row` after `prev` (undefined for the first entry). Exported for walkers that
 * stream entries in asynchronously (the auditor's verifier reads pages over HTTP); walkChain is
 * this in a loop. Link checks come before the entry's own hash check: a reordered entry also
 * fails its own hash (its `seq` changed), and "out of order" is the truer report.
 */
export function checkChainLink(row: ChainedRow, prev: ChainedRow | undefined, idOfHash: (hash: string) => string | undefined): BrokenLink | undefined {
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
