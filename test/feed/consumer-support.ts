/**
 * Shared pieces of the events consumer's tests: events documents as a worker writes them
 * (src/audit/events.ts), sealed with the gateway identity to the feed certificate, a sender on
 * the real broker, and waiting on the consumer's own events (never on a clock).
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { EventsDocument } from '../../src/audit/events.ts';
import type { EventsConsumer, EventsConsumerStats } from '../../src/feed/events-consumer.ts';
import { Certificate, encodeYaml, loadIdentity, seal, type Identity } from '../../src/wire/index.ts';
import type { PkiIdentity, TestPki } from '../helpers/pki.ts';

export const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** One processed request's events document: its audit record and, with `payment`, its payment event. */
export function eventsDocument(options: { payment?: boolean; correlationId?: string; status?: 'approved' | 'declined' } = {}): EventsDocument {
  const requestId = randomUUID();
  const bodySha = sha256(randomUUID());
  const status = options.status ?? 'approved';
  const time = new Date().toISOString();
  const audit = {
    time,
    request_id: requestId,
    correlation_id: options.correlationId ?? `corr-${requestId.slice(0, 8)}`,
    provider: 'card',
    type: 'authorize',
    outcome: status === 'approved' ? { status } : { status, code: 'DO_NOT_HONOR' },
    replayed_from_store: false,
    amount: { value: 2500, currency: 'EUR' },
    request_body_sha256: bodySha,
    reply_body_sha256: sha256(`reply-${bodySha}`),
    worker: 'worker-1',
    duration_ms: 12.5,
    card: '411111******1111',
  };
  const events: EventsDocument['events'] = [{ kind: 'audit', key: sha256(`audit|card|${bodySha}|${status}|`), record: audit }];
  if (options.payment !== false) {
    events.push({
      kind: 'payment',
      key: sha256(`payment|${requestId}|${status}|`),
      record: {
        time,
        request_id: requestId,
        provider: 'card',
        type: 'authorize',
        status,
        ...(status === 'approved' ? {} : { code: 'DO_NOT_HONOR' }),
        amount: { value: 2500, currency: 'EUR' },
        provider_ids: { transaction_id: `cg-${requestId.slice(0, 6)}` },
        idempotency_key: `order-${requestId.slice(0, 8)}`,
        card: '411111******1111',
        requester_sha256: sha256('client'),
      },
    });
  }
  return { paygate_event: 1, events };
}

/** Seals YAML as a worker does: signed by `signer` (the gateway by default), encrypted to the feed certificate. */
export function sealEvents(pki: TestPki, document: unknown, signer: PkiIdentity = pki.gateway): string {
  const identity: Identity = loadIdentity(signer.certPem, signer.keyPem);
  const yaml = typeof document === 'string' ? document : encodeYaml(document);
  return seal(yaml, { recipients: [Certificate.from(pki.feed.certPem)], signer: identity });
}

/** Resolves once `done(stats)` holds, checked after each of the consumer's batches, ACKs, dead letters and store failures. */
export async function until(consumer: EventsConsumer, done: (stats: EventsConsumerStats) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs);
  while (!done(consumer.stats)) {
    const round = new AbortController();
    const signal = AbortSignal.any([deadline, round.signal]);
    try {
      await Promise.race((['batch', 'acked', 'dead-letter', 'store-error'] as const).map((name) => once(consumer, name, { signal })));
    } catch {
      if (deadline.aborted) throw new Error(`consumer stats did not reach the condition within ${timeoutMs} ms: ${JSON.stringify(consumer.stats)}`);
    } finally {
      round.abort();
    }
  }
}
