/**
 * The `seen_requests` table on PostgreSQL: the same rules as the SQLite engine's
 * (request-answers.ts, whose module comment says why answers are kept per request id):
 *
 * - `markSeen` records an id once; a later call sees it, with the answer recorded for it;
 * - the first FINAL answer is kept; an `unknown` answer is replaced by a final one only; when an
 *   answer is (re)placed its keep-until time becomes the later of the two;
 * - `replyFailed` counts the failed attempts to send a reply for an id.
 *
 * Every write is one `INSERT … ON CONFLICT` statement: under READ COMMITTED it waits for a
 * concurrent writer of the same id to commit or roll back, then acts on what that left, so two
 * hosts recording answers for one id at once keep exactly one. When it changed nothing, the row
 * is read again by a statement of its own, which sees the other writer's committed answer.
 */
import type { RecordedAnswer, SeenResult } from './request-answers.ts';
import type { Query } from './postgres-query.ts';

const MARK_SEEN = {
  name: 'paygate-seen-insert',
  text: 'INSERT INTO seen_requests (request_id, keep_until) VALUES ($1, $2) ON CONFLICT (request_id) DO NOTHING RETURNING 1 AS inserted',
};
const SELECT_REPLY = { name: 'paygate-seen-reply', text: 'SELECT reply FROM seen_requests WHERE request_id = $1' };
// A final answer is never replaced; an `unknown` one only by a final one.
const RECORD = {
  name: 'paygate-seen-record',
  text: `INSERT INTO seen_requests AS s (request_id, keep_until, reply, reply_final) VALUES ($1, $2, $3, $4)
         ON CONFLICT (request_id) DO UPDATE SET reply = excluded.reply, reply_final = excluded.reply_final,
           keep_until = GREATEST(s.keep_until, excluded.keep_until)
         WHERE s.reply IS NULL OR (NOT s.reply_final AND excluded.reply_final)
         RETURNING 1 AS recorded`,
};
const FAILED = {
  name: 'paygate-seen-failed',
  text: `INSERT INTO seen_requests AS s (request_id, keep_until, reply_failures) VALUES ($1, $2, 1)
         ON CONFLICT (request_id) DO UPDATE SET reply_failures = s.reply_failures + 1,
           keep_until = GREATEST(s.keep_until, excluded.keep_until)
         RETURNING reply_failures`,
};

/** Records `requestId` as seen (kept until `keepUntil`) and returns what was there before. */
export async function markSeen(query: Query, requestId: string, keepUntil: number): Promise<SeenResult> {
  if ((await query(MARK_SEEN, [requestId, keepUntil])).length === 1) return { seenBefore: false };
  const reply = await answerOf(query, requestId);
  return reply === undefined ? { seenBefore: true } : { seenBefore: true, answer: reply };
}

/** The answer recorded for `requestId`, if any. */
export async function answerOf(query: Query, requestId: string): Promise<Buffer | undefined> {
  const [row] = await query<{ reply: Buffer | null }>(SELECT_REPLY, [requestId]);
  return row?.reply ?? undefined;
}

/** Records an answer (the first final one wins) and returns the one now recorded. */
export async function recordAnswer(
  query: Query,
  input: { requestId: string; keepUntil: number; reply: Buffer; final: boolean },
): Promise<RecordedAnswer> {
  const recorded = await query(RECORD, [input.requestId, input.keepUntil, input.reply, input.final]);
  if (recorded.length === 1) return { reply: input.reply, ours: true };
  return { reply: (await answerOf(query, input.requestId)) ?? input.reply, ours: false };
}

/** Counts one failed attempt to send a reply for `requestId`; returns the count so far. */
export async function replyFailed(query: Query, requestId: string, keepUntil: number): Promise<number> {
  const [row] = await query<{ reply_failures: number }>(FAILED, [requestId, keepUntil]);
  return row?.reply_failures ?? 1;
}
