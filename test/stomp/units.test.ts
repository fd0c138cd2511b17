// The connection layer's pure parts: options and defaults, node order and backoff, heart-beat
// negotiation and the read watchdog, broker kinds.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { brokerKindOf, quirksOf } from '../../src/stomp/broker-kind.ts';
import type { StompError } from '../../src/stomp/errors.ts';
import { negotiateHeartBeat, parseHeartBeatHeader, watchReads } from '../../src/stomp/heartbeat.ts';
import { FailbackProbe } from '../../src/stomp/failback.ts';
import { NodeList, STABLE_SESSION_MS } from '../../src/stomp/nodes.ts';
import { parseOptions } from '../../src/stomp/options.ts';
import { SubscriptionRegistry, subscribeHeaders } from '../../src/stomp/subscriptions.ts';
import type { StompOptions } from '../../src/stomp/options.ts';

const node = (port: number): StompOptions['nodes'][number] => ({ host: '127.0.0.1', port });

describe('options', () => {
  it('fills in every default in one place', () => {
    const options = parseOptions({ nodes: [{ host: 'mq1' }] });
    expect(options.nodes[0]).toEqual({ host: 'mq1', port: 61613, vhost: '/' });
    expect(options).toMatchObject({
      nodeOrder: 'listed',
      failback: { probeMs: 30_000, drainMs: 30_000 },
      connectTimeoutMs: 5_000,
      heartBeat: { outgoingMs: 10_000, incomingMs: 10_000 },
      heartBeatGrace: 1.5,
      reconnect: { enabled: true, initialDelayMs: 100, maxDelayMs: 10_000, multiplier: 2, jitter: 0.2, maxAttempts: 0 },
      receiptTimeoutMs: 10_000,
      sendQueueLimit: 1_000,
      prefetch: 0,
      connectHeaders: {},
    });
  });

  it('keeps TLS material and partial nested options', () => {
    const options = parseOptions({
      nodes: [{ host: 'mq1', port: 61614, tls: { ca: 'PEM', cert: Buffer.from('c'), key: 'k' } }],
      heartBeat: { incomingMs: 500 },
    });
    expect(options.nodes[0]?.tls).toMatchObject({ ca: 'PEM', key: 'k', rejectUnauthorized: true });
    expect(options.heartBeat).toEqual({ outgoingMs: 10_000, incomingMs: 500 });
  });

  it('refuses bad options with STOMP_BAD_OPTIONS naming the paths', () => {
    const bad = (input: unknown): StompError => {
      try {
        parseOptions(input as StompOptions);
      } catch (err) {
        return err as StompError;
      }
      throw new Error('accepted');
    };
    expect(bad({ nodes: [] })).toMatchObject({ code: 'STOMP_BAD_OPTIONS', message: expect.stringMatching(/nodes/) });
    expect(bad({ nodes: [{ host: 'x', port: 70_000 }] }).message).toMatch(/nodes\.0\.port/);
    expect(bad({ nodes: [node(1)], heartBeatGrace: 2 }).message).toMatch(/heartBeatGrace/);
    expect(bad({ nodes: [node(1)], typo: true }).code).toBe('STOMP_BAD_OPTIONS');
  });
});

describe('node list', () => {
  const reconnect = { enabled: true, initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter: 0, maxAttempts: 0 };
  const nodes = parseOptions({ nodes: [node(1), node(2), node(3)] }).nodes;

  it('starts at a random node, then goes round; backoff only after a full round, growing to the cap', () => {
    const list = new NodeList({ nodes, nodeOrder: 'random', reconnect }, () => 0.5);
    expect(list.current.port).toBe(2);
    expect([list.failed(), list.current.port]).toEqual([0, 3]);
    expect([list.failed(), list.current.port]).toEqual([0, 1]);
    expect([list.failed(), list.current.port]).toEqual([100, 2]); // round 1 over
    list.failed();
    list.failed();
    expect(list.failed()).toBe(200);
    const endOfRound = (): number => (list.failed(), list.failed(), list.failed());
    expect(endOfRound()).toBe(400);
    expect(endOfRound()).toBe(800);
    expect(endOfRound()).toBe(1_000); // capped
    list.succeeded();
    list.failed();
    list.failed();
    expect(list.failed()).toBe(100); // reset by a success
  });

  it('a session lost soon after CONNECT with a subscription refused keeps the backoff growing; one that worked resets it', () => {
    const one = parseOptions({ nodes: [node(1)] }).nodes;
    const list = new NodeList({ nodes: one, nodeOrder: 'listed', reconnect }, () => 0.5);
    const refused = (livedMs: number) => ({ subscribed: false, livedMs });
    // A broker that accepts CONNECT and closes the session at once (a refused SUBSCRIBE), again and again:
    expect([list.lost(refused(20)), list.lost(refused(20)), list.lost(refused(STABLE_SESSION_MS - 1)), list.lost(refused(5)), list.lost(refused(5))]).toEqual([100, 200, 400, 800, 1_000]);
    // A session that lasted is a fresh start…
    expect(list.lost(refused(STABLE_SESSION_MS))).toBe(100);
    list.lost(refused(5));
    // …and so is one whose subscriptions were all confirmed (or that had none), however short:
    // a broker closing it over one bad frame (ActiveMQ, a SEND to a deleted temp queue) is not refusing the client.
    expect(list.lost({ subscribed: true, livedMs: 5 })).toBe(100);
  });

  it('starts at the first node in listed order; jitter takes up to its fraction off', () => {
    const list = new NodeList({ nodes, nodeOrder: 'listed', reconnect: { ...reconnect, jitter: 0.5 } }, () => 1);
    expect(list.current.port).toBe(1);
    expect(list.backoffMs(1)).toBe(50);
  });

  it('knows the nodes listed before the current one, and moves back to one of them', () => {
    const list = new NodeList({ nodes, nodeOrder: 'listed', reconnect }, () => 0.5);
    expect([list.index, list.preferred]).toEqual([0, []]);
    list.failed();
    list.failed();
    expect(list.index).toBe(2);
    expect(list.preferred.map((n) => n.port)).toEqual([1, 2]);
    list.moveTo(0);
    expect([list.index, list.current.port, list.failed()]).toEqual([0, 1, 0]); // a fresh round
  });

  it('listed is the default; randomStart: true (deprecated) still means random', () => {
    expect(parseOptions({ nodes }).nodeOrder).toBe('listed');
    expect(parseOptions({ nodes, randomStart: true }).nodeOrder).toBe('random');
    expect(parseOptions({ nodes, randomStart: false }).nodeOrder).toBe('listed');
    expect(() => parseOptions({ nodes, nodeOrder: 'roundrobin' as 'random' })).toThrow(/nodeOrder/);
  });
});

describe('failback probe', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('probes at multiples of its interval on the clock, until an attempt moves the connection', async () => {
    vi.useFakeTimers({ now: 10_030 });
    const at: number[] = [];
    let moveOnAttempt = 3;
    const probe = new FailbackProbe(100, async () => {
      at.push(Date.now());
      moveOnAttempt -= 1;
      return moveOnAttempt === 0;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at).toEqual([10_100, 10_200, 10_300]); // aligned, not 10_130…; none after the move
    probe.stop();
  });

  it('a failing attempt is retried; stop() ends it', async () => {
    vi.useFakeTimers({ now: 0 });
    let attempts = 0;
    const probe = new FailbackProbe(50, () => {
      attempts += 1;
      return Promise.reject(new Error('still down'));
    });
    await vi.advanceTimersByTimeAsync(120);
    expect(attempts).toBe(2);
    probe.stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(attempts).toBe(2);
  });
});

describe('heart-beats', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('negotiates as STOMP 1.2 says: 0 on either side disables a direction, else the larger value', () => {
    expect(negotiateHeartBeat({ outgoingMs: 500, incomingMs: 500 }, '1000,200')).toEqual({ outgoingMs: 500, incomingMs: 1000 });
    expect(negotiateHeartBeat({ outgoingMs: 500, incomingMs: 0 }, '1000,1000')).toEqual({ outgoingMs: 1000, incomingMs: 0 });
    expect(negotiateHeartBeat({ outgoingMs: 500, incomingMs: 500 }, undefined)).toEqual({ outgoingMs: 0, incomingMs: 0 });
    expect(parseHeartBeatHeader('10, 20')).toEqual([10, 20]);
    expect(parseHeartBeatHeader('x')).toEqual([0, 0]);
  });

  it('the watchdog fires after grace × interval of silence (the first beat gets one interval more), not while bytes flow', () => {
    vi.useFakeTimers();
    const socket = { bytesRead: 0 };
    const dead = vi.fn();
    const stop = watchReads(socket, 400, 1.5, dead);
    for (let t = 0; t < 4_000; t += 100) {
      socket.bytesRead += 1;
      vi.advanceTimersByTime(100);
    }
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(dead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(200); // 700 ms ≥ 1.5 × 400 + one check (100 ms)
    expect(dead).toHaveBeenCalledTimes(1);
    expect(dead.mock.calls[0]?.[0]).toBeLessThan(800); // < 2 × interval
    stop();
    const quiet = vi.fn();
    watchReads({ bytesRead: 0 }, 400, 1.5, quiet);
    vi.advanceTimersByTime(900);
    expect(quiet).not.toHaveBeenCalled(); // first beat may come after 2 intervals (ActiveMQ)
    vi.advanceTimersByTime(200);
    expect(quiet).toHaveBeenCalledTimes(1);
  });
});

describe('broker kinds', () => {
  it('reads the CONNECTED server header and knows each broker’s quirks', () => {
    expect(brokerKindOf('RabbitMQ/3.10.8')).toBe('rabbitmq');
    expect(brokerKindOf('ActiveMQ/5.17.2')).toBe('activemq');
    expect(brokerKindOf('paygate/0.1.0')).toBe('embedded');
    expect(brokerKindOf(undefined)).toBe('unknown');
    expect(quirksOf('rabbitmq')).toMatchObject({ prefetchHeader: 'prefetch-count', tempQueues: 'implicit', nack: 'requeue' });
    expect(quirksOf('activemq')).toMatchObject({ prefetchHeader: 'activemq.prefetchSize', tempQueues: 'subscribe', nack: 'dead-letter' });
    expect(quirksOf('embedded')).toMatchObject({ tempQueues: 'subscribe', nack: 'requeue' });
  });

  it('sends the prefetch in the header each broker understands, client-individual by default', () => {
    const entry = new SubscriptionRegistry(() => undefined).add('/queue/q', { prefetch: 8, headers: { selector: "a = 'b'" } }, 0);
    expect(subscribeHeaders(entry, quirksOf('rabbitmq'))).toEqual({ destination: '/queue/q', ack: 'client-individual', selector: "a = 'b'", 'prefetch-count': '8' });
    expect(subscribeHeaders(entry, quirksOf('activemq'))).toMatchObject({ 'activemq.prefetchSize': '8' });
    expect(Object.keys(subscribeHeaders(entry, quirksOf('unknown')))).toEqual(['selector', 'destination', 'ack']);
  });
});
