/**
 * Destination bookkeeping: idle queues and topics are forgotten, busy ones never.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../src/broker/message.ts';
import { DISPATCH_BATCH } from '../../src/broker/queue.ts';
import { Router } from '../../src/broker/router.ts';
import { Subscription } from '../../src/broker/subscription.ts';
import type { SubscriptionOwner } from '../../src/broker/subscription.ts';

const message = (seq: number): BrokerMessage => ({
  id: `m${seq}`,
  seq,
  destination: '/queue/busy',
  headers: {},
  body: Buffer.from('x'),
  persistent: false,
  expires: 0,
  deliveries: 0,
  failures: 0,
  stored: false,
});

/** A consumer that takes messages and never acknowledges them. */
const owner: SubscriptionOwner = { congested: false, writeMessage: () => true };

describe('Router.sweep', () => {
  it('forgets queues and topics with nothing in them and nobody on them, and keeps the others', () => {
    const router = new Router(undefined, { maxDeliveries: 5, maxReturns: 100, maxQueueBytes: 64 * 1024 * 1024 }, { expired: () => {}, deadLettered: () => {} });
    const idle = router.queue('/queue/idle');
    router.forSend('/topic/idle', 's1');
    router.queue('/queue/waiting').publish(message(1));
    const busy = router.queue('/queue/busy');
    const consumer = new Subscription('s', owner, busy, 'client-individual', 10);
    busy.addConsumer(consumer);
    busy.publish(message(2));
    expect(consumer.unacked.size).toBe(1);
    router.sweep();
    expect(router.size).toEqual({ queues: 2, topics: 0 });
    expect(router.queue('/queue/idle')).not.toBe(idle);
    expect(router.queue('/queue/busy')).toBe(busy);
  });
});

describe('Queue.dispatch', () => {
  it('hands out at most DISPATCH_BATCH messages per event-loop turn, and the rest in the next turns, in order', async () => {
    const router = new Router(undefined, { maxDeliveries: 5, maxReturns: 100, maxQueueBytes: 64 * 1024 * 1024 }, { expired: () => {}, deadLettered: () => {} });
    const queue = router.queue('/queue/backlog');
    const total = 2 * DISPATCH_BATCH + 10;
    for (let seq = 1; seq <= total; seq++) queue.publish(message(seq));
    const consumer = new Subscription('s', owner, queue, 'client-individual', total);
    queue.addConsumer(consumer);
    const seen = [consumer.unacked.size];
    while (consumer.unacked.size < total) {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(consumer.unacked.size);
    }
    expect(seen).toEqual([DISPATCH_BATCH, 2 * DISPATCH_BATCH, total]);
    expect([...consumer.unacked.values()].map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
