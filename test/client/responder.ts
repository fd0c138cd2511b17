/**
 * A test peer for the SDK's tests: a minimal stand-in for a provider worker on a raw
 * `StompConnection`. It subscribes to `/queue/paygate.counting`, opens each request with the
 * gateway identity (trusting the dev CA), records it, and answers on the request's `reply-to`
 * with the same `correlation-id`: a reply document sealed to the request's signer.
 *
 * Not the product worker (src/worker): no idempotency store, no freshness checks. By default it
 * runs the `counting` fixture plugin (validateRequest → handler → validateResult); a test sets
 * {@link TestResponder.answer} to reply otherwise (an error, a delay, another signer, a tampered
 * body, no reply at all, or several replies: forged ones before the genuine one).
 */
import { randomUUID } from 'node:crypto';
import { StompConnection, type StompMessage, type StompOptions } from '../../src/stomp/index.ts';
import { PING_TYPE, ProviderError, validateRequest, validateResult, type ActionContext } from '../../src/providers/index.ts';
import {
  decodeYaml, encodeYaml, HEADER, loadIdentity, open, parseRequestDocument, replyHeaders, seal, TrustStore, type Certificate,
  type Identity, type ReplyDocumentInput, type ReplyStatus, type RequestDocument,
} from '../../src/wire/index.ts';
import { counting } from '../fixtures/counting-provider.ts';

/** A request as the responder received it. */
export interface ReceivedRequest {
  /** The decoded document (plain values: the card number as sent). */
  readonly document: RequestDocument;
  readonly headers: Readonly<Record<string, string>>;
  /** The sealed body as it crossed the broker. */
  readonly body: string;
  readonly signer: Certificate;
}

/** How to answer one request. */
export interface Answer {
  readonly status: ReplyStatus;
  readonly result?: Record<string, unknown>;
  readonly error?: { code: string; message: string; retryable: boolean };
  /** Sign with this identity instead of the gateway's. */
  readonly signer?: Identity;
  /** Encrypt to this certificate instead of the request's signer. */
  readonly recipient?: Certificate;
  /** Send with this `correlation-id` instead of the request's. */
  readonly correlationId?: string;
  /** Fields of the reply document to override (e.g. another `request_id`). */
  readonly document?: Partial<ReplyDocumentInput>;
  /** Changes the sealed body before it is sent. */
  readonly tamper?: (body: string) => string;
}

/** Decides the answer; `undefined`: send no reply; a list: send each, in order. May wait (a slow worker). */
export type Answerer = (request: ReceivedRequest) => Answers | Promise<Answers>;
type Answers = Answer | readonly Answer[] | undefined;

const silent: ActionContext['log'] = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The default answer: what the counting plugin does with the request. */
export async function runCounting(request: ReceivedRequest): Promise<Answer> {
  const { document } = request;
  if (document.type === PING_TYPE) {
    return { status: 'approved', result: { provider: counting.name, version: counting.version, worker: 'test-responder' } };
  }
  try {
    const payload = validateRequest(counting, document.type as 'authorize', document.payload);
    const context: ActionContext = {
      idempotencyKey: document.idempotency_key,
      requestId: document.id,
      signal: new AbortController().signal,
      resources: undefined,
      log: silent,
    };
    const action = counting.actions[document.type as 'authorize'];
    const outcome = validateResult(counting, document.type as 'authorize', await action.handler(payload, context));
    return outcome as Answer;
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    return { status: 'error', error: { code: error.code, message: error.message, retryable: false } };
  }
}

/** A reply the responder sent: where, and the sealed body as it crossed the broker. */
export interface SentReply {
  readonly correlationId: string;
  readonly body: string;
}

export class TestResponder {
  readonly received: ReceivedRequest[] = [];
  readonly sent: SentReply[] = [];
  /** Failures of the responder itself (a request it could not open); tests expect none. */
  readonly failures: unknown[] = [];
  answer: Answerer = runCounting;
  readonly #gateway: Identity;
  readonly #trust: TrustStore;
  #connection: StompConnection | undefined;
  #waiters: (() => void)[] = [];

  private constructor(gateway: Identity, trust: TrustStore) {
    this.#gateway = gateway;
    this.#trust = trust;
  }

  /** Connects and subscribes to `destination` (default `/queue/paygate.counting`). */
  static async start(options: {
    brokers: StompOptions;
    gateway: { certPem: string; keyPem: string };
    caPem: string;
    destination?: string;
  }): Promise<TestResponder> {
    const responder = new TestResponder(loadIdentity(options.gateway.certPem, options.gateway.keyPem), new TrustStore([options.caPem]));
    const connection = await StompConnection.connect(options.brokers);
    responder.#connection = connection;
    // ack:auto, so that a test holding many answers back is not limited by a prefetch window.
    const subscription = connection.subscribe(options.destination ?? '/queue/paygate.counting', (m) => responder.#onRequest(m), {
      ack: 'auto',
    });
    await subscription.ready;
    return responder;
  }

  /** Back to the default answer, with nothing received. */
  reset(): void {
    this.received.length = 0;
    this.sent.length = 0;
    this.failures.length = 0;
    this.answer = runCounting;
  }

  /** Waits until `count` requests were received in total. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the responder received ${this.received.length} of ${count} requests within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await this.#connection?.close();
  }

  async #onRequest(message: StompMessage): Promise<void> {
    let request: ReceivedRequest;
    try {
      const opened = open(message.body, { identity: this.#gateway, trust: this.#trust });
      const document = parseRequestDocument(decodeYaml(opened.yaml));
      request = { document, headers: { ...message.headers }, body: message.body.toString('latin1'), signer: opened.signer };
    } catch (error) {
      this.failures.push(error);
      return;
    }
    this.received.push(request);
    for (const wake of this.#waiters.splice(0)) wake();
    try {
      const answers = await this.answer(request);
      const list: readonly Answer[] = answers === undefined ? [] : Array.isArray(answers) ? answers : [answers as Answer];
      // One after the other on one connection: the broker delivers them in this order.
      for (const answer of list) await this.#reply(request, answer);
    } catch (error) {
      this.failures.push(error);
    }
  }

  async #reply(request: ReceivedRequest, answer: Answer): Promise<void> {
    const { document, headers } = request;
    const reply = {
      paygate: 1,
      kind: 'reply',
      id: randomUUID(),
      request_id: document.id,
      provider: document.provider,
      type: document.type,
      sent_at: new Date().toISOString(),
      status: answer.status,
      ...(answer.result === undefined ? {} : { result: answer.result }),
      ...(answer.error === undefined ? {} : { error: answer.error }),
      ...answer.document,
    };
    const sealed = seal(encodeYaml(reply), { recipients: [answer.recipient ?? request.signer], signer: answer.signer ?? this.#gateway });
    const body = answer.tamper === undefined ? sealed : answer.tamper(sealed);
    const replyTo = headers[HEADER.replyTo];
    const correlationId = answer.correlationId ?? headers[HEADER.correlationId];
    if (replyTo === undefined || correlationId === undefined) throw new Error('a request without reply-to or correlation-id');
    this.sent.push({ correlationId, body });
    await this.#connection?.send(replyTo, body, { headers: replyHeaders({ correlationId, cipher: 'aes-256-gcm' }) });
  }
}

/** Changes one base64 character in the middle of a sealed S/MIME body (valid base64, broken content). */
export function flipBase64(body: string): string {
  const start = body.indexOf('\n\n') + 2;
  const at = start + Math.floor((body.length - start) / 2);
  const index = [...body.slice(at)].findIndex((ch) => /[A-Za-z0-9]/.test(ch)) + at;
  const ch = body[index];
  return `${body.slice(0, index)}${ch === 'A' ? 'B' : 'A'}${body.slice(index + 1)}`;
}
