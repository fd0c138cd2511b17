/**
 * Which `reply-to` values the worker answers on (src/worker/reply-to.ts): the reply-queue form of
 * the broker the request came from, as each broker was seen to write it, and a deployment's own
 * pattern; everything else is `BAD_REPLY_TO` (`NO_REPLY_TO` when there is none). The forms seen
 * on the real brokers are checked end to end by hostile-reply-to.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerKind } from '../../src/stomp/index.ts';
import { compileReplyToPattern, isReplyToPattern, replyToProblem } from '../../src/worker/reply-to.ts';

const SEEN: Readonly<Record<Exclude<BrokerKind, 'unknown'>, string>> = {
  embedded: '/remote-temp-queue/paygate-mxclom27-1.paygate-3d6079c0-230e-4a42-89c7-9615f72c3e97',
  activemq: '/remote-temp-queue/ID:vm-39331-1796607200132-3:4:1',
  rabbitmq: '/reply-queue/amq.gen-EwhsECez3EZstuIocORSDA',
};

const HOSTILE = [
  '/queue/x',
  'nonsense',
  '/queue/paygate.card',
  '/reply-queue/paygate.card', // RabbitMQ: the default exchange, routing key paygate.card: the request queue
  '/reply-queue/amq.gen-', // no name
  '/reply-queue/amq.gen-x/y',
  '/remote-temp-queue/',
  '/remote-temp-queue/../queue/paygate.card',
  '/remote-temp-queue/a b',
  '/temp-queue/x',
  '/topic/paygate.audit',
  '/exchange/amq.direct/paygate.card',
  '/amq/queue/paygate.card',
  `/remote-temp-queue/${'a'.repeat(300)}`,
];

describe('replyToProblem', () => {
  it.each(Object.entries(SEEN))('accepts what %s writes', (kind, replyTo) => {
    expect(replyToProblem(replyTo, kind as BrokerKind, undefined)).toBeUndefined();
  });

  it('accepts only the form of the broker the request came from; both known forms when it is not recognised', () => {
    expect(replyToProblem(SEEN.rabbitmq, 'embedded', undefined)).toBe('BAD_REPLY_TO');
    expect(replyToProblem(SEEN.embedded, 'rabbitmq', undefined)).toBe('BAD_REPLY_TO');
    expect(replyToProblem(SEEN.embedded, 'activemq', undefined)).toBe('BAD_REPLY_TO'); // ActiveMQ's are connection ids
    expect(replyToProblem(SEEN.activemq, 'embedded', undefined)).toBeUndefined(); // a name like any other there
    expect(replyToProblem(SEEN.rabbitmq, 'unknown', undefined)).toBeUndefined();
    expect(replyToProblem(SEEN.embedded, 'unknown', undefined)).toBeUndefined();
  });

  it.each(HOSTILE)('refuses %s on every broker', (replyTo) => {
    for (const kind of ['embedded', 'activemq', 'rabbitmq', 'unknown'] as const) expect(replyToProblem(replyTo, kind, undefined), kind).toBe('BAD_REPLY_TO');
  });

  it('NO_REPLY_TO when the header is missing or empty', () => {
    expect(replyToProblem(undefined, 'embedded', undefined)).toBe('NO_REPLY_TO');
    expect(replyToProblem('', 'rabbitmq', undefined)).toBe('NO_REPLY_TO');
  });

  it('a configured pattern adds destinations, matched against the whole value', () => {
    const pattern = compileReplyToPattern('/queue/shop-replies\\.[a-z0-9-]+');
    expect(replyToProblem('/queue/shop-replies.n1', 'rabbitmq', pattern)).toBeUndefined();
    expect(replyToProblem('/queue/shop-replies.n1/../x', 'rabbitmq', pattern)).toBe('BAD_REPLY_TO');
    expect(replyToProblem('x/queue/shop-replies.n1', 'rabbitmq', pattern)).toBe('BAD_REPLY_TO');
    expect(replyToProblem('/queue/paygate.card', 'rabbitmq', pattern)).toBe('BAD_REPLY_TO');
    expect(isReplyToPattern('(unclosed')).toBe(false);
  });
});
