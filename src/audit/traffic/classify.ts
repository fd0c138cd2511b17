/**
 * What a captured message is, from the destination its sender gave: a request to a provider
 * (`<prefix><provider>`), a dead letter (`….dlq`), an events message (the events queue), a reply
 * (a temporary or reply queue), or other. The destination is set by whoever sent the message, so
 * it is only a claim; the scan reports it as found.
 */
import type { MessageKind } from './scan-report.ts';

/** How destinations are named in the deployment scanned. */
export interface DestinationNaming {
  /** Provider queues are `<requestPrefix><provider>` (default `/queue/paygate.`). */
  readonly requestPrefix: string;
  /** The events queue (default `/queue/paygate.feed.events`). */
  readonly eventsQueue: string;
  /** The dead-letter suffix (`.dlq`). */
  readonly dlqSuffix: string;
}

/** A destination's kind and, for requests and dead letters, the provider it names. */
export interface DestinationClass {
  readonly kind: MessageKind;
  readonly provider?: string;
}

/** A provider name as the wire contract allows it (src/wire/documents.ts `nameSchema`). */
const PROVIDER_NAME = /^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/;
const MAX_PROVIDER_CHARS = 64;

/**
 * Reply destinations, as a responder SENDs to them on each broker (src/worker/reply-to.ts), and
 * as a requester names them (`/temp-queue/…`).
 */
const REPLY_PREFIXES = ['/temp-queue/', '/remote-temp-queue/', '/reply-queue/'];
/**
 * Last path segments that only brokers give out: RabbitMQ's server-named queues (`amq.gen-…`,
 * which clients cannot declare) and ActiveMQ's temporary destinations (`ID:<connection id>…`),
 * whatever prefix a broker capture shows them under.
 */
const BROKER_NAMED = /^(amq\.gen-|ID:)/;

/** Classifies `destination`. */
export function classifyDestination(destination: string, naming: DestinationNaming): DestinationClass {
  if (destination === naming.eventsQueue) return { kind: 'events' };
  if (REPLY_PREFIXES.some((prefix) => destination.startsWith(prefix))) return { kind: 'reply' };
  if (BROKER_NAMED.test(destination.slice(destination.lastIndexOf('/') + 1))) return { kind: 'reply' };
  if (!destination.startsWith(naming.requestPrefix)) return { kind: 'other' };
  const rest = destination.slice(naming.requestPrefix.length);
  if (rest.endsWith(naming.dlqSuffix)) {
    const provider = rest.slice(0, -naming.dlqSuffix.length);
    return isProvider(provider) ? { kind: 'dead_letter', provider } : { kind: 'dead_letter' };
  }
  return isProvider(rest) ? { kind: 'request', provider: rest } : { kind: 'other' };
}

function isProvider(name: string): boolean {
  return name.length <= MAX_PROVIDER_CHARS && PROVIDER_NAME.test(name);
}
