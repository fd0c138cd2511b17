/**
 * What differs between the brokers paygate runs on, read from CONNECTED's `server` header.
 * Everything broker-specific in `src/stomp` asks this table rather than testing names itself.
 */

/** The brokers we know; `unknown` gets the STOMP 1.2 behaviour and no prefetch header. */
export type BrokerKind = 'rabbitmq' | 'activemq' | 'embedded' | 'unknown';

/** How a broker gives a client its private reply queue (see temp-queue.ts). */
export type TempQueueStyle =
  /** A SEND with `reply-to:/temp-queue/x` creates it; replies arrive on the implicit subscription id `/temp-queue/x`. */
  | 'implicit'
  /** The client SUBSCRIBEs to `/temp-queue/x` like any destination. */
  | 'subscribe';

/** One broker's quirks. */
export interface BrokerQuirks {
  readonly kind: BrokerKind;
  /** The SUBSCRIBE header that limits unacknowledged messages, if the broker has one. */
  readonly prefetchHeader: string | undefined;
  readonly tempQueues: TempQueueStyle;
  /**
   * What NACK does: `requeue` puts the message back (redelivered); `dead-letter` never redelivers
   * (ActiveMQ: a persistent message goes to `ActiveMQ.DLQ`, a non-persistent one is dropped).
   */
  readonly nack: 'requeue' | 'dead-letter';
}

const QUIRKS: Readonly<Record<BrokerKind, BrokerQuirks>> = {
  rabbitmq: { kind: 'rabbitmq', prefetchHeader: 'prefetch-count', tempQueues: 'implicit', nack: 'requeue' },
  activemq: { kind: 'activemq', prefetchHeader: 'activemq.prefetchSize', tempQueues: 'subscribe', nack: 'dead-letter' },
  // The embedded broker (src/broker) follows ActiveMQ's temp-queue scheme and requeues on NACK.
  embedded: { kind: 'embedded', prefetchHeader: 'prefetch-count', tempQueues: 'subscribe', nack: 'requeue' },
  unknown: { kind: 'unknown', prefetchHeader: undefined, tempQueues: 'subscribe', nack: 'requeue' },
};

/** The broker kind named by a CONNECTED `server` header such as `RabbitMQ/3.12.1`. */
export function brokerKindOf(server: string | undefined): BrokerKind {
  const name = (server ?? '').split('/')[0]?.trim().toLowerCase() ?? '';
  if (name === 'rabbitmq') return 'rabbitmq';
  if (name === 'activemq') return 'activemq';
  if (name === 'paygate') return 'embedded';
  return 'unknown';
}

/** The quirks of a broker kind. */
export const quirksOf = (kind: BrokerKind): BrokerQuirks => QUIRKS[kind];
