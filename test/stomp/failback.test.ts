// Failback in listed node order, on two independent embedded brokers: a connection that failed
// over to the backup moves back to the primary once it is up again; its subscriptions follow; the
// old session is drained, not dropped: it takes no new work, a message it delivered before the
// move is still acknowledged on it, and it closes once nothing is left to wait for.
import { afterEach, describe, expect, it } from 'vitest';
import { StompConnection, type StompMessage, type StompOptions } from '../../src/stomp/index.ts';
import { parseTestBrokers, startEmbeddedBroker, type BrokerDescriptor, type EmbeddedBrokerHandle } from '../helpers/brokers.ts';
import { Inbox, nextEvent, nodeOf, queueHeaders, unique } from '../integration/support.ts';

const brokers: EmbeddedBrokerHandle[] = [];
const connections: StompConnection[] = [];

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

async function twoBrokers(): Promise<{ primary: EmbeddedBrokerHandle; backup: EmbeddedBrokerHandle; options: StompOptions }> {
  const primary = await startEmbeddedBroker();
  const backup = await startEmbeddedBroker();
  brokers.push(primary, backup);
  const descriptor = { ...parseTestBrokers('embedded')[0], port: primary.port } as BrokerDescriptor & { port: number };
  const options: StompOptions = {
    nodes: [nodeOf(descriptor, primary), nodeOf(descriptor, backup)],
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    heartBeat: { outgoingMs: 500, incomingMs: 500 },
    connectTimeoutMs: 2_000,
  };
  return { primary, backup, options };
}

async function open(options: StompOptions): Promise<StompConnection> {
  const connection = await StompConnection.connect(options);
  connections.push(connection);
  return connection;
}

/** Stops `broker` and starts a fresh one on the same port (an independent broker comes back empty). */
async function restartOnSamePort(broker: EmbeddedBrokerHandle): Promise<EmbeddedBrokerHandle> {
  const port = broker.port;
  await broker.stop();
  brokers.splice(brokers.indexOf(broker), 1);
  const again = await startEmbeddedBroker({ port });
  brokers.push(again);
  return again;
}

describe('failback (listed order)', () => {
  it('moves back to the primary, keeps acknowledging what the backup delivered, then drains it', async () => {
    const { primary, backup, options } = await twoBrokers();
    const queue = unique('queue', 'failback');
    const consumer = await open({ ...options, failback: { probeMs: 50, drainMs: 60_000 } });
    const producer = await open({ ...options, failback: { probeMs: 0 } }); // stays where it lands
    expect(consumer.node).toBe(`127.0.0.1:${primary.port}`);
    const inbox = new Inbox();
    await consumer.subscribe(queue, inbox.handler, { headers: queueHeaders() }).ready;

    // The primary goes away: both fail over to the backup, where one message is delivered and held.
    const movedToBackup = nextEvent(consumer, 'node-connect');
    const stopped = primary.stop();
    brokers.splice(brokers.indexOf(primary), 1);
    await stopped;
    expect((await movedToBackup).node).toBe(`127.0.0.1:${backup.port}`);
    await producer.send(queue, 'on-backup', { receipt: true, headers: queueHeaders() });
    const held: StompMessage = await inbox.next();
    expect(held.text()).toBe('on-backup');

    // The primary comes back: the consumer's probe finds it and moves there.
    const failback = nextEvent(consumer, 'failback', 10_000);
    const backOnPrimary = nextEvent(consumer, 'node-connect', 10_000);
    const drained = nextEvent(consumer, 'node-drained', 10_000);
    const revived = await restartOnSamePort(primary);
    expect(await failback).toEqual({ from: `127.0.0.1:${backup.port}`, to: `127.0.0.1:${revived.port}` });
    expect(await backOnPrimary).toMatchObject({ node: `127.0.0.1:${revived.port}`, reconnected: true });
    expect(consumer.node).toBe(`127.0.0.1:${revived.port}`);

    // The drained session takes no new work: a request still sent to the backup stays there.
    await producer.send(queue, 'left-on-backup', { receipt: true, headers: queueHeaders() });

    // The subscription followed: a message sent to the primary arrives.
    const onPrimary = await open({ ...options, failback: { probeMs: 0 } });
    await onPrimary.send(queue, 'on-primary', { receipt: true, headers: queueHeaders() });
    expect((await inbox.next()).text()).toBe('on-primary');

    // The held message is acknowledged on the backup's session (confirmed by its RECEIPT), not
    // stale; it was all the drain waited for (drainMs is a minute): the backup session closes.
    await held.ack({ receipt: true });
    expect(await drained).toEqual({ node: `127.0.0.1:${backup.port}` });

    // What the backup still holds is there for whoever consumes it; the moved consumer never got it.
    const onBackupOnly = await open({ ...options, nodes: [options.nodes[1] as StompOptions['nodes'][number]] });
    const leftovers = new Inbox();
    onBackupOnly.subscribe(queue, leftovers.handler, { headers: queueHeaders(), ack: 'auto' });
    expect((await leftovers.next()).text()).toBe('left-on-backup');
    expect(inbox.messages.map((m) => m.text())).toEqual(['on-backup', 'on-primary']);
  });

  it('a connection without subscriptions moves back and closes the old session at once', async () => {
    const { primary, backup, options } = await twoBrokers();
    const sender = await open({ ...options, failback: { probeMs: 50, drainMs: 600_000 } });
    const lost = nextEvent(sender, 'node-disconnect');
    const movedToBackup = nextEvent(sender, 'node-connect');
    const stopped = primary.stop();
    brokers.splice(brokers.indexOf(primary), 1);
    await stopped;
    // The stopping broker's ERROR (broker shutting down) is a peer that went away, not a refusal.
    expect((await lost).error.code).toBe('STOMP_CLOSED_BY_PEER');
    expect((await movedToBackup).node).toBe(`127.0.0.1:${backup.port}`);
    // drainMs is ten minutes: only "nothing can arrive on it" ends this drain within the wait.
    const drained = nextEvent(sender, 'node-drained', 10_000);
    const revived = await startEmbeddedBroker({ port: primary.port });
    brokers.push(revived);
    expect(await drained).toEqual({ node: `127.0.0.1:${backup.port}` });
    expect(sender.node).toBe(`127.0.0.1:${revived.port}`);
    await sender.send(unique('queue', 'after-failback'), 'x', { receipt: true, headers: queueHeaders() });
  });
});
