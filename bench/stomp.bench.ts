/**
 * `npm run bench:stomp`: plaintext request/reply round trips per second, with p50/p99 latency,
 * at 1, 16 and 64 requests in flight, for every broker in PAYGATE_TEST_BROKERS (the embedded one
 * always). One table at the end; figures are recorded in docs/benchmarks.md, never asserted.
 *
 * Set-up, the same on every broker: stompit clients (noDelay set on the socket: stompit only sets
 * it when heart-beats are on), one responder subscribed to `/queue/paygate.bench.requests` that
 * SENDs each request's body back to its `reply-to`, and one requester that keeps N requests in
 * flight. Replies go to a plain queue, `/queue/paygate.bench.replies` (not a temp queue: the three
 * brokers do temp queues three ways, and this measures the broker, not that code). Stray replies
 * from an earlier, interrupted run are recognised by correlation-id and ignored.
 *
 * The embedded broker runs in its own process (`paygate broker --port 0`), as RabbitMQ and
 * ActiveMQ do, so it does not share the event loop with the clients that measure it.
 * BENCH_SECONDS (default 3) sets the measuring time per depth, after a 0.5 s warm-up.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import stompit from 'stompit';
import type Client from 'stompit/lib/Client.js';
import { parseTestBrokers } from '../test/helpers/brokers.ts';
import type { BrokerDescriptor } from '../test/helpers/brokers.ts';

const DEPTHS = [1, 16, 64];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARM_UP_MS = 500;
const REQUESTS = '/queue/paygate.bench.requests';
const REPLIES = '/queue/paygate.bench.replies';
const BODY = `paygate: 1\nkind: request\nprovider: card\ntype: authorize\npayload: {amount: {value: 1999, currency: EUR}, order_id: ord-1001}\n${'#'.repeat(120)}\n`;

interface Row {
  broker: string;
  depth: number;
  rate: number;
  p50: number;
  p99: number;
}

function connectStompit(broker: BrokerDescriptor, port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const connectHeaders = { host: broker.vhost, login: broker.login, passcode: broker.passcode, 'heart-beat': '0,0' };
    const client = stompit.connect(
      {
        host: broker.host,
        port,
        connectHeaders,
        connect: (options: object, listener?: () => void) => {
          const socket = netConnect(options as { host: string; port: number }, listener);
          socket.setNoDelay(true);
          return socket;
        },
      } as unknown as Parameters<typeof stompit.connect>[0],
      (error, connected) => (error ? reject(error) : resolve(connected)),
    );
    client.on('error', (error: Error) => console.error(`${broker.name}: ${error.message}`));
  });
}

const headersOf = (message: Client.Message): Record<string, string> =>
  (message as unknown as { headers: Record<string, string> }).headers;

/** The responder: every request's body goes back to its reply-to with its correlation-id. */
function respond(client: Client): void {
  client.subscribe({ destination: REQUESTS, ack: 'auto' }, (error, message) => {
    if (error) return;
    const headers = headersOf(message);
    message.readString('utf8', (readError?: Error | null, body?: string) => {
      if (readError || !headers['reply-to']) return;
      client.send({ destination: headers['reply-to'], 'correlation-id': headers['correlation-id'] }).end(body);
    });
  });
}

/** Keep `depth` requests in flight for the warm-up plus SECONDS; latencies of the measured part. */
async function measure(requester: Client, pending: Map<string, (id: string) => void>, depth: number, runId: string): Promise<Omit<Row, 'broker'>> {
  const latencies: number[] = [];
  const start = performance.now();
  const measureFrom = start + WARM_UP_MS;
  const end = measureFrom + SECONDS * 1000;
  let seq = 0;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const fire = (): void => {
      const sentAt = performance.now();
      if (sentAt >= end) {
        if (inFlight === 0) resolve();
        return;
      }
      const id = `${runId}-${depth}-${++seq}`;
      inFlight++;
      pending.set(id, () => {
        inFlight--;
        const now = performance.now();
        if (sentAt >= measureFrom) latencies.push(now - sentAt);
        fire();
      });
      requester.send({ destination: REQUESTS, 'reply-to': REPLIES, 'correlation-id': id, 'content-type': 'text/plain' }).end(BODY);
    };
    for (let i = 0; i < depth; i++) fire();
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { depth, rate: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99) };
}

async function benchBroker(broker: BrokerDescriptor, port: number): Promise<Row[]> {
  const runId = Math.random().toString(36).slice(2);
  const responder = await connectStompit(broker, port);
  const requester = await connectStompit(broker, port);
  respond(responder);
  const pending = new Map<string, (id: string) => void>();
  requester.subscribe({ destination: REPLIES, ack: 'auto' }, (error, message) => {
    if (error) return;
    const id = headersOf(message)['correlation-id'] ?? '';
    message.readString('utf8', () => {
      const done = pending.get(id);
      pending.delete(id);
      done?.(id); // replies of an earlier, interrupted run have no entry
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // both SUBSCRIBEs are in place
  const rows: Row[] = [];
  for (const depth of DEPTHS) rows.push({ broker: broker.name, ...(await measure(requester, pending, depth, runId)) });
  await Promise.all([responder, requester].map((c) => new Promise((resolve) => c.disconnect(() => resolve(undefined)))));
  return rows;
}

/** `paygate broker --port 0` in a child process; resolves with it and the port it printed. */
async function startEmbedded(): Promise<{ child: ChildProcess; port: number }> {
  const bin = fileURLToPath(new URL('../bin/paygate.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'broker', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    out += chunk.toString();
    const match = /listening on stomp:\/\/[^:]+:(\d+)/.exec(out);
    if (match) return { child, port: Number(match[1]) };
  }
  throw new Error(`paygate broker exited before listening: ${out}`);
}

function printTable(rows: Row[]): void {
  const header = ['broker', 'in flight', 'rt/s', 'p50 ms', 'p99 ms'];
  const lines = rows.map((r) => [r.broker, String(r.depth), r.rate.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(format(header));
  console.log(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const brokers = parseTestBrokers(process.env.PAYGATE_TEST_BROKERS);
  if (!brokers.some((b) => b.name === 'embedded')) brokers.unshift(parseTestBrokers('embedded')[0] as BrokerDescriptor);
  const rows: Row[] = [];
  const failed: string[] = [];
  for (const broker of brokers) {
    try {
      rows.push(...(await benchOne(broker)));
      console.error(`${broker.name}: done`);
    } catch (error) {
      // One broker down must not cost the figures of the others; the run still exits non-zero.
      failed.push(`${broker.name}: ${(error as Error).message}`);
    }
  }
  console.log(`\nSTOMP request/reply, plaintext, stompit with noDelay, ${SECONDS} s per depth (node ${process.version})\n`);
  printTable(rows);
  for (const line of failed) console.log(`not measured: ${line}`);
  if (failed.length > 0) process.exitCode = 1;
}

async function benchOne(broker: BrokerDescriptor): Promise<Row[]> {
  if (broker.name !== 'embedded') return benchBroker(broker, broker.port ?? 61613);
  const { child, port } = await startEmbedded();
  try {
    return await benchBroker(broker, port);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

await main();
