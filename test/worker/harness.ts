/**
 * A worker under test, with everything real around it: a broker (an embedded one started for the
 * test file, or RabbitMQ / ActiveMQ from PAYGATE_TEST_BROKERS), the dev PKI, a SQLite
 * idempotency store in a temporary folder, and a raw client (StompConnection + the wire module,
 * not the SDK) that seals requests, sends them with the contract's headers and opens the replies
 * it gets on its reply queue.
 *
 * Each harness has queues of its own (`/queue/paygate.<random>-<provider>`), so test files on a
 * shared external broker never take each other's requests. The worker connects with the broker's
 * `worker` login, the client as `storefront` and the dead-letter reader as `operator`: the tests
 * run with the rights the product is deployed with (docs/broker-access.md).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StompConnection, type StompMessage, type StompOptions } from '../../src/stomp/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import {
  Certificate, decodeYaml, encodeYaml, loadIdentity, open, parseReplyDocument, requestHeaders, seal, TrustStore, type Identity, type ReplyDocument,
  type RequestDocumentInput,
} from '../../src/wire/index.ts';
import { Worker, type WorkerOptions } from '../../src/worker/index.ts';
import type { ProcessedEvent, DeadLetterEvent, HandlerErrorEvent, WorkerErrorEvent } from '../../src/worker/index.ts';
import { asRole, parseTestBrokers, startTestBroker, type BrokerDescriptor, type TestBroker, type TestRole } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { waitUntil } from '../helpers/timing.ts';
import { Inbox, nodeOf } from '../integration/support.ts';
import { counting } from '../fixtures/counting-provider.ts';

export const WAIT_MS = 10_000;

/** A card that passes Luhn (a test PAN) and expires in two years. */
export const TEST_PAN = '4111111111111111';

export function authorizePayload(overrides: { value?: number; order?: string } = {}): Record<string, unknown> {
  return {
    amount: { value: overrides.value ?? 1999, currency: 'EUR' },
    card: { number: TEST_PAN, exp_month: 12, exp_year: new Date().getUTCFullYear() + 2, cvc: '737' },
    order_id: overrides.order ?? `ord-${randomUUID().slice(0, 8)}`,
  };
}

/** A request document: authorize on `counting`, sent now, expiring in 30 s, unless overridden. */
export function requestDoc(overrides: Partial<RequestDocumentInput> = {}): RequestDocumentInput {
  const now = Date.now();
  return {
    paygate: 1,
    kind: 'request',
    id: randomUUID(),
    provider: 'counting',
    type: 'authorize',
    sent_at: new Date(now).toISOString(),
    expires_at: new Date(now + 30_000).toISOString(),
    payload: authorizePayload(),
    ...overrides,
  };
}

/** A STOMP node of `descriptor` logged in as `role` (through `at`, e.g. a proxy, when given). */
export function nodeAs(descriptor: BrokerDescriptor & { port: number }, role: TestRole, at?: { host: string; port: number }): StompOptions['nodes'][number] {
  return nodeOf(asRole(descriptor, role), at);
}

/** Everything one test file needs; made by {@link startHarness}, ended by `close()`. */
export interface Harness {
  readonly pki: TestPki;
  readonly broker: TestBroker;
  readonly worker: Worker;
  /** The client's connection (the `storefront` role). */
  readonly client: StompConnection;
  /** A connection with the `operator` role: reads the dead-letter queues. */
  readonly operator: StompConnection;
  readonly clientIdentity: Identity;
  readonly gatewayIdentity: Identity;
  readonly storePath: string;
  /** This harness's queue prefix, e.g. `/queue/paygate.w1a2b3c4-`. */
  readonly queuePrefix: string;
  /** The last reply received per correlation id. */
  readonly replies: Map<string, StompMessage>;
  /** Every reply received per correlation id, in order. */
  readonly allReplies: Map<string, StompMessage[]>;
  /** Messages of the counting DLQ, in order. */
  readonly deadLetters: Inbox;
  readonly replyTo: string;
  /** The proxy the worker's consuming connection goes through (`proxy: true`); its publishing connection goes direct. */
  readonly proxy: TcpProxy | undefined;
  /** Everything the worker and the handlers logged, as text. */
  readonly logs: string[];
  readonly events: { processed: ProcessedEvent[]; deadLetter: DeadLetterEvent[]; handlerError: HandlerErrorEvent[]; error: WorkerErrorEvent[] };
  /** Added to the worker's clock (ms). */
  clockOffsetMs: number;
  /** The request queue of `provider` (`counting` by default). */
  queue(provider?: string): string;
  /** The dead-letter queue of `provider` (`counting` by default). */
  dlq(provider?: string): string;
  /** Seals `doc` as the client (or `signer`) to the gateway. */
  seal(doc: unknown, signer?: Identity): string;
  /** SENDs a body to the counting queue (or `destination`) with the contract's headers; returns the correlation id. */
  send(body: string | Buffer, options?: { headers?: Record<string, string>; destination?: string; correlationId?: string }): Promise<string>;
  /** Seals and sends `doc` to its provider's queue (or `destination`), then waits for its reply and opens it. */
  roundTrip(doc: RequestDocumentInput, destination?: string): Promise<ReplyDocument>;
  /** Waits for the reply with `correlationId` and opens it (checking that the gateway signed it). */
  reply(correlationId: string): Promise<ReplyDocument>;
  /** Waits for the `n`-th reply (1-based) with `correlationId` and opens it. */
  nthReply(correlationId: string, n: number): Promise<ReplyDocument>;
  /** Opens a received reply (checking that the gateway signed it). */
  openReply(message: StompMessage): ReplyDocument;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** The broker to run on: embedded (started for the harness) unless given. */
  readonly broker?: BrokerDescriptor;
  /** A broker the caller started (e.g. an embedded one with its own limits); `close()` stops it. */
  readonly startedBroker?: TestBroker;
  readonly extra?: ProviderDefinition[];
  readonly worker?: Partial<WorkerOptions>;
  readonly busyTimeoutMs?: number;
  /** Put a TCP proxy in front of the worker's consuming connection (fault injection). */
  readonly proxy?: boolean;
}

/** Starts the broker, the worker (serving `counting` and `extra` providers) and the client. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const broker = options.startedBroker ?? (await startTestBroker(options.broker ?? (parseTestBrokers('embedded')[0] as BrokerDescriptor)));
  const pki = await makeTestPki();
  const storePath = join(makeTempDir('worker-store'), 'idempotency.sqlite');
  const queuePrefix = `/queue/paygate.w${randomBytes(4).toString('hex')}-`;
  const logs: string[] = [];
  const record = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const harness = { clockOffsetMs: 0 } as { clockOffsetMs: number };
  const proxy = options.proxy === true ? await TcpProxy.start(broker.descriptor.host, broker.descriptor.port) : undefined;
  const direct = nodeAs(broker.descriptor, 'worker');
  const worker = await Worker.start({
    stomp: { nodes: [proxy ? nodeAs(broker.descriptor, 'worker', proxy) : direct], connectTimeoutMs: 3_000 },
    ...(proxy ? { publisherStomp: { nodes: [direct], connectTimeoutMs: 3_000 } } : {}),
    identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
    trust: [pki.ca.certPem],
    providers: [counting, ...(options.extra ?? [])],
    idempotency: { path: storePath, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) },
    queuePrefix,
    log: { info: record('info'), warn: record('warn'), error: record('error') },
    clock: () => Date.now() + harness.clockOffsetMs,
    ...options.worker,
  });
  const events = { processed: [] as ProcessedEvent[], deadLetter: [] as DeadLetterEvent[], handlerError: [] as HandlerErrorEvent[], error: [] as WorkerErrorEvent[] };
  worker.on('processed', (event) => events.processed.push(event));
  worker.on('dead-letter', (event) => events.deadLetter.push(event));
  worker.on('handler-error', (event) => events.handlerError.push(event));
  worker.on('error', (event) => events.error.push(event));

  const client = await StompConnection.connect({ nodes: [nodeAs(broker.descriptor, 'storefront')], connectTimeoutMs: 3_000 });
  const operator = await StompConnection.connect({ nodes: [nodeAs(broker.descriptor, 'operator')], connectTimeoutMs: 3_000 });
  const replies = new Map<string, StompMessage>();
  const allReplies = new Map<string, StompMessage[]>();
  const waiters = new Set<() => void>();
  const replyQueue = client.replyQueue((message) => {
    const id = message.headers['correlation-id'] ?? '';
    replies.set(id, message);
    allReplies.set(id, [...(allReplies.get(id) ?? []), message]);
    for (const wake of [...waiters]) wake();
  });
  const deadLetters = new Inbox();
  await operator.subscribe(`${queuePrefix}counting.dlq`, deadLetters.handler, { ack: 'auto' }).ready;

  const clientIdentity = loadIdentity(pki.client.certPem, pki.client.keyPem);
  const gatewayIdentity = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
  const gatewayCert = Certificate.from(pki.gateway.certPem);
  const clientTrust = new TrustStore([pki.ca.certPem]);

  const waitReply = (correlationId: string, n: number): Promise<StompMessage> =>
    new Promise((resolve, reject) => {
      const found = (): StompMessage | undefined => allReplies.get(correlationId)?.[n - 1];
      const ready = found();
      if (ready) return resolve(ready);
      const wake = (): void => {
        const message = found();
        if (message === undefined) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(message);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`no reply #${n} for ${correlationId} within ${WAIT_MS} ms`));
      }, WAIT_MS);
      waiters.add(wake);
    });

  const openReply = (message: StompMessage): ReplyDocument => {
    const opened = open(message.body, { identity: clientIdentity, trust: clientTrust });
    if (opened.signer.fingerprint !== gatewayCert.fingerprint) throw new Error('the reply is not signed by the gateway');
    return parseReplyDocument(decodeYaml(opened.yaml));
  };

  const self: Harness = Object.assign(harness, {
    pki, broker, worker, client, operator, clientIdentity, gatewayIdentity, storePath, queuePrefix, replies, allReplies, deadLetters, logs, events, proxy,
    replyTo: replyQueue.replyTo,
    queue: (provider = 'counting') => `${queuePrefix}${provider}`,
    dlq: (provider = 'counting') => `${queuePrefix}${provider}.dlq`,
    seal: (doc: unknown, signer: Identity = clientIdentity) => seal(encodeYaml(doc), { recipients: [gatewayCert], signer }),
    async send(body: string | Buffer, sendOptions: { headers?: Record<string, string>; destination?: string; correlationId?: string } = {}) {
      const correlationId = sendOptions.correlationId ?? randomUUID();
      const headers = {
        ...requestHeaders({ replyTo: replyQueue.replyTo, correlationId, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 }),
        ...sendOptions.headers,
      };
      await client.send(sendOptions.destination ?? self.queue(), body, { headers, receipt: true });
      return correlationId;
    },
    openReply,
    async nthReply(correlationId: string, n: number) {
      return openReply(await waitReply(correlationId, n));
    },
    async reply(correlationId: string) {
      return openReply(await waitReply(correlationId, 1));
    },
    async roundTrip(doc: RequestDocumentInput, destination?: string) {
      const correlationId = await self.send(self.seal(doc), { correlationId: doc.id, destination: destination ?? self.queue(doc.provider) });
      return self.reply(correlationId);
    },
    async close() {
      await worker.stop({ graceMs: 2_000 });
      await Promise.all([client.close(), operator.close()]);
      await proxy?.close();
      await broker.stop();
    },
  });
  return self;
}

/** Polls `check` until it is true or `ms` passed ({@link waitUntil}). */
export function until(check: () => boolean, ms = WAIT_MS): Promise<void> {
  return waitUntil(check, 'the condition', ms);
}
