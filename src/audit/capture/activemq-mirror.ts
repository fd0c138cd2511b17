/**
 * ActiveMQ's mirrored queues as capture records.
 *
 * With `<mirroredQueue copyMessage="true" prefix="mirror." postfix=""/>` (scripts/activemq/
 * activemq.xml) the broker copies every message sent to queue Q onto topic `mirror.Q`, headers
 * and body as the consumer of Q gets them; temporary queues are mirrored too (BrokerService's
 * `useTempMirroredQueues`, on by default), as `mirror.ID:…`. One wildcard subscription,
 * `/topic/mirror.>`, sees them all; the consumers of Q are not involved.
 *
 * A prefix rather than a postfix: every mirror lives under one name the authorization map can
 * give to the audit login alone, whatever the queue's name (a temporary queue's name holds the
 * broker's host name, dots included), and no other entry (`paygate.>` topics, which operators
 * may write) covers a mirror, so nobody can publish a forged copy into one.
 */
import type { Headers } from '../../stomp/index.ts';

/** The topic prefix the broker's `mirroredQueue` is configured with. */
export const MIRROR_PREFIX = 'mirror.';

/** The one subscription the capture needs. */
export const MIRROR_DESTINATION = `/topic/${MIRROR_PREFIX}>`;

/**
 * Headers the broker sets on every delivery, not the sender: delivery bookkeeping, and the
 * defaults ActiveMQ writes into each message (`expires:0`, `priority:4`, its own `timestamp`).
 * A sender's own non-default `expires` or `priority` is kept.
 */
const DELIVERY_HEADERS = new Set(['subscription', 'ack', 'message-id', 'redelivered', 'timestamp']);
const BROKER_DEFAULTS: Readonly<Record<string, string>> = { expires: '0', priority: '4' };

/**
 * The destination a sender gave for a mirror copy that arrived on `mirrorDestination`
 * (`/topic/mirror.Q`), or undefined when Q is outside the audit (neither a paygate queue nor a
 * temporary queue). A temporary queue is what the worker SENT to: `/remote-temp-queue/ID:…`,
 * the `reply-to` ActiveMQ handed it.
 */
export function mirroredQueue(mirrorDestination: string): string | undefined {
  const prefix = `/topic/${MIRROR_PREFIX}`;
  if (!mirrorDestination.startsWith(prefix)) return undefined;
  const queue = mirrorDestination.slice(prefix.length);
  if (queue.startsWith('paygate.')) return `/queue/${queue}`;
  if (queue.startsWith('ID:')) return `/remote-temp-queue/${queue}`;
  return undefined;
}

/**
 * The headers of a mirror copy as the sender set them, as far as ActiveMQ keeps them: the
 * destination put back first, the broker's delivery headers and defaults left out, the rest in
 * the order the broker sent them.
 */
export function senderHeaders(headers: Readonly<Headers>, destination: string): [string, string][] {
  const out: [string, string][] = [['destination', destination]];
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'destination' || DELIVERY_HEADERS.has(name) || BROKER_DEFAULTS[name] === value) continue;
    out.push([name, value]);
  }
  return out;
}
