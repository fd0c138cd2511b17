/**
 * Signed checkpoints: entries of a chained feed that anchor its tail outside the store. A
 * checkpoint cites the seq and hash of the entry it follows and carries a detached CMS signature
 * by the feed identity over `{feed, hash, seq, time}`. Whoever rewrites an entry and re-hashes the
 * chain after it (which the chain alone cannot show) must also forge every later checkpoint's
 * signature, which needs the feed's private key.
 *
 * Content (JSON, application/json): `{"feed":…,"seq":…,"hash":…,"time":…,"signature":…}`; the
 * signed bytes are the UTF-8 of `JSON.stringify({feed, hash, seq, time})` in that key order
 * ({@link checkpointSignedBytes}); `signature` is base64 DER of the SignedData.
 */
import { z } from 'zod';
import { FeedError, type FeedEntry, type FeedStore } from '../feed/index.ts';
import {
  buildDetachedSignedData, requireSignerRole, SIGNER_ROLE_OIDS, TrustStore, verifySignedData, type Identity,
} from '../wire/index.ts';
import { AuditError } from './errors.ts';

/** The title of a checkpoint entry. */
export const CHECKPOINT_TITLE = 'checkpoint';
/** The media type of a checkpoint entry's content. */
export const CHECKPOINT_CONTENT_TYPE = 'application/json';

/** What a checkpoint says: the feed's tail at `time`. */
export interface CheckpointClaim {
  readonly feed: string;
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
}

/** A checkpoint's content: the claim and its signature (base64 DER, detached CMS SignedData). */
export interface CheckpointContent extends CheckpointClaim {
  readonly signature: string;
}

const contentSchema = z.strictObject({
  feed: z.string().min(1),
  seq: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  time: z.iso.datetime(),
  signature: z.base64().min(1),
});

/** The bytes a checkpoint's signature covers: fixed key order, JSON.stringify, UTF-8. */
export function checkpointSignedBytes(claim: CheckpointClaim): Buffer {
  return Buffer.from(JSON.stringify({ feed: claim.feed, hash: claim.hash, seq: claim.seq, time: claim.time }), 'utf8');
}

/** The content of a checkpoint for `claim`, signed by `identity` (the feed signer). */
export function signCheckpoint(claim: CheckpointClaim, identity: Identity): string {
  const signature = buildDetachedSignedData(checkpointSignedBytes(claim), identity, new Date(claim.time)).toString('base64');
  const content: CheckpointContent = { feed: claim.feed, seq: claim.seq, hash: claim.hash, time: claim.time, signature };
  return JSON.stringify(content);
}

/** Whether an entry is a checkpoint (by title and media type; its content is checked by {@link checkCheckpoint}). */
export function isCheckpoint(entry: Pick<FeedEntry, 'title' | 'contentType'>): boolean {
  return entry.title === CHECKPOINT_TITLE && entry.contentType === CHECKPOINT_CONTENT_TYPE;
}

/** Who may sign checkpoints: the trust anchors and the extendedKeyUsage OIDs of the feed role. */
export interface CheckpointTrust {
  readonly trust: TrustStore;
  /** Accepted role OIDs; empty switches the role check off. */
  readonly roleOids: readonly string[];
}

/**
 * Checks a checkpoint entry against the entry before it. Returns what is wrong, or undefined when
 * it is sound: its content parses, names its own feed, cites exactly its predecessor's seq and
 * hash, its signature verifies over the claim, and the signer chains to the trust anchors (valid
 * at the checkpoint's time) and carries the feed role.
 */
export function checkCheckpoint(entry: Pick<FeedEntry, 'feed' | 'content'>, predecessor: { seq: number; hash?: string } | undefined, who: CheckpointTrust): string | undefined {
  let content: CheckpointContent;
  try {
    content = contentSchema.parse(JSON.parse(entry.content));
  } catch {
    return 'its content is not a checkpoint ({feed, seq, hash, time, signature})';
  }
  if (content.feed !== entry.feed) return `it certifies feed ${JSON.stringify(content.feed)}, not ${entry.feed}`;
  if (predecessor === undefined) return `it cites entry ${content.seq} but is the first entry of the feed`;
  if (content.seq !== predecessor.seq || content.hash !== predecessor.hash) {
    return `it cites seq ${content.seq} (hash ${content.hash.slice(0, 16)}…) but follows seq ${predecessor.seq} (hash ${(predecessor.hash ?? '').slice(0, 16)}…)`;
  }
  let verified: ReturnType<typeof verifySignedData>;
  try {
    verified = verifySignedData(Buffer.from(content.signature, 'base64'), checkpointSignedBytes(content));
  } catch (error) {
    return `its signature does not verify: ${messageOf(error)}`;
  }
  try {
    who.trust.verify(verified.signer, verified.certificates, new Date(content.time));
  } catch (error) {
    return `its signer is not trusted: ${messageOf(error)}`;
  }
  try {
    requireSignerRole(verified.signer, who.roleOids, 'feed');
  } catch (error) {
    return `its signer may not sign checkpoints: ${messageOf(error)}`;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const checkpointerSchema = z.strictObject({
  store: z.custom<FeedStore>((v) => typeof v === 'object' && v !== null && typeof (v as FeedStore).append === 'function', 'a FeedStore'),
  /** The chained feeds to checkpoint. */
  feeds: z.array(z.string().min(1)).min(1).default(['audit']),
  /** The feed signer (a certificate with the feed role, and its key). */
  identity: z.custom<Identity>((v) => typeof v === 'object' && v !== null && 'certificate' in v && 'privateKey' in v, 'an Identity'),
  /** How often every feed is checkpointed (when it grew); 0 = only on direct calls. */
  intervalMs: z.number().int().nonnegative().default(60_000),
  /** The time written into checkpoints. */
  clock: z.custom<() => Date>((v) => typeof v === 'function').default(() => () => new Date()),
  /** Told of a failed timed checkpoint (the next interval tries again); default: a process warning. */
  onError: z.custom<(error: unknown) => void>((v) => typeof v === 'function').optional(),
});

/** Options of {@link startCheckpointer} (defaults may be left out). */
export type CheckpointerOptions = z.input<typeof checkpointerSchema>;

/** A running checkpointer. */
export interface Checkpointer {
  /** Checkpoints `feed` now: the checkpoint entry, or undefined when nothing was appended since the last one (or the feed is empty, absent or unchained). */
  checkpoint(feed: string): FeedEntry | undefined;
  /** Stops the timer (a direct `checkpoint` call still works). */
  stop(): void;
}

/**
 * Starts checkpointing `feeds` every `intervalMs` (an unref'd timer: it never keeps the process
 * alive). The checkpoint is appended only if the feed's tail is still the entry it cites (the
 * store's `afterSeq`): another writer of the same file appending in between makes it read, sign
 * and try again, and after a few such losses fail with AUDIT_CHECKPOINT_RACE, writing nothing.
 */
export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const parsed = checkpointerSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new AuditError('AUDIT_BAD_OPTION', `invalid checkpointer options: ${problems}`);
  }
  const o = parsed.data;
  if (o.identity.certificate.extensions.extKeyUsage?.has(SIGNER_ROLE_OIDS.feed) !== true) {
    throw new AuditError('AUDIT_BAD_OPTION', `identity ${o.identity.certificate.subject} is not a feed signer (no feed role in its extendedKeyUsage)`);
  }
  // Its own signature is what tells the checkpointer that the tail already is its checkpoint:
  // a title and a media type are what any writer of the feed can also send.
  const own: CheckpointTrust = { trust: new TrustStore([o.identity.certificate]), roleOids: [SIGNER_ROLE_OIDS.feed] };
  const checkpoint = (feed: string): FeedEntry | undefined => checkpointFeed(o.store, feed, o.identity, own, o.clock);
  const onError = o.onError ?? ((error: unknown) => process.emitWarning(`paygate checkpoint failed: ${messageOf(error)}`));
  const timer = o.intervalMs === 0 ? undefined : setInterval(() => {
    for (const feed of o.feeds) {
      try {
        checkpoint(feed);
      } catch (error) {
        onError(error);
      }
    }
  }, o.intervalMs);
  timer?.unref();
  return {
    checkpoint,
    stop: () => clearInterval(timer),
  };
}

/** How often a checkpoint is re-read, re-signed and appended again when another append came first. */
const CHECKPOINT_ATTEMPTS = 3;

/**
 * Signs the feed's tail and appends the checkpoint only if the tail is still that entry
 * (`afterSeq`): a checkpoint can never follow another entry than the one it cites.
 */
function checkpointFeed(store: FeedStore, feed: string, identity: Identity, own: CheckpointTrust, clock: () => Date): FeedEntry | undefined {
  for (let attempt = 1; ; attempt += 1) {
    const info = store.feeds().find((f) => f.name === feed);
    if (info === undefined || !info.chained || info.lastSeq === 0) return undefined;
    const tail = store.tail(feed);
    if (tail === undefined || tail.hash === undefined || isOwnCheckpoint(tail, own)) return undefined;
    const claim = { feed, seq: tail.seq, hash: tail.hash, time: clock().toISOString() };
    const entry = { title: CHECKPOINT_TITLE, content: signCheckpoint(claim, identity), contentType: CHECKPOINT_CONTENT_TYPE };
    try {
      return store.append(feed, entry, { chained: true, afterSeq: tail.seq });
    } catch (error) {
      if (!(error instanceof FeedError && error.code === 'FEED_TAIL_MOVED')) throw error;
      if (attempt >= CHECKPOINT_ATTEMPTS) {
        throw new AuditError('AUDIT_CHECKPOINT_RACE', `feed ${feed}: other appends came first ${attempt} times in a row; no checkpoint was written (the next interval tries again)`);
      }
    }
  }
}

/**
 * Whether `tail` is a sound checkpoint signed by the checkpointer's own certificate, citing the
 * entry before it (whose hash the tail records as its prev_hash).
 */
function isOwnCheckpoint(tail: FeedEntry, own: CheckpointTrust): boolean {
  if (!isCheckpoint(tail) || tail.prevHash === undefined) return false;
  return checkCheckpoint(tail, { seq: tail.seq - 1, hash: tail.prevHash }, own) === undefined;
}
