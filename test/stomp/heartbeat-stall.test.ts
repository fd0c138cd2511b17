// The read watchdog after a stall of this process's own event loop: a byte the peer sent during
// the stall sits unread in the kernel when the watchdog's timer fires; the watchdog must look
// again after the poll phase read it (a live peer is kept) and still drop a peer that sent nothing.
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { watchReads } from '../../src/stomp/heartbeat.ts';

const INTERVAL_MS = 100;
const GRACE = 1.5;
/** Longer than the first interval's extra wait plus grace × interval: a silence verdict is due. */
const STALL_MS = 5 * INTERVAL_MS;

interface Pair {
  readonly client: Socket;
  readonly peer: Socket;
  close(): void;
}

async function socketPair(): Promise<Pair> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port });
  await once(client, 'connect');
  const [peer] = await accepted;
  client.on('data', () => undefined); // flowing: bytesRead advances as the poll phase reads
  return {
    client,
    peer,
    close: () => {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** Blocks the event loop for `ms`: the stall under test (deliberate; it waits for nothing). */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: no timer, no I/O runs meanwhile
  }
}

/**
 * Runs the stall in the check phase, so that the next loop turn starts with the timers phase:
 * the watchdog's tick is due before the poll phase reads what `beforeStall` wrote.
 */
function stallInCheckPhase(beforeStall: () => void): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      beforeStall();
      stall(STALL_MS);
      resolve();
    }),
  );
}

let pair: Pair | undefined;
let stopWatch: (() => void) | undefined;
afterEach(() => {
  stopWatch?.();
  pair?.close();
});

describe('heart-beat watchdog after our own event loop stalled', () => {
  it('keeps a live peer whose heart-beat arrived during the stall', async () => {
    pair = await socketPair();
    const { client, peer } = pair;
    let dead: number | undefined;
    stopWatch = watchReads(client, INTERVAL_MS, GRACE, (silentMs) => (dead = silentMs));
    // The byte reaches our kernel buffer at once (loopback) but is read only after the stall.
    await stallInCheckPhase(() => peer.write('\n'));
    // After the stall: timers (the watchdog's due tick), then poll (the read, 'data'), then check
    // (the watchdog's confirmation). Two check-phase turns after the read, the verdict is in.
    await once(client, 'data');
    await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
    expect(dead).toBeUndefined();
    expect(client.bytesRead).toBe(1);
  });

  it('still drops a peer that sent nothing, stall or not', async () => {
    pair = await socketPair();
    const { client } = pair;
    const verdict = new Promise<number>((resolve) => {
      stopWatch = watchReads(client, INTERVAL_MS, GRACE, resolve);
    });
    await stallInCheckPhase(() => undefined);
    const silentMs = await verdict;
    expect(silentMs).toBeGreaterThanOrEqual(GRACE * INTERVAL_MS);
  });
});
