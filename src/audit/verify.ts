/**
 * `verifyFeed`: walks a chained feed from its first entry to its last, checking every link of the
 * hash chain and every signed checkpoint, and reports how much verified and the first broken link.
 * A broken chain is a finding, not an error: it is in the report; errors (AuditError) mean the
 * feed could not be read at all.
 */
import { z } from 'zod';
import type { ChainProblem, FeedEntry } from '../feed/index.ts';
import { SIGNER_ROLE_OIDS, TrustStore } from '../wire/index.ts';
import { checkCheckpoint, isCheckpoint, type CheckpointTrust } from './checkpoint.ts';
import { AuditError } from './errors.ts';
import type { ChainSource } from './sources.ts';
import { checkEnd, checkLink, type ChainedEntry } from './walk.ts';

/**
 * What can be wrong at the first broken link: the chain's own problems, a checkpoint that does
 * not verify, a checkpoint the auditor kept that is missing or differs (`expected_checkpoint`),
 * or more entries after the last checkpoint than the auditor's policy allows (`uncheckpointed`).
 */
export type AuditProblem = ChainProblem | 'bad_checkpoint' | 'expected_checkpoint' | 'uncheckpointed';

/** An entry's place in the feed, and its hash (what an auditor keeps of a checkpoint). */
export interface EntryMark {
  readonly seq: number;
  readonly id: string;
  readonly time: string;
  readonly hash: string;
}

/** The verifier's findings. */
export interface VerifyReport {
  readonly feed: string;
  /** Entries verified, in order, before the first broken link (all of them when intact). */
  readonly count: number;
  /** The first and last verified entries (absent when none verified). */
  readonly first?: EntryMark;
  readonly last?: EntryMark;
  /** Checkpoints whose signature, signer and citation verified. */
  readonly checkpoints: number;
  /** The last verified checkpoint. */
  readonly lastCheckpoint?: EntryMark;
  /** Verified entries after the last verified checkpoint (all of them when there is none): what no signature vouches for yet. */
  readonly uncheckpointed: number;
  /** The first broken link; absent when the feed is intact. */
  readonly broken?: { readonly seq: number; readonly id: string; readonly problem: AuditProblem; readonly detail: string };
}

const verifyOptionsSchema = z.strictObject({
  /** PEM text of the certificates checkpoint signers must chain to (the feed certificate itself, or its CA). */
  trust: z.array(z.union([z.string(), z.instanceof(Buffer)])).min(1),
  /** The extendedKeyUsage OIDs that make a signer a feed signer; empty switches the role check off. */
  feedRoleOids: z.array(z.string().regex(/^[0-9]+(\.[0-9]+)+$/)).default([SIGNER_ROLE_OIDS.feed]),
  /**
   * Checkpoints kept from an earlier verification (their seq and entry hash, as the report gives
   * them): each must be in the feed, a verified checkpoint, with that hash. Signatures alone
   * cannot show a rewritten trail whose later checkpoints were deleted; a kept one can.
   */
  expectCheckpoints: z.array(z.strictObject({ seq: z.number().int().positive(), hash: z.string().regex(/^[0-9a-f]{64}$/) }))
    .refine((list) => new Set(list.map((c) => c.seq)).size === list.length, 'one expected checkpoint per seq')
    .default([]),
  /** At most this many entries may follow the last verified checkpoint (none vouches for them); no limit when absent. */
  maxUncheckpointed: z.number().int().nonnegative().optional(),
});
type ResolvedVerifyOptions = z.output<typeof verifyOptionsSchema>;

/** Options of {@link verifyFeed}. */
export type VerifyOptions = z.input<typeof verifyOptionsSchema>;

/**
 * Verifies the feed `source` reads. Streams: only the previous entry is kept.
 * @throws AuditError when the options are invalid or the source cannot be read.
 */
export async function verifyFeed(source: ChainSource, options: VerifyOptions): Promise<VerifyReport> {
  const o = resolve(options);
  const who = checkpointTrust(o);
  const expected = new Map(o.expectCheckpoints.map((c) => [c.seq, c.hash]));
  let prev: ChainedEntry | undefined;
  let first: EntryMark | undefined;
  let count = 0;
  let checkpoints = 0;
  let lastCheckpoint: EntryMark | undefined;
  const report = (broken?: VerifyReport['broken']): VerifyReport => ({
    feed: source.feed, count, checkpoints, uncheckpointed: count - (lastCheckpoint?.seq ?? 0),
    ...(first === undefined ? {} : { first }),
    ...(prev === undefined ? {} : { last: mark(prev) }),
    ...(lastCheckpoint === undefined ? {} : { lastCheckpoint }),
    ...(broken === undefined ? {} : { broken }),
  });
  for await (const stored of source.entries()) {
    const entry = chainedOrBroken(stored, source, prev);
    if ('problem' in entry) return report(entry);
    const broken = checkLink(entry, prev, (hash) => source.idOfHash(hash));
    if (broken !== undefined) return report(broken);
    const checkpoint = isCheckpoint(entry);
    const problem = checkpoint ? checkCheckpoint(entry, prev, who) : undefined;
    if (problem !== undefined) return report({ seq: entry.seq, id: entry.id, problem: 'bad_checkpoint', detail: problem });
    const kept = expected.get(entry.seq);
    if (kept !== undefined && (!checkpoint || entry.hash !== kept)) {
      const found = checkpoint ? `a checkpoint with hash ${entry.hash}` : 'an entry that is not a checkpoint';
      return report({ seq: entry.seq, id: entry.id, problem: 'expected_checkpoint', detail: `the checkpoint kept as ${entry.seq}:${kept} is not there: seq ${entry.seq} is ${found}` });
    }
    if (checkpoint) {
      checkpoints += 1;
      lastCheckpoint = mark(entry);
    }
    count += 1;
    prev = entry;
    first ??= mark(entry);
  }
  const end = checkEnd(prev, source.lastSeq) ?? policyAtEnd(report(), expected, o.maxUncheckpointed);
  return report(end);
}

/** After an intact walk: a kept checkpoint beyond the feed's end, or too long an unsigned tail. */
function policyAtEnd(r: VerifyReport, expected: ReadonlyMap<number, string>, maxUncheckpointed: number | undefined): VerifyReport['broken'] {
  const lastSeq = r.last?.seq ?? 0;
  const beyond = [...expected.entries()].filter(([seq]) => seq > lastSeq).sort(([a], [b]) => a - b)[0];
  if (beyond !== undefined) {
    return { seq: beyond[0], id: '', problem: 'expected_checkpoint', detail: `the checkpoint kept as ${beyond[0]}:${beyond[1]} is not there: the feed ends at seq ${lastSeq}` };
  }
  if (maxUncheckpointed !== undefined && r.uncheckpointed > maxUncheckpointed) {
    const after = r.lastCheckpoint === undefined ? 'no checkpoint vouches for any of the' : `the last verified checkpoint (seq ${r.lastCheckpoint.seq}) is followed by`;
    return { seq: lastSeq, id: r.last?.id ?? '', problem: 'uncheckpointed', detail: `${after} ${r.uncheckpointed} entries, more than the ${maxUncheckpointed} allowed: no signature vouches for them` };
  }
  return undefined;
}

/**
 * The entry with both hashes, or the broken link it is: an entry of a chained feed without
 * hashes had them removed, and the first entry of a feed whose record says unchained (while
 * entries carry hashes) is where a changed record shows.
 */
function chainedOrBroken(entry: FeedEntry, source: ChainSource, prev: ChainedEntry | undefined): ChainedEntry | NonNullable<VerifyReport['broken']> {
  const at = { seq: entry.seq, id: entry.id, problem: 'altered' as const };
  if (prev === undefined && source.unchainedRecordOfChainedFeed === true) {
    return { ...at, detail: `the store records feed ${source.feed} as unchained, yet its entries carry hashes: the record was changed` };
  }
  if (entry.prevHash === undefined || entry.hash === undefined) {
    return { ...at, detail: `it has no ${entry.hash === undefined ? 'hash' : 'prev_hash'} in a chained feed: it was removed` };
  }
  return { ...entry, prevHash: entry.prevHash, hash: entry.hash };
}

function mark(entry: ChainedEntry): EntryMark {
  return { seq: entry.seq, id: entry.id, time: entry.time, hash: entry.hash };
}

function resolve(options: VerifyOptions): ResolvedVerifyOptions {
  const parsed = verifyOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new AuditError('AUDIT_BAD_OPTION', `invalid verify options: ${problems}`);
  }
  return parsed.data;
}

function checkpointTrust(o: ResolvedVerifyOptions): CheckpointTrust {
  try {
    return { trust: new TrustStore(o.trust), roleOids: o.feedRoleOids };
  } catch (error) {
    throw new AuditError('AUDIT_BAD_OPTION', `the trusted certificates cannot be used: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
