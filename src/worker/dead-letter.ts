/**
 * Dead letters: a message the worker cannot answer safely (unreadable, untrusted, expired, no
 * usable `reply-to`, a reply that could not be delivered) is never dropped silently. It goes to
 * `${queuePrefix}<provider>${dlqSuffix}` with the reason and the time, so it stays auditable;
 * then the original is ACKed. Nothing of its content is logged.
 *
 * The body is copied only when it is proven ciphertext: when it was decrypted with the gateway's
 * key (a failure after decryption: bad signature, untrusted signer, unreadable document…). A
 * body that never decrypted may be anything, including a request a misconfigured client sent in
 * clear with a card number in it (NOT_ENCRYPTED, MALFORMED_*, and also NOT_A_RECIPIENT or
 * DECRYPT_FAILED: an "envelope" whose encrypted field is whatever its sender put there). Such a
 * body is withheld: the dead letter carries the headers, the body's size and a keyed digest of
 * it (HMAC-SHA-256; a plain hash of a short body such as a bare card number could be reversed by
 * trying every card number), and no body.
 *
 * Between the dead letter's SEND and the ACK, the request's audit record is sent to the events
 * queue (audit-events.ts), like after a reply.
 */
import { createHash, createHmac, hkdfSync, type KeyObject } from 'node:crypto';
import { quirksOf, type StompMessage } from '../stomp/index.ts';
import { HEADER, maskPan, open } from '../wire/index.ts';
import { publishEvents, type Seen } from './audit-events.ts';
import type { Disposition, WorkerContext } from './context.ts';
import { describeError } from './describe-error.ts';

/** Headers of a dead letter whose body was withheld. */
export const DLQ_BODY_HEADER = Object.freeze({
  /** `withheld` when the body was not copied. */
  body: 'paygate-dlq-body',
  /** The received body's size in bytes. */
  bytes: 'paygate-dlq-body-bytes',
  /** HMAC-SHA-256 (hex) of the received body under the gateway's dead-letter key ({@link deriveDeadLetterKey}). */
  hmac: 'paygate-dlq-body-hmac-sha256',
});

/** Whether a body was decrypted with the gateway's key (so it is ciphertext), or not shown to be. */
export type BodyEvidence = 'decrypted' | 'unproven';

/** Wire codes that `open()` raises only after the content decrypted. */
const AFTER_DECRYPTION = new Set(['UNSIGNED', 'BAD_SIGNATURE', 'UNTRUSTED_SIGNER', 'CERT_EXPIRED', 'YAML_INVALID', 'YAML_LIMIT']);

/** What an `open()` failure with `code` proves about the body. */
export function evidenceOfOpenFailure(code: string): BodyEvidence {
  return AFTER_DECRYPTION.has(code) ? 'decrypted' : 'unproven';
}

/**
 * For a message dead-lettered before it was opened (expired, no or bad `reply-to`): tries to
 * open it, only to know whether its body may be kept.
 */
export function evidenceOfBody(context: WorkerContext, message: StompMessage): BodyEvidence {
  try {
    open(message.body, { identity: context.identity, trust: context.trust, now: new Date(context.options.clock()) });
    return 'decrypted';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? evidenceOfOpenFailure(code) : 'unproven';
  }
}

/**
 * After a failed events SEND of a dead letter: whether to requeue the message (the caller NACKs)
 * rather than ACK it without its record. As for replies, at most `maxReplyAttempts` times (counted
 * in the store under the body's digest: such a message may have no request id), and never on a
 * broker that does not redeliver a NACKed message. The dead letter itself is in the DLQ already.
 */
async function sendAgainLater(context: WorkerContext, provider: string, message: StompMessage): Promise<boolean> {
  if (quirksOf(context.connection.brokerKind ?? 'unknown').nack !== 'requeue') return false;
  const key = `dead-letter|${provider}|${createHash('sha256').update(message.body).digest('hex')}`;
  try {
    return (await context.store.replyFailed(key, context.options.clock())) < context.options.maxReplyAttempts;
  } catch {
    return true;
  }
}

/** The HKDF label of the dead-letter digest key (distinct from the payload digest's). */
const DEAD_LETTER_INFO = 'paygate dead-letter body digest v1';

/** Derives the HMAC key of a withheld body's digest from the gateway's private key (32 bytes). */
export function deriveDeadLetterKey(gatewayPrivateKey: KeyObject): Buffer {
  const der = gatewayPrivateKey.export({ type: 'pkcs8', format: 'der' });
  return Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), DEAD_LETTER_INFO, 32));
}

/** The dead-letter queue of a provider. */
export function deadLetterQueue(context: WorkerContext, provider: string): string {
  return `${context.options.queuePrefix}${provider}${context.options.dlqSuffix}`;
}

/**
 * Moves `message` to the provider's dead-letter queue (on the publishing connection, with a
 * receipt), then ACKs it. Its body is copied when `evidence` is `decrypted`, else withheld (see
 * the module comment). The original `expires` is not copied: an expired request would be dropped
 * by the broker on its way to the DLQ, which is the silent loss the DLQ exists to prevent.
 * Copied header values pass `maskPan` (a client may put anything in them). Then the request's
 * audit record (`seen`: what was known of it) is sent, unless `options.events` is false (a
 * request dead-lettered because its events could not be sent), and only then the ACK.
 *
 * @throws whatever the SENDs or the ACK throw; the caller requeues the message then.
 */
export async function deadLetter(
  context: WorkerContext,
  provider: string,
  message: StompMessage,
  reason: string,
  evidence: BodyEvidence,
  seen: Seen,
  options: { readonly events?: boolean; readonly requestId?: string } = {},
): Promise<Disposition> {
  const headers: Record<string, string> = {
    [HEADER.dlqReason]: reason,
    [HEADER.dlqAt]: String(context.options.clock()),
    [HEADER.persistent]: 'true',
  };
  for (const name of [HEADER.correlationId, HEADER.contentType, HEADER.version]) {
    const value = message.headers[name];
    if (value !== undefined) headers[name] = maskPan(value);
  }
  let body: Buffer | string = message.body;
  if (evidence !== 'decrypted') {
    headers[DLQ_BODY_HEADER.body] = 'withheld';
    headers[DLQ_BODY_HEADER.bytes] = String(message.body.length);
    headers[DLQ_BODY_HEADER.hmac] = createHmac('sha256', context.deadLetterKey).update(message.body).digest('hex');
    body = '';
  }
  await context.publisher.send(deadLetterQueue(context, provider), body, headers, message.node);
  if (options.events !== false) {
    try {
      await publishEvents(context, provider, message, seen, { kind: 'dead-lettered', reason, ...(options.requestId === undefined ? {} : { requestId: options.requestId }) });
    } catch (error) {
      if (await sendAgainLater(context, provider, message)) throw error;
      context.reportError({ stage: 'events', provider, ...describeError(error), requeued: false });
    }
  }
  await message.ack();
  context.log.warn('request dead-lettered', { provider, reason, bodyWithheld: evidence !== 'decrypted' });
  return { kind: 'dead-lettered', reason };
}
