/**
 * Dead letters: a message the worker cannot answer safely (unreadable, untrusted, expired, no
 * `reply-to`) is never dropped silently. Its body is sent unchanged (still encrypted, or as it
 * was received) to `${queuePrefix}<provider>${dlqSuffix}` with the reason and the time, so it
 * stays auditable; then the original is ACKed. Nothing of its content is logged.
 */
import type { StompMessage } from '../stomp/index.ts';
import { HEADER } from '../wire/index.ts';
import type { Disposition, WorkerContext } from './context.ts';

/** The dead-letter queue of a provider. */
export function deadLetterQueue(context: WorkerContext, provider: string): string {
  return `${context.options.queuePrefix}${provider}${context.options.dlqSuffix}`;
}

/**
 * Moves `message` to the provider's dead-letter queue (with a receipt), then ACKs it.
 * The original `expires` is not copied: an expired request would be dropped by the broker on its
 * way to the DLQ, which is the silent loss the DLQ exists to prevent.
 *
 * @throws whatever the SEND or ACK throws; the caller requeues the message then.
 */
export async function deadLetter(context: WorkerContext, provider: string, message: StompMessage, reason: string): Promise<Disposition> {
  const headers: Record<string, string> = {
    [HEADER.dlqReason]: reason,
    [HEADER.dlqAt]: String(context.options.clock()),
    [HEADER.persistent]: 'true',
  };
  for (const name of [HEADER.correlationId, HEADER.contentType, HEADER.version]) {
    const value = message.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  await context.connection.send(deadLetterQueue(context, provider), message.body, { headers, receipt: true });
  await message.ack();
  context.log.warn('request dead-lettered', { provider, reason });
  return { kind: 'dead-lettered', reason };
}
