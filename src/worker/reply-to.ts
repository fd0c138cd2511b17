/**
 * Which `reply-to` the worker will answer on. The header is set by whoever sent the request, so
 * it is untrusted: sent back as is, it would let anyone holding a captured request make the
 * worker SEND to a destination of their choosing, with the worker's broker rights (on RabbitMQ,
 * `/reply-queue/paygate.card` is the default exchange with routing key `paygate.card`: the
 * request queue itself).
 *
 * So a reply goes only to the private reply queues the brokers themselves name, as measured on
 * each (docs/operations.md, "Reply destinations"):
 *
 * | broker    | what a responder receives                                   |
 * | --------- | ----------------------------------------------------------- |
 * | embedded  | `/remote-temp-queue/<session>.<name>`                       |
 * | ActiveMQ  | `/remote-temp-queue/ID:<connection id>`                     |
 * | RabbitMQ  | `/reply-queue/amq.gen-<server-generated name>`              |
 *
 * Only the form of the broker the request came from is accepted (both forms when the broker is
 * not recognised), plus an optional deployment pattern (`replyToPattern`, e.g. for foreign
 * clients that read replies from a queue of their own). Anything else is dead-lettered as
 * `BAD_REPLY_TO` and nothing is sent.
 */
import type { BrokerKind } from '../stomp/index.ts';

/** Printable ASCII without `/` or spaces: one path segment. */
const SEGMENT = '[!-.0-~]{1,255}';

/** The reply-queue form of each broker kind. */
const FORMS: Readonly<Record<'temp' | 'activemq' | 'rabbitmq', RegExp>> = {
  // The embedded broker: `<session>.<name>` (src/broker/temp-queues.ts).
  temp: new RegExp(`^/remote-temp-queue/${SEGMENT}$`),
  // ActiveMQ names temporary destinations after the owning connection's id.
  activemq: /^\/remote-temp-queue\/ID:[!-.0-~]{1,252}$/,
  // RabbitMQ: a server-named queue; clients cannot declare `amq.`-prefixed names, so only a reply queue matches.
  rabbitmq: /^\/reply-queue\/amq\.gen-[A-Za-z0-9_-]{1,64}$/,
};

const FORMS_OF: Readonly<Record<BrokerKind, readonly RegExp[]>> = {
  embedded: [FORMS.temp],
  activemq: [FORMS.activemq],
  rabbitmq: [FORMS.rabbitmq],
  unknown: [FORMS.temp, FORMS.rabbitmq],
};

/** A deployment's own reply destination pattern, matched against the whole header value. */
export function compileReplyToPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

/** Whether `pattern` compiles as a regular expression (for the options' validation). */
export function isReplyToPattern(pattern: string): boolean {
  try {
    compileReplyToPattern(pattern);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `replyTo` cannot be answered on, or undefined when it can: `NO_REPLY_TO` when it is
 * missing or empty, `BAD_REPLY_TO` when it is not a reply queue of `broker` (nor matches `extra`).
 */
export function replyToProblem(replyTo: string | undefined, broker: BrokerKind, extra: RegExp | undefined): 'NO_REPLY_TO' | 'BAD_REPLY_TO' | undefined {
  if (replyTo === undefined || replyTo === '') return 'NO_REPLY_TO';
  if (FORMS_OF[broker].some((form) => form.test(replyTo))) return undefined;
  if (extra?.test(replyTo) === true) return undefined;
  return 'BAD_REPLY_TO';
}
