/**
 * The last step of every answered message: send the reply, and ONLY THEN ACK the request. A
 * reply that cannot be sent leaves the request with the broker (NACK): its redelivery is
 * answered from the idempotency store, so the client still gets the one answer.
 */
import type { ProviderDefinition } from '../providers/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import type { OpenedMessage, ReplyDocument } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { describeError } from './describe-error.ts';
import { encodeReply, replyDocument, sendReply, type Answer, type RequestRef } from './reply.ts';

/** One opened request on its way through the pipeline. */
export interface Exchange {
  readonly context: WorkerContext;
  readonly provider: ProviderDefinition;
  readonly message: StompMessage;
  readonly opened: OpenedMessage;
}

/** Answers `request` with `answer`: builds the reply document, sends it, ACKs. */
export function respond(exchange: Exchange, request: RequestRef, answer: Answer): Promise<Disposition> {
  return respondWith(exchange, replyDocument(request, answer, exchange.context.options.clock()), false);
}

/** Sends a reply document that is already built (e.g. a stored one, rewritten), then ACKs. */
export async function respondWith(exchange: Exchange, document: ReplyDocument, replayedFromStore: boolean): Promise<Disposition> {
  const yaml = encodeReply(document);
  try {
    await sendReply(exchange.context, exchange.message, exchange.opened, { yaml, requestId: document.request_id });
  } catch (error) {
    return requeue(exchange, 'reply', error);
  }
  // An ACK that fails (connection lost) throws to the worker: the broker redelivers the request
  // and the redelivery is answered again, from the store when the reply was stored.
  await exchange.message.ack();
  return {
    kind: 'replied',
    type: document.type,
    status: document.status,
    ...(document.error === undefined ? {} : { code: document.error.code }),
    replayedFromStore,
  };
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
