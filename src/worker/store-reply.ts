/**
 * Storing an outcome the plugin gave (docs/idempotency.md): `complete` and the request id's
 * answer in ONE store operation (one commit, as before the answer was recorded), on disk, then
 * send, then ACK. When another worker completed the key first, its reply is the one sent, so
 * every answer for a key is the same.
 */
import type { Disposition } from './context.ts';
import { describeError } from './describe-error.ts';
import type { StoreOperations } from './store-engine.ts';
import { encodeReply, replyDocument, rewriteStoredReply, sendReply, unknownAnswer, type Answer, type RequestRef } from './reply.ts';
import { deliver, recordIn, requeue, type ClaimedExchange, type Outgoing } from './respond.ts';

/** Stores `answer` as the reply of (provider, idempotencyKey) and as the request's answer, then sends it and ACKs. */
export async function storeAndSend(exchange: ClaimedExchange, request: RequestRef, idempotencyKey: string, answer: Answer): Promise<Disposition> {
  const { context, provider, claimed } = exchange;
  const now = context.options.clock();
  const document = replyDocument(request, answer, now);
  let outgoing: Outgoing;
  try {
    outgoing = await context.store.atomic(async (tx) => {
      const stored = await tx.complete({ provider: provider.name, idempotencyKey, reply: encodeReply(document), now });
      const mine = stored.alreadyCompleted ? { document: rewriteStoredReply(stored.reply, request, now), fromStore: true } : { document, fromStore: false };
      return recordIn(tx, claimed, mine, now);
    });
  } catch (error) {
    // The provider was called but its outcome is not on disk: tell the client it is unknown, and
    // leave the request with the broker; its redelivery finds the entry in progress and reconciles.
    const unknown = replyDocument(request, unknownAnswer(), now);
    await sendReply(context, exchange.message, exchange.opened, { yaml: encodeReply(unknown), requestId: request.id }).catch((sendError: unknown) => {
      context.reportError({ stage: 'reply', provider: provider.name, ...describeError(sendError), requeued: true });
    });
    return requeue(exchange, 'store', error);
  }
  return deliver(exchange, outgoing);
}

/**
 * Runs `step` (e.g. `abandon`: freeing the key) and records `answer` as the request's answer in
 * ONE store operation, then sends it and ACKs. `step` deals with its own expected failures and
 * returns one to report (after the commit), if any; a failure of the operation as a whole NACKs.
 */
export async function respondAfter(
  exchange: ClaimedExchange,
  request: RequestRef,
  answer: Answer,
  step: (tx: StoreOperations) => Promise<unknown>,
): Promise<Disposition> {
  const { context, provider, claimed } = exchange;
  const now = context.options.clock();
  const document = replyDocument(request, answer, now);
  let outgoing: Outgoing;
  let stepError: unknown;
  try {
    outgoing = await context.store.atomic(async (tx) => {
      stepError = await step(tx);
      return recordIn(tx, claimed, { document, fromStore: false }, now);
    });
  } catch (error) {
    return requeue(exchange, 'store', error);
  }
  if (stepError !== undefined) context.reportError({ stage: 'store', provider: provider.name, ...describeError(stepError), requeued: false });
  return deliver(exchange, outgoing);
}
