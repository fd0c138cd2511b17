// Smoke test of the brokers that .ci/run starts (scripts/brokers.sh): each
// external broker named in PAYGATE_TEST_BROKERS must answer STOMP 1.2, accept every
// test login (docs/broker-access.md) and carry a message. The parser tests run
// always, so this file never passes on nothing. What each login may NOT do is
// test/security/broker-access.test.ts.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asRole, encodeFrame, isExternal, openStomp, parseTestBrokers, stompConnect, takeFrame, TEST_ROLES } from '../helpers/brokers.ts';
import type { ExternalBroker } from '../helpers/brokers.ts';

const TIMEOUT_MS = 10_000;
const SERVER: Record<ExternalBroker['name'], RegExp> = { rabbitmq: /^RabbitMQ\//, activemq: /^ActiveMQ\// };

describe('PAYGATE_TEST_BROKERS', () => {
  it('defaults to the embedded broker, which has no fixed port yet', () => {
    for (const value of [undefined, '', ' , ']) {
      expect(parseTestBrokers(value)).toEqual([expect.objectContaining({ name: 'embedded', port: undefined })]);
    }
  });

  it('parses the list scripts/brokers.sh prints, in order', () => {
    const brokers = parseTestBrokers(' embedded, rabbitmq ,activemq,rabbitmq');
    expect(brokers.map((b) => [b.name, b.port])).toEqual([
      ['embedded', undefined],
      ['rabbitmq', 61613],
      ['activemq', 61623],
    ]);
    expect(brokers.filter(isExternal).map((b) => b.name)).toEqual(['rabbitmq', 'activemq']);
    expect(brokers[1]).toMatchObject({ host: '127.0.0.1', login: 'stomp-test', passcode: 'stomp-test-test-pass', vhost: '/' });
    expect(Object.keys(brokers[1]?.roles ?? {})).toEqual([...TEST_ROLES]);
    const [, , activemq] = brokers;
    if (activemq === undefined) throw new Error('activemq is missing from the list');
    expect(asRole(activemq, 'worker')).toMatchObject({ name: 'activemq', port: 61623, login: 'worker', passcode: 'worker-test-pass' });
  });

  it('rejects an unknown broker by name', () => {
    expect(() => parseTestBrokers('embedded,kafka')).toThrow(/unknown broker "kafka"/);
  });
});

describe('raw STOMP frames', () => {
  it('round-trips a frame with escaped headers and a content-length body', () => {
    const bytes = encodeFrame('MESSAGE', { 'content-length': '5', note: 'a:b\nc' }, 'he\0lo');
    const taken = takeFrame(Buffer.concat([Buffer.from('\n'), bytes, Buffer.from('CONN')]));
    expect(taken?.frame).toEqual({ command: 'MESSAGE', headers: { 'content-length': '5', note: 'a:b\nc' }, body: 'he\0lo' });
    expect(taken?.rest.toString()).toBe('CONN');
    expect(takeFrame(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
  });
});

for (const broker of parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter(isExternal)) {
  describe(`${broker.name} on ${broker.host}:${broker.port}`, () => {
    it('answers CONNECT with CONNECTED, STOMP 1.2, naming itself', async () => {
      const headers = await stompConnect(broker, TIMEOUT_MS);
      expect(headers.version).toBe('1.2');
      expect(headers.server).toMatch(SERVER[broker.name]);
    });

    it.each(TEST_ROLES)('accepts the test login %s', async (role) => {
      await expect(stompConnect(asRole(broker, role), TIMEOUT_MS)).resolves.toMatchObject({ version: '1.2' });
    });

    it('delivers a message SENT to a queue to a later SUBSCRIBE on it (as stomp-test, on its own names)', async () => {
      const session = await openStomp(broker, TIMEOUT_MS);
      try {
        const queue = `/queue/stomptest.ci.${randomUUID()}`;
        const body = `round trip ${randomUUID()}`;
        // auto-delete: RabbitMQ drops the queue once we unsubscribe, instead of
        // keeping one durable queue per test run. ActiveMQ ignores the header.
        const queueHeaders = { destination: queue, 'auto-delete': 'true' };
        session.send('SEND', { ...queueHeaders, 'content-type': 'text/plain', receipt: 'sent' }, body);
        expect(await session.receive(TIMEOUT_MS)).toMatchObject({ command: 'RECEIPT', headers: { 'receipt-id': 'sent' } });

        session.send('SUBSCRIBE', { ...queueHeaders, id: 'sub-0', ack: 'auto' });
        const message = await session.receive(TIMEOUT_MS);
        expect(message.command).toBe('MESSAGE');
        expect(message.headers.destination).toBe(queue);
        expect(message.body).toBe(body);
        session.send('UNSUBSCRIBE', { id: 'sub-0' });
      } finally {
        session.close();
      }
    });

    it('rejects a wrong passcode with the ERROR frame message', async () => {
      await expect(stompConnect({ ...broker, passcode: 'wrong' }, TIMEOUT_MS)).rejects.toThrow(new RegExp(`^${broker.name} sent ERROR: `));
    });
  });
}
