/**
 * Bad messages injected into the audit-trail test's traffic, sent raw on the storefront login
 * (src/stomp, no SDK) to a provider queue with a real reply queue, as an attacker or a broken
 * client would: a sealed request with bytes flipped, and a request sealed by a certificate of
 * another CA. The worker must dead-letter both; the test finds each in the audit feed by the
 * SHA-256 of the bytes sent here, and in the provider's dead-letter queue.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sealRequest } from '../../src/client/request-document.ts';
import { StompConnection, type StompMessage } from '../../src/stomp/index.ts';
import { Certificate, loadIdentity } from '../../src/wire/index.ts';
import { requestHeaders } from '../../src/wire/frame-headers.ts';
import type { BrokerDescriptor, TestRole } from '../helpers/brokers.ts';
import type { ForeignPki, TestPki } from '../helpers/pki.ts';
import { waitUntil } from '../helpers/timing.ts';
import { roleNode } from './support.ts';

/** One message injected, and what the worker must do with it. */
export interface Injected {
  readonly kind: 'tampered' | 'untrusted-signer';
  readonly provider: string;
  /** SHA-256 (hex) of the exact bytes sent: the audit record's `request_body_sha256`. */
  readonly sha256: string;
  readonly correlationId: string;
}

/** The dead-letter reasons each kind may get (a flipped byte lands in the ciphertext or the DER around it). */
export const EXPECTED_REASONS: Readonly<Record<Injected['kind'], readonly string[]>> = {
  tampered: ['DECRYPT_FAILED', 'MALFORMED_CMS', 'MALFORMED_MIME', 'BAD_SIGNATURE'],
  'untrusted-signer': ['UNTRUSTED_SIGNER'],
};

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * `body` with one base64 character, about `at` of the way in, replaced by another base64
 * character: still a well-formed S/MIME entity, but the bytes it carries changed.
 */
export function flipByte(body: Buffer, at: number): Buffer {
  const copy = Buffer.from(body);
  for (let i = Math.floor(copy.length * at); i < copy.length; i += 1) {
    const index = BASE64.indexOf(String.fromCharCode(copy[i] ?? 0));
    if (index < 0) continue;
    copy[i] = BASE64.charCodeAt((index + 17) % 64);
    return copy;
  }
  throw new Error('no base64 character to flip');
}

/** A storefront connection that sends the injected messages with a reply queue of its own. */
export class Injector {
  readonly #connection: StompConnection;
  readonly #replyTo: string;
  readonly #queuePrefix: string;
  readonly sent: Injected[] = [];
  /** Replies received (there must be none: nothing is answered to a message that did not open). */
  readonly replies: StompMessage[] = [];

  private constructor(connection: StompConnection, queuePrefix: string) {
    this.#connection = connection;
    this.#queuePrefix = queuePrefix;
    this.#replyTo = connection.replyQueue((message) => this.replies.push(message)).replyTo;
  }

  static async open(broker: BrokerDescriptor & { port: number }, queuePrefix: string): Promise<Injector> {
    const connection = await StompConnection.connect({ nodes: [roleNode(broker, 'storefront')], connectTimeoutMs: 5_000 });
    return new Injector(connection, queuePrefix);
  }

  /** Seals a valid request for `provider` with `signer`, optionally flips a byte, and sends it. */
  async send(kind: Injected['kind'], provider: string, pki: TestPki, signer: { certPem: string; keyPem: string }, at = 0.6): Promise<Injected> {
    // A status inquiry that fits the provider's schema: the only fault is the one injected.
    const reference = `inj-${randomUUID().slice(0, 8)}`;
    const payload = provider === 'card' ? { idempotency_key: reference } : { transaction_id: reference };
    const sealed = sealRequest(
      { provider, type: 'status', payload, timeoutMs: 60_000 },
      { identity: loadIdentity(signer.certPem, signer.keyPem), recipients: [Certificate.from(pki.gateway.certPem)], cipher: 'aes-256-gcm' },
    );
    const clean = Buffer.from(sealed.body, 'utf8');
    const body = kind === 'tampered' ? flipByte(clean, at) : clean;
    const correlationId = randomUUID();
    const headers = requestHeaders({ replyTo: this.#replyTo, correlationId, cipher: 'aes-256-gcm', expiresAt: sealed.expiresAt });
    await this.#connection.send(`${this.#queuePrefix}${provider}`, body, { headers, receipt: true });
    const injected = { kind, provider, sha256: sha256(body), correlationId };
    this.sent.push(injected);
    return injected;
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/** Sends `count` of each kind, spread over the three providers. */
export async function injectAll(injector: Injector, pki: TestPki, foreign: ForeignPki, count: number): Promise<void> {
  const providers = ['card', 'paypal', 'giftcard'];
  for (let n = 0; n < count; n += 1) {
    const provider = providers[n % providers.length] ?? 'card';
    await injector.send('tampered', provider, pki, pki.client, 0.3 + (0.6 * n) / count);
    await injector.send('untrusted-signer', provider, pki, foreign.client);
  }
}

/**
 * One dead letter as read back: its `correlation-id` and `paygate-dlq-reason` (matched by the
 * correlation id: the worker withholds a body it could not decrypt, src/worker/dead-letter.ts).
 */
export interface DeadLetter {
  readonly correlationId: string | undefined;
  readonly reason: string | undefined;
}

/**
 * Watches dead-letter queues as `role` (the operator's rights) from now on: every dead letter
 * that arrives is kept with the queue it came from.
 */
export class DeadLetterWatch {
  readonly #connection: StompConnection;
  readonly letters: (DeadLetter & { readonly queue: string; readonly body: Buffer })[] = [];

  private constructor(connection: StompConnection) {
    this.#connection = connection;
  }

  static async open(broker: BrokerDescriptor & { port: number }, role: TestRole, queues: readonly string[]): Promise<DeadLetterWatch> {
    const connection = await StompConnection.connect({ nodes: [roleNode(broker, role)], connectTimeoutMs: 5_000 });
    const watch = new DeadLetterWatch(connection);
    const subscriptions = queues.map((queue) =>
      connection.subscribe(queue, (message) => {
        watch.letters.push({ queue, correlationId: message.headers['correlation-id'], reason: message.headers['paygate-dlq-reason'], body: message.body });
        void message.ack().catch(() => undefined);
      }),
    );
    await Promise.all(subscriptions.map((subscription) => subscription.ready));
    return watch;
  }

  /** Resolves once `wanted` is true of the letters, or after `timeoutMs` (the caller checks what arrived). */
  async waitFor(wanted: (letters: readonly DeadLetter[]) => boolean, timeoutMs: number): Promise<void> {
    await waitUntil(() => wanted(this.letters), 'dead letters', timeoutMs).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}
