/**
 * The capture side of the traffic-audit test: the embedded broker's tap written to a capture
 * folder, or `startBrokerCapture` on RabbitMQ's firehose and ActiveMQ's mirrored queues; and the
 * test's own share of a capture taken on a broker that other test files use at the same time.
 */
import { rmSync } from 'node:fs';
import { startBrokerCapture, type BrokerCapture } from '../../src/audit/capture/broker-capture.ts';
import { bodyDigest, openCaptureWriter, readCapture, type CapturedMessage } from '../../src/audit/capture/index.ts';
import type { EmbeddedBroker } from '../../src/broker/index.ts';
import { asRole, startEmbeddedBroker, type BrokerDescriptor } from '../helpers/brokers.ts';

/** A running capture of one broker. */
export interface RunningCapture {
  /** Bodies (SHA-256) recorded so far, with how many times each was. */
  readonly seen: Map<string, number>;
  /** Stops capturing; resolves once everything recorded is on disk. */
  stop(): Promise<void>;
}

/** The embedded broker with its tap on, written to `dir` as `paygate broker --tap` does. */
export async function startTappedBroker(dir: string): Promise<{ broker: EmbeddedBroker; capture: RunningCapture }> {
  const writer = await openCaptureWriter(dir);
  const seen = new Map<string, number>();
  const broker = await startEmbeddedBroker({
    tap: {
      sink: (message) => {
        writer.write({ source: 'embedded', ...message });
        count(seen, message.body);
      },
    },
  });
  return { broker, capture: { seen, stop: () => writer.close() } };
}

/** `paygate audit capture`'s library on an external broker, as the `audit` login. */
export async function startExternalCapture(descriptor: BrokerDescriptor & { port: number }, dir: string, subscription: string): Promise<RunningCapture> {
  const audit = asRole(descriptor, 'audit');
  const capture: BrokerCapture = await startBrokerCapture({
    kind: descriptor.name === 'rabbitmq' ? 'rabbitmq' : 'activemq',
    host: descriptor.host,
    port: descriptor.port,
    login: audit.login,
    passcode: audit.passcode,
    vhost: descriptor.vhost,
    out: dir,
    subscription,
  });
  const seen = new Map<string, number>();
  capture.onRecord((event) => void seen.set(event.bodySha256, (seen.get(event.bodySha256) ?? 0) + 1));
  return { seen, stop: async () => void (await capture.stop()) };
}

function count(seen: Map<string, number>, body: Buffer): void {
  const digest = bodyDigest(body);
  seen.set(digest, (seen.get(digest) ?? 0) + 1);
}

/** What belongs to this test run in a capture of a shared broker. */
export interface RunFilter {
  /** The run's request queues: `<prefix><provider>`. */
  readonly requestPrefix: string;
  readonly eventsQueue: string;
  /** The correlation ids the shop sent (its request ids): a reply carries its request's. */
  readonly correlationIds: ReadonlySet<string>;
  /**
   * The reply bodies the run's trail records. Used only for replies captured without headers
   * (RabbitMQ's firehose over STOMP keeps none of the sender's): the queues they went to are the
   * shop's own reply queues, and every reply to one of those is the run's, recorded or not.
   */
  readonly replyDigests: ReadonlySet<string>;
}

const REPLY_DESTINATION = /^\/(temp-queue|remote-temp-queue|reply-queue)\//;

/** Whether a captured message is this run's (a request, an events message, a reply). */
function isRunMessage(message: CapturedMessage, filter: RunFilter, replyQueues: ReadonlySet<string>): boolean {
  if (message.destination.startsWith(filter.requestPrefix) || message.destination === filter.eventsQueue) return true;
  if (!REPLY_DESTINATION.test(message.destination)) return false;
  const correlation = message.headers.find(([name]) => name === 'correlation-id')?.[1];
  return correlation === undefined ? replyQueues.has(message.destination) : filter.correlationIds.has(correlation);
}

/** Copies this run's messages of capture `from` into a new capture `to`, as they were; returns how many. */
export async function extractRun(from: string, to: string, filter: RunFilter): Promise<number> {
  rmSync(to, { recursive: true, force: true });
  const replyQueues = new Set<string>();
  for await (const message of readCapture(from)) {
    if (filter.replyDigests.has(message.bodySha256) && REPLY_DESTINATION.test(message.destination)) replyQueues.add(message.destination);
  }
  const writer = await openCaptureWriter(to);
  for await (const message of readCapture(from)) {
    if (!isRunMessage(message, filter, replyQueues)) continue;
    writer.write({ source: message.source, destination: message.destination, headers: message.headers, body: message.body, time: new Date(message.time) });
  }
  await writer.close();
  return writer.count;
}
