/**
 * `paygate broker --tap DIR` as operators run it: the real bin in a child process, requests and
 * replies through it, SIGTERM, and the capture read back with `readCapture`; a capture that hits
 * a full device (its segment is /dev/full: a real ENOSPC) keeps the broker serving, prints one
 * line without message content and counts what it missed; bad --tap flags are one line, exit 2.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyDigest, readCapture, type CapturedMessage } from '../../src/audit/capture/index.ts';
import { RawClient } from '../broker/helpers.ts';
import { brokerCliRefusal, startBrokerCli, stopBrokerCli, type RunningBrokerCli } from '../helpers/broker-cli.ts';
import { stompJsDriver } from '../broker/drivers.ts';


const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'paygate-tap-'));
  dirs.push(dir);
  return dir;
}

const startBroker = (args: string[]): Promise<RunningBrokerCli> => startBrokerCli(args, (child) => children.push(child));
const stop = stopBrokerCli;
const refusal = (...args: string[]): Promise<{ code: number; stderr: string }> => brokerCliRefusal('--port', '0', ...args);

async function readAll(dir: string): Promise<CapturedMessage[]> {
  const out: CapturedMessage[] = [];
  for await (const message of readCapture(dir)) out.push(message);
  return out;
}

/** A request from `shop` answered by `worker` through the broker; resolves with the reply's destination. */
async function roundTrip(shop: RawClient, worker: RawClient, n: number, body: Buffer): Promise<string> {
  shop.send('SEND', { destination: '/queue/paygate.card', 'reply-to': '/temp-queue/r', 'x-n': String(n) }, body);
  const request = await worker.expect('MESSAGE');
  const replyTo = request.headers['reply-to'] as string;
  worker.send('SEND', { destination: replyTo, 'x-n': String(n) }, Buffer.concat([body, Buffer.from([n])]));
  const reply = await shop.expect('MESSAGE');
  expect(reply.headers['x-n']).toBe(String(n));
  return replyTo;
}

describe('paygate broker --tap', () => {
  it('captures every request and reply; SIGTERM flushes the capture, which readCapture reads back byte-exact', async () => {
    const dir = join(tempDir(), 'capture');
    const broker = await startBroker(['--tap', dir]);
    const address = { host: '127.0.0.1', port: broker.port };
    const [shop, worker] = [await RawClient.connect(address), await RawClient.connect(address)];
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/paygate.card', receipt: 's' });
    await worker.waitReceipt('s');
    const body = Buffer.from('MIME-Version: 1.0\r\n\r\n\0binary\0\xff', 'latin1');
    let replyTo = '';
    for (let n = 0; n < 50; n++) replyTo = await roundTrip(shop, worker, n, body);
    // A third-party client's SEND is recorded too; elsewhere nothing is.
    const other = await stompJsDriver.connect(address);
    await other.send('/queue/paygate.feed.events', 'events from stompjs', { 'x-from': 'stompjs' });
    await other.send('/queue/not-audited', 'elsewhere');
    other.kill();
    expect(await stop(broker)).toBe(0);
    expect(broker.stderr()).toBe('');

    const captured = await readAll(dir);
    expect(captured).toHaveLength(101);
    expect(captured.map((m) => m.seq)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(new Set(captured.map((m) => m.source))).toEqual(new Set(['embedded']));
    const [request, reply] = captured as [CapturedMessage, CapturedMessage];
    expect(request.destination).toBe('/queue/paygate.card');
    expect(request.headers).toEqual([
      ['destination', '/queue/paygate.card'],
      ['reply-to', '/temp-queue/r'],
      ['x-n', '0'],
      ['content-length', String(body.length)],
    ]);
    expect(request.body.equals(body)).toBe(true);
    expect(request.bodySha256).toBe(bodyDigest(body));
    expect(reply.destination).toBe(replyTo);
    expect(reply.body.equals(Buffer.concat([body, Buffer.from([0])]))).toBe(true);
    const last = captured.at(-1) as CapturedMessage;
    expect([last.destination, last.body.toString()]).toEqual(['/queue/paygate.feed.events', 'events from stompjs']);
    expect(last.headers).toContainEqual(['x-from', 'stompjs']);
  });

  it('continues an existing capture and records only what --tap-destination names', async () => {
    const dir = tempDir();
    const first = await startBroker(['--tap', dir]);
    const client = await RawClient.connect({ host: '127.0.0.1', port: first.port });
    await client.sendAndConfirm({ destination: '/queue/paygate.card' }, 'first run');
    expect(await stop(first)).toBe(0);

    const second = await startBroker(['--tap', dir, '--tap-destination', '/queue/audit.*', '--tap-destination', '/topic/prices.>']);
    const again = await RawClient.connect({ host: '127.0.0.1', port: second.port });
    for (const destination of ['/queue/paygate.card', '/queue/audit.x', '/queue/audit.x.y', '/topic/prices.eur']) {
      await again.sendAndConfirm({ destination }, destination);
    }
    expect(await stop(second)).toBe(0);
    const captured = await readAll(dir);
    expect(captured.map((m) => [m.seq, m.body.toString()])).toEqual([
      [1, 'first run'],
      [2, '/queue/audit.x'],
      [3, '/topic/prices.eur'],
    ]);
  });

  it('on a full device keeps serving, prints one line without message content, and counts what it missed', async () => {
    const dir = tempDir();
    const broker = await startBroker(['--tap', dir]);
    // The writer opens its first segment on its first record: make that file the full device.
    symlinkSync('/dev/full', join(dir, 'segment-000001.jsonl'));
    const address = { host: '127.0.0.1', port: broker.port };
    const [producer, consumer] = [await RawClient.connect(address), await RawClient.connect(address)];
    consumer.send('SUBSCRIBE', { id: 'c', destination: '/queue/paygate.card' });
    const secret = 'card 4111111111111111';
    for (let n = 0; n < 20; n++) await producer.sendAndConfirm({ destination: '/queue/paygate.card', 'x-pan': secret }, `${secret} #${n}`);
    for (let n = 0; n < 20; n++) expect((await consumer.expect('MESSAGE')).body.toString()).toBe(`${secret} #${n}`);

    const line = await broker.stderrLine(/tap:/);
    expect(line).toMatch(/^paygate broker: tap: AUDIT_CAPTURE_FAILED: cannot write the capture .*: ENOSPC/);
    expect(await stop(broker)).toBe(1);
    const lines = broker.stderr().trim().split('\n');
    expect(lines).toEqual([line, `paygate broker: tap: 20 message(s) were not recorded in the capture ${dir}`]);
    expect(broker.stderr()).not.toMatch(/4111|card /);
  });

  it('refuses bad --tap flags with one line and exit code 2', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const notDir = await refusal('--tap', join(file, 'capture'));
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toMatch(/^paygate: FILE_UNWRITABLE: --tap .*a-file\/capture.*\n$/);

    const badPattern = await refusal('--tap', join(dir, 'c1'), '--tap-destination', '/exchange/x');
    expect(badPattern).toEqual({ code: 2, stderr: expect.stringMatching(/^paygate: BROKER_BAD_OPTION: --tap-destination "\/exchange\/x" must start with \/queue\/[^\n]*\n$/) });
    expect(existsSync(join(dir, 'c1', 'segment-000001.jsonl'))).toBe(false);

    const alone = await refusal('--tap-destination', '/queue/x.>');
    expect(alone).toEqual({ code: 2, stderr: 'paygate: BROKER_BAD_OPTION: --tap-destination needs --tap\n' });

    // A folder holding a damaged capture is not continued (its sequence numbers are unknown).
    const damaged = join(dir, 'damaged');
    const first = await startBroker(['--tap', damaged]);
    expect(await stop(first)).toBe(0);
    writeFileSync(join(damaged, 'segment-000001.jsonl'), '{"capture":1,"seq":1');
    const refused = await refusal('--tap', damaged);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^paygate: AUDIT_CAPTURE_TRUNCATED: [^\n]+\n$/);
  });
});
