// The traffic capture on RabbitMQ (firehose) and ActiveMQ (mirrored queues), as a library call:
// requests SENT by a storefront connection with a temp-queue reply-to, answered by a worker
// connection into that reply-to (as the SDK and the worker do), each recorded exactly once with
// its body byte for byte; the worker still gets every request (the capture steals nothing); the
// audit login cannot read a request queue. The brokers are shared with other suites, so the test
// checks its own bodies, on its own queue, among whatever else the capture sees.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { bodyDigest, readCapture, type CapturedMessage } from '../../../src/audit/capture/index.ts';
import { startBrokerCapture, type BrokerCapture } from '../../../src/audit/capture/broker-capture.ts';
import { StompConnection, type StompMessage } from '../../../src/stomp/index.ts';
import { asRole, isExternal, openStomp, parseTestBrokers, type ExternalBroker } from '../../helpers/brokers.ts';
import { roleNode } from '../../integration/support.ts';

const REQUESTS = 25;
const brokers = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS).filter(isExternal);
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function captureDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-capture-'));
  dirs.push(dir);
  return dir;
}

async function capture(broker: ExternalBroker, out: string): Promise<BrokerCapture> {
  const audit = broker.roles.audit;
  return startBrokerCapture({
    kind: broker.name, host: broker.host, port: broker.port, login: audit.login, passcode: audit.passcode,
    out, subscription: `test-${randomUUID().slice(0, 8)}`, resumeWindowMs: 60_000,
  });
}

/** Collects the digests the capture records from now on; `until` resolves once all of `expected` were seen. */
function watch(c: BrokerCapture): { until(expected: ReadonlySet<string>): Promise<void> } {
  const seen = new Set<string>();
  let check = (): void => undefined;
  c.onRecord(({ bodySha256 }) => (seen.add(bodySha256), check()));
  return {
    until: (expected) => new Promise((resolve) => {
      check = () => ([...expected].every((d) => seen.has(d)) ? resolve() : undefined);
      check();
    }),
  };
}

/** A body that varies in every byte value, NUL and invalid UTF-8 included: byte-exactness is the point. */
const body = (n: number): Buffer => Buffer.concat([Buffer.from(`request ${n}\0`), randomBytes(300 + n)]);

async function all(path: string): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = [];
  for await (const m of readCapture(path)) out.push(m);
  return out;
}

describe('capture options', () => {
  it('refuses the embedded broker (it has its own tap) and unusable options before connecting, writing nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'paygate-capture-opts-')), 'capture');
    const base = { kind: 'rabbitmq', host: '127.0.0.1', port: 61613, login: 'audit', passcode: 'x', out } as const;
    for (const options of [{ ...base, kind: 'embedded' }, { ...base, port: 0 }, { ...base, subscription: 'a b' }, { ...base, maxMessages: 0 }]) {
      await expect(startBrokerCapture(options as never)).rejects.toMatchObject({ code: 'AUDIT_BAD_OPTION' });
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe.skipIf(brokers.length === 0).each(brokers)('capture on $name', (broker) => {
  it('records every request and reply exactly once, byte for byte, and the worker still gets every request', async () => {
    const queue = `/queue/paygate.t${randomUUID().slice(0, 8)}-capture`;
    const out = captureDir();
    const c = await capture(broker, out);
    const watched = watch(c);
    const worker = await StompConnection.connect({ nodes: [roleNode(broker, 'worker')] });
    const storefront = await StompConnection.connect({ nodes: [roleNode(broker, 'storefront')] });
    const replyTos = new Set<string>();
    const requests = new Map<string, Buffer>();
    const replies = new Map<string, Buffer>();
    try {
      const consumed = new Set<string>();
      const sub = worker.subscribe(queue, async (m: StompMessage) => {
        consumed.add(bodyDigest(m.body));
        const replyTo = m.headers['reply-to'] ?? '';
        replyTos.add(replyTo);
        const answer = Buffer.concat([Buffer.from('reply\0'), randomBytes(200)]);
        replies.set(bodyDigest(answer), answer);
        await worker.send(replyTo, answer, { headers: { 'correlation-id': m.headers['correlation-id'] ?? '' } });
        await m.ack();
      });
      await sub.ready;
      for (let n = 0; n < REQUESTS; n += 1) {
        const b = body(n);
        requests.set(bodyDigest(b), b);
      }
      const everything = new Set([...requests.keys()]);
      const got = await Promise.all([...requests.values()].map((b) => storefront.request(queue, b, { headers: { persistent: 'true' } })));
      for (const reply of got) everything.add(bodyDigest(reply.body));
      expect(everything.size).toBe(2 * REQUESTS);
      await watched.until(everything);
      expect(consumed.size).toBe(REQUESTS); // the capture took nothing off the request queue
    } finally {
      await Promise.all([worker.close(), storefront.close()]);
    }
    const summary = await c.stop();
    expect(summary.recorded).toBeGreaterThanOrEqual(2 * REQUESTS);

    const records = await all(out);
    const mine = records.filter((r) => requests.has(r.bodySha256) || replies.has(r.bodySha256));
    expect(mine).toHaveLength(2 * REQUESTS); // exactly once each
    for (const r of mine) {
      expect(r.source).toBe(broker.name);
      expect(r.bodySha256).toBe(bodyDigest(r.body));
      const request = requests.get(r.bodySha256);
      if (request !== undefined) {
        expect(r.body.equals(request)).toBe(true);
        expect(r.destination).toBe(queue);
      } else {
        expect(r.body.equals(replies.get(r.bodySha256) ?? Buffer.alloc(0))).toBe(true);
        expect(replyTos.has(r.destination)).toBe(true); // the reply-to the worker sent to
      }
      expect(r.headers[0]).toEqual(['destination', r.destination]);
    }
    if (broker.name === 'activemq') {
      // ActiveMQ keeps the sender's headers: the request's reply-to and persistent flag are there.
      const request = mine.find((r) => requests.has(r.bodySha256));
      expect(request?.headers.find(([name]) => name === 'persistent')).toEqual(['persistent', 'true']);
      expect(request?.headers.some(([name]) => name === 'reply-to')).toBe(true);
    }
  });

  it('the audit login cannot read the request queues themselves', async () => {
    const session = await openStomp(asRole(broker, 'audit'), 5_000);
    try {
      session.send('SUBSCRIBE', { id: 'steal', destination: `/queue/paygate.t${randomUUID().slice(0, 8)}-capture`, ack: 'auto', receipt: 'r' });
      await expect(session.receive(5_000)).rejects.toThrow(/sent ERROR: (access_refused|User audit is not authorized to read from)/);
    } finally {
      session.close();
    }
  });

  it('a login the broker refuses fails the start with the reason, and writes nothing', async () => {
    const out = captureDir();
    await expect(startBrokerCapture({ kind: broker.name, host: broker.host, port: broker.port, login: 'audit', passcode: 'wrong', out }))
      .rejects.toMatchObject({ code: 'AUDIT_CAPTURE_FAILED' });
    expect(await all(out).catch(() => [])).toEqual([]);
  });
});
