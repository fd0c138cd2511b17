/**
 * The worker's publishing connection on a real embedded broker with the test logins: sends go
 * out concurrently, and a SEND the broker refuses (ERROR, then close) fails that send alone; the
 * innocent sends that were in flight with it go out again and are confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StompConnection } from '../../src/stomp/index.ts';
import { StompError } from '../../src/stomp/errors.ts';
import { Publisher } from '../../src/worker/publisher.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { roleNode } from '../integration/support.ts';

let broker: EmbeddedBrokerHandle;
let descriptor: BrokerDescriptor & { port: number };

beforeAll(async () => {
  broker = await startEmbeddedBroker();
  descriptor = { ...(parseTestBrokers('embedded')[0] as BrokerDescriptor), host: broker.host, port: broker.port };
});
afterAll(async () => {
  await broker?.stop();
});

describe('Publisher', () => {
  it('a refused SEND fails alone; the sends in flight with it are confirmed, each delivered', async () => {
    const publisher = await Publisher.connect({ nodes: [roleNode(descriptor, 'worker')], reconnect: { initialDelayMs: 10 } });
    try {
      const dlq = '/queue/paygate.pubtest.dlq';
      const innocent = Array.from({ length: 20 }, (_, i) => `reply-${i}`);
      // The worker login may write dead letters but not requests: the broker refuses this one.
      const sends = innocent.map((body) => publisher.send(dlq, body, {}));
      const guilty = publisher.send('/queue/paygate.pubtest', 'forbidden', {});
      sends.push(...innocent.map((body) => publisher.send(dlq, `${body}-after`, {})));

      const refusal = await guilty.then(() => undefined, (error: unknown) => error);
      expect(refusal).toBeInstanceOf(StompError);
      expect((refusal as StompError).code).toBe('STOMP_OPERATION_FAILED');
      await expect(Promise.all(sends)).resolves.toHaveLength(40);

      // Every innocent body reached the queue (a retried one may arrive twice: at least once).
      const operator = await StompConnection.connect({ nodes: [roleNode(descriptor, 'operator')] });
      const seen = new Set<string>();
      const expected = new Set([...innocent, ...innocent.map((body) => `${body}-after`)]);
      await new Promise<void>((resolve) => {
        operator.subscribe(dlq, (message) => {
          seen.add(message.body.toString());
          if ([...expected].every((body) => seen.has(body))) resolve();
        });
      });
      await operator.close();
      expect(seen.has('forbidden')).toBe(false);
    } finally {
      await publisher.close();
    }
  });
});
