import type { BrokerKind } from './broker-kind.ts';
import type { Headers } from './session.ts';

/**
 * RabbitMQ's queue types, and the header with which a SEND or SUBSCRIBE declares one.
 *
 * RabbitMQ's STOMP plugin declares the queue a `/queue/<name>` frame names (durable, on the
 * first SEND or SUBSCRIBE of each name in a session), with the queue arguments it finds among the
 * frame's headers: `x-queue-type` among them. A queue keeps the type it was first declared with;
 * a later frame declaring it with another type (or none, unless the vhost's default queue type
 * matches) is refused with PRECONDITION_FAILED ("inequivalent arg 'x-queue-type'"), an ERROR that
 * closes the connection. So every client, worker and feed of a deployment must declare the same
 * type: one connection option, `queueType`, set once per deployment (docs/rabbitmq-cluster.md).
 *
 * Other brokers have no such header: ActiveMQ would pass it on to consumers as a message property
 * and the embedded broker as a header, so it is sent to RabbitMQ only, decided per session (a
 * failover may land on another kind of broker).
 */

/**
 * `quorum`: RabbitMQ's replicated queue (Raft), the one to use on a cluster: a message it
 * confirmed (RECEIPT) survives the loss of a minority of the nodes. `classic`: a queue on one
 * node (RabbitMQ's default type).
 */
export const QUEUE_TYPES = ['classic', 'quorum'] as const;
/** One of {@link QUEUE_TYPES}. */
export type QueueType = (typeof QUEUE_TYPES)[number];

/** The header that declares a queue's type, per broker kind; undefined where there is none. */
const QUEUE_TYPE_HEADER: Readonly<Record<BrokerKind, string | undefined>> = {
  rabbitmq: 'x-queue-type',
  activemq: undefined,
  embedded: undefined,
  unknown: undefined,
};

/** The frames with which RabbitMQ declares the `/queue/` destination they name. */
const DECLARING_COMMANDS: ReadonlySet<string> = new Set(['SEND', 'SUBSCRIBE']);

/** The destinations RabbitMQ declares as queues (`/amq/queue/` names an existing queue; temp and reply queues are its own). */
const DECLARED_PREFIX = '/queue/';

/**
 * The headers to add to a frame so that the queue it declares is of `queueType`: the broker's
 * queue-type header on a SEND or SUBSCRIBE to `/queue/…`, nothing for any other frame or
 * destination, on a broker without such a header, or when no type is configured. Added after the
 * caller's headers, they take precedence over an `x-queue-type` given for one frame: the
 * deployment's choice is the one that holds.
 */
export function queueTypeHeaders(command: string, headers: Readonly<Headers>, kind: BrokerKind, queueType: QueueType | undefined): Headers {
  const header = QUEUE_TYPE_HEADER[kind];
  if (queueType === undefined || header === undefined || !DECLARING_COMMANDS.has(command)) return {};
  const destination = headers.destination;
  if (destination === undefined || !destination.startsWith(DECLARED_PREFIX)) return {};
  return { [header]: queueType };
}
