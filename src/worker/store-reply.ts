/**
 * Storing an outcome the plugin gave (docs/idempotency.md): `complete` first, on disk, then send,
 * then ACK. When another worker completed the key first, its reply is the one sent, so every
 * answer for a key is the same.
 */
import type { Disposition } from './context.ts';
import { describeError } from './describe-error.ts';
import { encodeReply, replyDocument, rewriteStoredReply, sendReply, unknownAnswer, type Answer, type RequestRef } from './reply.ts';
import { requeue, respondWith, type Exchange } from './respond.ts';

/** Stores `answer` as the reply of (provider, idempotencyKey), then sends it and ACKs. */
export async function storeAndSend(exchange: Exchange, request: RequestRef, idempotencyKey: string, answer: Answer): Promise<Disposition> {
  const { context, provider } = exchange;
  const now = context.options.clock();
  const document = replyDocument(request, answer, now);
  let stored;
  try {
    stored = await context.store.complete({ provider: provider.name, idempotencyKey, reply: encodeReply(document), now });
  } catch (error) {
    // The provider was called but its outcome is not on disk: tell the client it is unknown, and
    // leave the request with the broker; its redelivery finds the entry in progress and reconciles.
    const unknown = replyDocument(request, unknownAnswer(), now);
    await sendReply(context, exchange.message, exchange.opened, { yaml: encodeReply(unknown), requestId: request.id }).catch((sendError: unknown) => {
      context.reportError({ stage: 'reply', provider: provider.name, ...describeError(sendError), requeued: true });
    });
    return requeue(exchange, 'store', error);
  }
  if (!stored.alreadyCompleted) return respondWith(exchange, document, false);
  return respondWith(exchange, rewriteStoredReply(stored.reply, request, now), true);
}
