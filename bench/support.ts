/**
 * What the benchmarks share: plaintext STOMP request/reply through stompit (the baseline every
 * secure figure is compared with), the embedded broker in a child process, and table printing.
 * See bench/stomp.bench.ts for the method.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import stompit from 'stompit';
import type Client from 'stompit/lib/Client.js';
import type { BrokerDescriptor } from '../test/helpers/brokers.ts';

export const DEPTHS = [1, 16, 64];
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
export const WARM_UP_MS = 500;
const REQUESTS = '/queue/paygate.bench.requests';
const REPLIES = '/queue/paygate.bench.replies';
const BODY = `paygate: 1\nkind: request\nprovider: card\ntype: authorize\npayload: {amount: {value: 1999, currency: EUR}, order_id: ord-1001}\n${'#'.repeat(120)}\n`;

/** One measured depth. */
export interface Row {
  broker: string;
  depth: number;
  rate: number;
  p50: number;
  p99: number;
}

export function connectStompit(broker: BrokerDescriptor, port: number): Promise<Client> {
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
  const at = (q: number): number => quantile(latencies, q);
  return { depth, rate: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99) };
}

/** Plaintext request/reply through `broker` at every depth. */
export async function benchBroker(broker: BrokerDescriptor, port: number): Promise<Row[]> {
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
export async function startEmbedded(): Promise<{ child: ChildProcess; port: number }> {
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

/** A markdown table: the first column left-aligned, the others right-aligned. */
export function printTable(header: string[], lines: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(format(header));
  console.log(`| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const line of lines) console.log(format(line));
}


/** The q-quantile of sorted latencies. */
export const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
