/**
 * Reply documents: building them from an answer, rewriting a stored one for a later request,
 * sealing one to the request's signer and sending it to the exact `reply-to` received.
 *
 * Every reply passes a card-number mask before it is encoded: error messages through `maskPan`,
 * results value by value ({@link maskResult}), the echoed `type` ({@link echoableType}) and the
 * `correlation-id` header. A reply is stored in the idempotency store as it is
 * encoded here, so this is also what keeps card data out of the store (docs/idempotency.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { StompMessage } from '../stomp/index.ts';
import {
  decodeYaml, encodeYaml, HEADER, maskPan, replyDocumentSchema, replyHeaders, seal, Secret, type OpenedMessage, type ReplyDocument,
  type ReplyStatus,
} from '../wire/index.ts';
import { maskCardNumbers } from '../wire/card-text.ts';
import type { WorkerContext } from './context.ts';

/** What the worker answers: a status with a result and/or an error. */
export interface Answer {
  readonly status: ReplyStatus;
  readonly result?: Readonly<Record<string, unknown>>;
  readonly error?: { readonly code: string; readonly message: string; readonly retryable: boolean };
}

/** Which request a reply answers. */
export interface RequestRef {
  readonly id: string;
  readonly provider: string;
  readonly type: string;
}

/** The reply's error message limit (replyErrorSchema's). */
const MAX_MESSAGE = 1024;

/** An `error` answer; the message is masked and cut to the wire's limit. */
export function errorAnswer(code: string, message: string, retryable: boolean): Answer {
  return { status: 'error', error: { code, message: maskPan(message).slice(0, MAX_MESSAGE), retryable } };
}

/** The `unknown` answer: the provider may have been charged; a retry with the same key reconciles. */
export function unknownAnswer(): Answer {
  return {
    status: 'unknown',
    error: {
      code: 'OUTCOME_UNKNOWN',
      message: 'the outcome is not known yet (the provider may have been charged): retry with the same idempotency key',
      retryable: true,
    },
  };
}

/**
 * A copy of a result with every value that could hold a card number masked: strings and numbers
 * through `maskPan`, `Secret`s as their mask. A plugin's result schema should never carry card
 * data; this makes sure a mistake does not reach the client, the store or a log.
 */
export function maskResult(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPan(value);
  if (typeof value === 'number') {
    const text = String(value);
    return maskPan(text) === text ? value : maskPan(text);
  }
  if (value instanceof Secret) return value.masked;
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item: unknown) => maskResult(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, maskPan(key), { value: maskResult(item, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The reply document for `request`, validated by the wire schema. */
export function replyDocument(request: RequestRef, answer: Answer, now: number): ReplyDocument {
  return replyDocumentSchema.parse({
    paygate: 1,
    kind: 'reply',
    id: randomUUID(),
    request_id: request.id,
    provider: request.provider,
    type: echoableType(request.type),
    sent_at: new Date(now).toISOString(),
    status: answer.status,
    ...(answer.result === undefined ? {} : { result: maskResult(answer.result) }),
    ...(answer.error === undefined ? {} : { error: { ...answer.error, message: maskPan(answer.error.message).slice(0, MAX_MESSAGE) } }),
  });
}

/**
 * A stored reply made to answer `request` (a client retry with a new `id`, or a redelivery): the
 * same status, result and error, with a new `id`, the current `request_id` and `sent_at`.
 */
export function rewriteStoredReply(stored: Buffer, request: RequestRef, now: number): ReplyDocument {
  const previous = replyDocumentSchema.parse(decodeYaml(stored));
  return replyDocumentSchema.parse({
    ...previous,
    id: randomUUID(),
    request_id: request.id,
    sent_at: new Date(now).toISOString(),
  });
}

/** The reply as the bytes that are stored and sealed. */
export function encodeReply(document: ReplyDocument): string {
  return encodeYaml(replyDocumentSchema.parse(document));
}

/** A reply sealed and on its way: the SHA-256 (hex) of its body, and the SEND's receipt. */
export interface StartedReply {
  /** SHA-256 of the body exactly as sent (the audit record's `reply_body_sha256`). */
  readonly bodySha256: string;
  /** Resolves once the broker confirmed the SEND; rejects like {@link sendReply}. */
  readonly sent: Promise<void>;
}

/**
 * Seals `yaml` to the request's signer (signed by the gateway, in the request's cipher family)
 * and SENDs it to the `reply-to` the request carried (checked by reply-to.ts before anything
 * else), on the publishing connection, waiting for the broker's receipt. Resolves with the
 * SHA-256 (hex) of the body as sent.
 */
export async function sendReply(
  context: WorkerContext,
  message: StompMessage,
  opened: OpenedMessage,
  reply: { readonly yaml: string; readonly requestId: string },
): Promise<string> {
  const started = startReply(context, message, opened, reply);
  await started.sent;
  return started.bodySha256;
}

/**
 * {@link sendReply} without waiting: seals now (throws what `seal` throws) and starts the SEND;
 * the caller can work while the receipt is on its way, and must await `sent`.
 */
export function startReply(
  context: WorkerContext,
  message: StompMessage,
  opened: OpenedMessage,
  reply: { readonly yaml: string; readonly requestId: string },
): StartedReply {
  const cipher = opened.algorithms.contentEncryption;
  const body = seal(reply.yaml, { recipients: [opened.signer], signer: context.identity, cipher });
  const replyTo = message.headers[HEADER.replyTo] as string;
  // A foreign client that sent no correlation-id can still match the reply by its request id. The
  // header is the client's own text: masked by the rule the feed's card scan refuses by, so a card
  // number put there, however written, is never sent back in clear.
  const correlationId = maskCardNumbers(message.headers[HEADER.correlationId] ?? reply.requestId);
  // Through the node that delivered the request: its reply-to exists there (publisher.ts).
  const sent = context.publisher.send(replyTo, body, replyHeaders({ correlationId, cipher }), message.node);
  // The S/MIME text is ASCII: these are the bytes the frame carried.
  return { bodySha256: createHash('sha256').update(body, 'utf8').digest('hex'), sent };
}

/**
 * A request `type` as a reply may echo it: the wire's name rule allows a run of digits, so a card
 * number typed into `type` would come back in the reply; such a type is answered as `unknown`.
 */
export function echoableType(type: string): string {
  return maskPan(type) === type ? type : 'unknown';
}
