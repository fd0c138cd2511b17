/** The idempotency store's key of a request's recorded answer (a leaf module: respond.ts and audit-events.ts both use it). */

/**
 * The store's key for a request's recorded answer: the request id, scoped to the certificate
 * that signed it and the provider's queue. A request id is chosen by its sender and travels in
 * clear (`correlation-id`): scoped to the id alone, one shop could send a request of its own
 * under another shop's id and be answered with that shop's recorded reply (sealed to the new
 * signer), or, first in, make the other shop's payment come back with its own answer.
 */
export function answerKeyOf(signerFingerprint: string, provider: string, requestId: string): string {
  return `${requestId}|${provider}|${signerFingerprint}`;
}
