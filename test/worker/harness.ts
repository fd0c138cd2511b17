/**
 * A worker under test, with everything real around it: an embedded broker started for the test
 * file, the dev PKI, a SQLite idempotency store in a temporary folder, and a raw client
 * (StompConnection + the wire module, not the SDK) that seals requests, sends them with the
 * contract's headers and opens the replies it gets on its reply queue.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StompConnection, type StompMessage } from '../../src/stomp/index.ts';
import type { ProviderDefinition } from '../../src/providers/index.ts';
import {
  Certificate, decodeYaml, encodeYaml, loadIdentity, open, parseReplyDocument, requestHeaders, seal, TrustStore, type Identity, type ReplyDocument,
  type RequestDocumentInput,
} from '../../src/wire/index.ts';
import { Worker, type WorkerOptions } from '../../src/worker/index.ts';
import type { ProcessedEvent, DeadLetterEvent, HandlerErrorEvent, WorkerErrorEvent } from '../../src/worker/index.ts';
import { parseTestBrokers, startTestBroker, type TestBroker } from '../helpers/brokers.ts';
import { makeTempDir, makeTestPki, type TestPki } from '../helpers/pki.ts';
import { Inbox, nodeOf } from '../integration/support.ts';
import { counting } from '../fixtures/counting-provider.ts';

export const WAIT_MS = 10_000;
export const QUEUE = '/queue/paygate.counting';
export const DLQ = '/queue/paygate.counting.dlq';

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

/** Everything one test file needs; made by {@link startHarness}, ended by `close()`. */
export interface Harness {
  readonly pki: TestPki;
  readonly broker: TestBroker;
  readonly worker: Worker;
  readonly client: StompConnection;
  readonly clientIdentity: Identity;
  readonly gatewayIdentity: Identity;
  readonly storePath: string;
  /** Replies by correlation id. */
  readonly replies: Map<string, StompMessage>;
  /** Messages of the counting DLQ, in order. */
  readonly deadLetters: Inbox;
  readonly replyTo: string;
  /** Everything the worker and the handlers logged, as text. */
  readonly logs: string[];
  readonly events: { processed: ProcessedEvent[]; deadLetter: DeadLetterEvent[]; handlerError: HandlerErrorEvent[]; error: WorkerErrorEvent[] };
  /** Added to the worker's clock (ms). */
  clockOffsetMs: number;
  /** Seals `doc` as the client (or `signer`) to the gateway. */
  seal(doc: unknown, signer?: Identity): string;
  /** SENDs a body to the counting queue (or `destination`) with the contract's headers; returns the correlation id. */
  send(body: string | Buffer, options?: { headers?: Record<string, string>; destination?: string; correlationId?: string }): Promise<string>;
  /** Seals and sends `doc`, then waits for its reply and opens it. */
  roundTrip(doc: RequestDocumentInput, destination?: string): Promise<ReplyDocument>;
  /** Waits for the reply with `correlationId` and opens it (checking that the gateway signed it). */
  reply(correlationId: string): Promise<ReplyDocument>;
  close(): Promise<void>;
}

/** Starts the broker, the worker (serving `counting` and `extra` providers) and the client. */
export async function startHarness(
  options: { extra?: ProviderDefinition[]; worker?: Partial<WorkerOptions>; busyTimeoutMs?: number } = {},
): Promise<Harness> {
  const [descriptor] = parseTestBrokers('embedded');
  const broker = await startTestBroker(descriptor as NonNullable<typeof descriptor>);
  const pki = await makeTestPki();
  const storePath = join(makeTempDir('worker-store'), 'idempotency.sqlite');
  const logs: string[] = [];
  const record = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) =>
    logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const harness = { clockOffsetMs: 0 } as { clockOffsetMs: number };
  const worker = await Worker.start({
    stomp: { nodes: [nodeOf(broker.descriptor)], connectTimeoutMs: 3_000 },
    identity: { cert: pki.gateway.certPem, key: pki.gateway.keyPem },
    trust: [pki.ca.certPem],
    providers: [counting, ...(options.extra ?? [])],
    idempotency: { path: storePath, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) },
    log: { info: record('info'), warn: record('warn'), error: record('error') },
    clock: () => Date.now() + harness.clockOffsetMs,
    ...options.worker,
  });
  const events = { processed: [] as ProcessedEvent[], deadLetter: [] as DeadLetterEvent[], handlerError: [] as HandlerErrorEvent[], error: [] as WorkerErrorEvent[] };
  worker.on('processed', (event) => events.processed.push(event));
  worker.on('dead-letter', (event) => events.deadLetter.push(event));
  worker.on('handler-error', (event) => events.handlerError.push(event));
  worker.on('error', (event) => events.error.push(event));

  const client = await StompConnection.connect({ nodes: [nodeOf(broker.descriptor)], connectTimeoutMs: 3_000 });
  const replies = new Map<string, StompMessage>();
  const waiters = new Map<string, () => void>();
  const replyQueue = client.replyQueue((message) => {
    const id = message.headers['correlation-id'] ?? '';
    replies.set(id, message);
    waiters.get(id)?.();
  });
  const deadLetters = new Inbox();
  await client.subscribe(DLQ, deadLetters.handler, { ack: 'auto' }).ready;

  const clientIdentity = loadIdentity(pki.client.certPem, pki.client.keyPem);
  const gatewayIdentity = loadIdentity(pki.gateway.certPem, pki.gateway.keyPem);
  const gatewayCert = Certificate.from(pki.gateway.certPem);
  const clientTrust = new TrustStore([pki.ca.certPem]);

  const waitReply = (correlationId: string): Promise<StompMessage> =>
    new Promise((resolve, reject) => {
      const found = replies.get(correlationId);
      if (found) return resolve(found);
      const timer = setTimeout(() => reject(new Error(`no reply for ${correlationId} within ${WAIT_MS} ms`)), WAIT_MS);
      waiters.set(correlationId, () => {
        clearTimeout(timer);
        waiters.delete(correlationId);
        resolve(replies.get(correlationId) as StompMessage);
      });
    });

  const self: Harness = Object.assign(harness, {
    pki, broker, worker, client, clientIdentity, gatewayIdentity, storePath, replies, deadLetters, logs, events,
    replyTo: replyQueue.replyTo,
    seal: (doc: unknown, signer: Identity = clientIdentity) => seal(encodeYaml(doc), { recipients: [gatewayCert], signer }),
    async send(body: string | Buffer, sendOptions: { headers?: Record<string, string>; destination?: string; correlationId?: string } = {}) {
      const correlationId = sendOptions.correlationId ?? randomUUID();
      const headers = {
        ...requestHeaders({ replyTo: replyQueue.replyTo, correlationId, cipher: 'aes-256-gcm', expiresAt: Date.now() + 30_000 }),
        ...sendOptions.headers,
      };
      await client.send(sendOptions.destination ?? QUEUE, body, { headers, receipt: true });
      return correlationId;
    },
    async reply(correlationId: string) {
      const message = await waitReply(correlationId);
      const opened = open(message.body, { identity: clientIdentity, trust: clientTrust });
      if (opened.signer.fingerprint !== gatewayCert.fingerprint) throw new Error('the reply is not signed by the gateway');
      return parseReplyDocument(decodeYaml(opened.yaml));
    },
    async roundTrip(doc: RequestDocumentInput, destination?: string) {
      const correlationId = await self.send(self.seal(doc), { correlationId: doc.id, ...(destination ? { destination } : {}) });
      return self.reply(correlationId);
    },
    async close() {
      await worker.stop({ graceMs: 2_000 });
      await client.close();
      await broker.stop();
    },
  });
  return self;
}

/** Polls `check` until it is true or `ms` passed. */
export async function until(check: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
