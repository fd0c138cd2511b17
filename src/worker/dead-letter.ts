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
 */
import { createHmac, hkdfSync, type KeyObject } from 'node:crypto';
import type { StompMessage } from '../stomp/index.ts';
import { HEADER, maskPan, open } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';

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
 * Copied header values pass `maskPan` (a client may put anything in them).
 *
 * @throws whatever the SEND or ACK throws; the caller requeues the message then.
 */
export async function deadLetter(
  context: WorkerContext,
  provider: string,
  message: StompMessage,
  reason: string,
  evidence: BodyEvidence,
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
  await message.ack();
  context.log.warn('request dead-lettered', { provider, reason, bodyWithheld: evidence !== 'decrypted' });
  return { kind: 'dead-lettered', reason };
}
