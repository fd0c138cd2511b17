/**
 * A consumer process SIGKILLed after committing a batch and before ACKing it, then a new one:
 * every event is stored exactly once (the unACKed messages come back; their keys are already
 * stored), on the embedded broker and PAYGATE_TEST_BROKERS' external ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FEED, PAYMENTS_FEED } from '../../src/audit/events.ts';
import type { EventsConsumerStats } from '../../src/feed/events-consumer.ts';
import { openSqliteFeedStore } from '../../src/feed/index.ts';
import { StompConnection } from '../../src/stomp/index.ts';
import { parseTestBrokers, startTestBroker, type TestBroker, type TestRole } from '../helpers/brokers.ts';
import { makeTestPki, makeTempDir, type TestPki } from '../helpers/pki.ts';
import { roleNode } from '../integration/support.ts';
import { eventsDocument, sealEvents } from './consumer-support.ts';

const CONSUMER_ROLE: TestRole = 'feed';
const SENDER_ROLE: TestRole = 'worker';
const CHILD = fileURLToPath(new URL('./consumer-child.ts', import.meta.url));
const MESSAGES = 30;

/** A consumer child and its stats lines. */
function startChild(args: Record<string, unknown>): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const { value, done } = await lines.next();
  if (done === true) throw new Error('the consumer child ended its output');
  return value as string;
}

describe.each(parseTestBrokers(process.env.PAYGATE_TEST_BROKERS))('a consumer killed between commit and ACK, on $name', (descriptor) => {
  let broker: TestBroker;
  let pki: TestPki;

  beforeAll(async () => {
    broker = await startTestBroker(descriptor);
    pki = await makeTestPki();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('loses nothing and doubles nothing once a new consumer takes over', async () => {
    const queue = `/queue/paygate.feed.events-t${randomUUID().slice(0, 8)}`;
    const storePath = `${makeTempDir('feed-kill')}/feed.sqlite`;
    const base = {
      node: roleNode(broker.descriptor, CONSUMER_ROLE),
      queue,
      store: storePath,
      feedCert: pki.feed.certPath,
      feedKey: pki.feed.keyPath,
      ca: pki.ca.certPath,
    };
    const sender = await StompConnection.connect({ nodes: [roleNode(broker.descriptor, SENDER_ROLE)] });
    try {
      for (let i = 0; i < MESSAGES; i += 1) await sender.send(queue, sealEvents(pki, eventsDocument()), { headers: { persistent: 'true' }, receipt: true });
    } finally {
      await sender.close();
    }

    const first = startChild({ ...base, mode: 'kill-after-commit' });
    const firstExit = once(first.child, 'exit');
    expect(await nextLine(first.lines)).toBe('ready');
    expect(await firstExit).toEqual([null, 'SIGKILL']);
    const store = openSqliteFeedStore({ path: storePath });
    try {
      const committed = store.page(AUDIT_FEED).entries.length;
      expect(committed).toBeGreaterThan(0); // the killed batch was committed…

      const second = startChild({ ...base, mode: 'run' });
      expect(await nextLine(second.lines)).toBe('ready');
      let stats: EventsConsumerStats;
      do stats = JSON.parse(await nextLine(second.lines)) as EventsConsumerStats;
      while (stats.acked < MESSAGES);
      second.child.kill('SIGTERM');
      expect(await once(second.child, 'exit')).toEqual([0, null]);

      // …its messages came back unACKed and were recognised; the rest were stored once.
      expect(stats.acked).toBe(MESSAGES);
      expect(stats.duplicates).toBe(2 * committed);
      expect(stats.stored).toBe(2 * (MESSAGES - committed));
      expect(store.page(AUDIT_FEED).entries).toHaveLength(MESSAGES);
      expect(store.page(PAYMENTS_FEED).entries).toHaveLength(MESSAGES);
      expect(store.verifyChain(AUDIT_FEED)).toEqual({ count: MESSAGES });
      expect(store.verifyChain(PAYMENTS_FEED)).toEqual({ count: MESSAGES });
    } finally {
      store.close();
    }
  }, 60_000);
});
