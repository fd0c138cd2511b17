/**
 * The last step of every answered message: record the answer (once the request id was claimed),
 * send the reply, and ONLY THEN ACK the request.
 *
 * - Recorded first: the answer given to a request id is committed to the store before it leaves
 *   (request-answers.ts), so a copy of the request sent again gets this answer and never reaches
 *   the provider, whatever its frame headers claim.
 * - A reply that cannot be sent leaves the request with the broker (NACK): its redelivery finds
 *   the recorded answer and sends it again. Failed attempts are counted per request id in the
 *   store; after `maxReplyAttempts` the request is dead-lettered as `REPLY_UNDELIVERABLE`
 *   instead, so a reply destination that always refuses cannot loop a message for ever (at the
 *   first failure on a broker that never redelivers a NACKed message).
 * - After the reply, before the ACK: the request's events (its audit record, and its payment
 *   event when it is one) are sent to the events queue (audit-events.ts). A failed events SEND
 *   is handled like a failed reply: NACK, and after `maxReplyAttempts` (at once on a broker that
 *   never redelivers) a dead letter `EVENTS_UNDELIVERABLE`, so no request is ever ACKed without
 *   its record, and none loops for ever while the events queue refuses it.
 */
import type { ProviderDefinition } from '../providers/index.ts';
import { quirksOf, type StompMessage } from '../stomp/index.ts';
import type { OpenedMessage, ReplyDocument, RequestDocument } from '../wire/index.ts';
import { prepareEvents } from './audit-events.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { deadLetter } from './dead-letter.ts';
import { describeError } from './describe-error.ts';
import type { StoreOperations } from './store-engine.ts';
import { encodeReply, replyDocument, rewriteStoredReply, startReply, type Answer, type RequestRef, type StartedReply } from './reply.ts';

/**
 * Where a claimed request's answer is recorded: its id as the store keys it ({@link answerKeyOf}),
 * and its `expires_at` (epoch ms).
 */
export interface AnswerKey {
  readonly requestId: string;
  readonly expiresAt: number;
}

/** One opened request on its way through the pipeline. */
export interface Exchange {
  readonly context: WorkerContext;
  readonly provider: ProviderDefinition;
  readonly message: StompMessage;
  readonly opened: OpenedMessage;
  /** `performance.now()` when the message arrived (the audit record's `duration_ms`). */
  readonly receivedAt: number;
  /** Set once the request document validated: what its audit record and payment event are made of. */
  readonly request?: RequestDocument;
  /** Set once the request id went through the claim: every answer from then on is recorded before it is sent. */
  readonly claimed?: AnswerKey;
}

/** An exchange past the claim. */
export type ClaimedExchange = Exchange & { readonly claimed: AnswerKey };

/** A reply document to send, and whether it is an earlier answer given again. */
export interface Outgoing {
  readonly document: ReplyDocument;
  readonly fromStore: boolean;
}

/** Answers `request` with `answer`: builds the reply document, records it (once claimed), sends it, ACKs. */
export function respond(exchange: Exchange, request: RequestRef, answer: Answer): Promise<Disposition> {
  return respondWith(exchange, replyDocument(request, answer, exchange.context.options.clock()), false);
}

/** Sends a reply document that is already built (e.g. a stored one, rewritten), recording it first once claimed, then ACKs. */
export async function respondWith(exchange: Exchange, document: ReplyDocument, fromStore: boolean): Promise<Disposition> {
  const { claimed } = exchange;
  if (claimed === undefined) return deliver(exchange, { document, fromStore });
  let outgoing: Outgoing;
  try {
    outgoing = await exchange.context.store.atomic((tx) => recordIn(tx, claimed, { document, fromStore }, exchange.context.options.clock()));
  } catch (error) {
    return requeue(exchange, 'store', error);
  }
  return deliver(exchange, outgoing);
}

/**
 * Inside a store operation: records `outgoing` as the answer of `claimed` and returns what to
 * send: it, or the answer recorded first (rewritten with a new reply id and `sent_at`).
 */
export async function recordIn(tx: StoreOperations, claimed: AnswerKey, outgoing: Outgoing, now: number): Promise<Outgoing> {
  const { document } = outgoing;
  const recorded = await tx.recordAnswer({ ...claimed, reply: encodeReply(document), final: document.status !== 'unknown' });
  if (recorded.ours) return outgoing;
  const ref = { id: document.request_id, provider: document.provider, type: document.type };
  return { document: rewriteStoredReply(recorded.reply, ref, now), fromStore: true };
}

/** Sends a reply already recorded (or one that needs no record), then ACKs. */
export async function deliver(exchange: Exchange, outgoing: Outgoing): Promise<Disposition> {
  const { document } = outgoing;
  const { context, provider, message } = exchange;
  let reply: StartedReply;
  try {
    reply = startReply(context, message, exchange.opened, { yaml: encodeReply(document), requestId: document.request_id });
  } catch (error) {
    return replyFailed(exchange, document.request_id, error);
  }
  // The events are built and sealed while the reply's receipt is on its way: the hot path pays
  // one more receipt round trip for them, not their CPU time as well.
  let events: (() => Promise<void>) | undefined;
  try {
    const prepared = prepareEvents(context, provider.name, message, exchange, { kind: 'replied', document, replyBodySha256: reply.bodySha256, fromStore: outgoing.fromStore });
    events = prepared === undefined ? undefined : () => prepared.send();
  } catch (error) {
    events = () => Promise.reject(error as Error);
  }
  try {
    await reply.sent;
  } catch (error) {
    return replyFailed(exchange, document.request_id, error);
  }
  try {
    await events?.();
  } catch (error) {
    return sendFailed(exchange, document.request_id, error, { stage: 'events', reason: 'EVENTS_UNDELIVERABLE' });
  }
  // An ACK that fails (connection lost) throws to the worker: the broker redelivers the request
  // and the redelivery gets the recorded answer again.
  await exchange.message.ack();
  return {
    kind: 'replied',
    type: document.type,
    status: document.status,
    ...(document.error === undefined ? {} : { code: document.error.code }),
    replayedFromStore: outgoing.fromStore,
  };
}

/**
 * A reply the broker refused or could not take: NACK, or dead-letter once it failed
 * `maxReplyAttempts` times. Where the broker dead-letters a NACKed message itself instead of
 * redelivering it (ActiveMQ: to `ActiveMQ.DLQ`, without a reason), it is dead-lettered here at
 * once, with its reason.
 */
function replyFailed(exchange: Exchange, requestId: string, error: unknown): Promise<Disposition> {
  return sendFailed(exchange, requestId, error, { stage: 'reply', reason: 'REPLY_UNDELIVERABLE' });
}

/**
 * A SEND of the answer's (the reply, or the events after it) that failed: NACK, or dead-letter
 * with `failure.reason` once the request's sends failed `maxReplyAttempts` times (one counter for
 * both), or at once on a broker that never redelivers a NACKed message.
 */
async function sendFailed(exchange: Exchange, requestId: string, error: unknown, failure: { stage: string; reason: 'REPLY_UNDELIVERABLE' | 'EVENTS_UNDELIVERABLE' }): Promise<Disposition> {
  const { context, provider, message } = exchange;
  const key = exchange.claimed ?? { requestId, expiresAt: context.options.clock() };
  let attempts = 0;
  try {
    attempts = await context.store.replyFailed(key.requestId, key.expiresAt);
  } catch (storeError) {
    context.reportError({ stage: 'store', provider: provider.name, ...describeError(storeError), requeued: true });
  }
  const redelivers = quirksOf(context.connection.brokerKind ?? 'unknown').nack === 'requeue';
  if (redelivers && attempts < context.options.maxReplyAttempts) return requeue(exchange, failure.stage, error);
  context.reportError({ stage: failure.stage, provider: provider.name, ...describeError(error), requeued: false });
  // The request opened, so its body is ciphertext: it is kept. A request whose events cannot be
  // sent is dead-lettered without them (sending them again would fail again): the DLQ keeps it.
  return deadLetter(context, provider.name, message, failure.reason, 'decrypted', exchange, { events: failure.reason !== 'EVENTS_UNDELIVERABLE', requestId });
}

/**
 * Hands the message back to the broker (NACK) after `stage` failed, and reports it. A NACK that
 * fails means the connection is gone, and the broker redelivers anyway.
 */
export async function requeue(exchange: Exchange, stage: string, error: unknown): Promise<Disposition> {
  const described = describeError(error);
  exchange.context.reportError({ stage, provider: exchange.provider.name, ...described, requeued: true });
  await exchange.message.nack().catch(() => undefined);
  return { kind: 'requeued', reason: described.code };
}
