/**
 * The broker's core behaviours, and the same behaviours driven by two
 * independent client libraries, stompit and @stomp/stompjs (over @stomp/tcp-wrapper).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DRIVERS } from './drivers.ts';
import type { Driver, Peer } from './drivers.ts';
import { startBroker } from './helpers.ts';

describe.each(DRIVERS)('embedded broker through $name', (driver: Driver) => {
  const peers: Peer[] = [];
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.kill();
  });

  async function setup(): Promise<{ connect: (heartBeat?: [number, number]) => Promise<Peer> }> {
    const broker = await startBroker({ heartBeat: [100, 100] });
    return {
      connect: async (heartBeat) => {
        const peer = await driver.connect({ host: broker.host, port: broker.port, heartBeat });
        peers.push(peer);
        return peer;
      },
    };
  }

  it('queue send/receive with a receipt', async () => {
    const { connect } = await setup();
    const peer = await connect();
    await peer.send('/queue/basic', 'héllo wörld', { 'content-type': 'text/plain', 'x-tag': 'a' });
    const inbox = await peer.subscribe('/queue/basic');
    const message = await inbox.next();
    expect([message.body, message.headers['x-tag'], message.headers.destination]).toEqual(['héllo wörld', 'a', '/queue/basic']);
  });

  it('competing consumers share a queue round robin', async () => {
    const { connect } = await setup();
    const [a, b, producer] = [await connect(), await connect(), await connect()];
    const inboxA = await a.subscribe('/queue/compete');
    const inboxB = await b.subscribe('/queue/compete');
    for (let n = 0; n < 4; n++) await producer.send('/queue/compete', `${n}`);
    const gotA = [(await inboxA.next()).body, (await inboxA.next()).body];
    const gotB = [(await inboxB.next()).body, (await inboxB.next()).body];
    expect([gotA, gotB]).toEqual([
      ['0', '2'],
      ['1', '3'],
    ]);
  });

  it('client-individual ack: acknowledged messages are gone, the others come back', async () => {
    const { connect } = await setup();
    const first = await connect();
    for (const body of ['a', 'b', 'c']) await first.send('/queue/ci', body);
    const inbox = await first.subscribe('/queue/ci', 'client-individual');
    const [a, b, c] = [await inbox.next(), await inbox.next(), await inbox.next()];
    b.ack();
    await first.sync();
    expect([a.body, c.body]).toEqual(['a', 'c']);
    first.kill();
    const second = await connect();
    const again = await second.subscribe('/queue/ci', 'client-individual');
    const redelivered = [await again.next(), await again.next()];
    expect(redelivered.map((m) => m.body)).toEqual(['a', 'c']);
    expect(await again.quiet()).toBe(true);
  });

  it('redelivers, marked redelivered, what a consumer that died held', async () => {
    const { connect } = await setup();
    const producer = await connect();
    const dying = await connect();
    const survivor = await connect();
    const dyingInbox = await dying.subscribe('/queue/die', 'client-individual');
    await producer.send('/queue/die', 'work');
    expect((await dyingInbox.next()).body).toBe('work');
    const survivorInbox = await survivor.subscribe('/queue/die', 'client-individual');
    dying.kill();
    const message = await survivorInbox.next();
    expect([message.body, message.headers.redelivered]).toEqual(['work', 'true']);
  });

  it('NACK puts a message back for redelivery', async () => {
    const { connect } = await setup();
    const peer = await connect();
    const inbox = await peer.subscribe('/queue/nack', 'client-individual');
    await peer.send('/queue/nack', 'retry me');
    (await inbox.next()).nack();
    const again = await inbox.next();
    expect([again.body, again.headers.redelivered]).toEqual(['retry me', 'true']);
    again.ack();
  });

  it('transactions: SEND and ACK take effect on COMMIT, not on ABORT', async () => {
    const { connect } = await setup();
    const peer = await connect();
    const inbox = await peer.subscribe('/queue/tx', 'client-individual');
    const tx1 = await peer.begin();
    await peer.send('/queue/tx', 'committed', { transaction: tx1 });
    const tx2 = await peer.begin();
    await peer.send('/queue/tx', 'aborted', { transaction: tx2 });
    expect(await inbox.quiet()).toBe(true);
    await peer.abort(tx2);
    await peer.commit(tx1);
    const message = await inbox.next();
    expect(message.body).toBe('committed');
    const tx3 = await peer.begin();
    message.ack(tx3);
    await peer.commit(tx3);
    expect(await inbox.quiet()).toBe(true);
  });

  it('temp-queue request/reply: the responder replies to the rewritten reply-to', async () => {
    const { connect } = await setup();
    const requester = await connect();
    const responder = await connect();
    const requests = await responder.subscribe('/queue/rpc', 'client-individual');
    const replies = await requester.replies('answers');
    await requester.send('/queue/rpc', 'question', { 'reply-to': '/temp-queue/answers', 'correlation-id': 'q1' });
    const request = await requests.next();
    expect(request.headers['reply-to']).toMatch(/^\/remote-temp-queue\//);
    await responder.send(request.headers['reply-to'] ?? '', `answer to ${request.body}`, { 'correlation-id': request.headers['correlation-id'] ?? '' });
    request.ack();
    const reply = await replies.next();
    expect([reply.body, reply.headers['correlation-id']]).toEqual(['answer to question', 'q1']);
  });

  it('topics fan out to every subscriber', async () => {
    const { connect } = await setup();
    const [a, b] = [await connect(), await connect()];
    const [inboxA, inboxB] = [await a.subscribe('/topic/t'), await b.subscribe('/topic/t')];
    await a.send('/topic/t', 'to all');
    expect([(await inboxA.next()).body, (await inboxB.next()).body]).toEqual(['to all', 'to all']);
  });

  it('negotiates heart-beats and stays connected while both sides beat', async () => {
    const { connect } = await setup();
    const peer = await connect([50, 50]);
    expect(peer.connected['heart-beat']).toBe('100,100');
    await new Promise((resolve) => setTimeout(resolve, 500)); // > 2x the interval: only beats kept it alive
    const inbox = await peer.subscribe('/queue/hb');
    await peer.send('/queue/hb', 'still here');
    expect((await inbox.next()).body).toBe('still here');
  });
});
