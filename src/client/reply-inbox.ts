import { HEADER } from '../wire/index.ts';
import type { StompMessage } from '../stomp/index.ts';
import type { PendingRequests } from './pending-requests.ts';
import { readReply, type RejectionCode, type ReplyExpectation, type ReplyKeys } from './reply.ts';
import type { GatewayReply, ReplyRejectedEvent } from './types.ts';

/**
 * The gateway's reply queue, read: every message that arrives on it is matched to the request
 * waiting for it and verified **before** anyone believes it.
 *
 * Anyone who can send to our reply queue can put a message there (on RabbitMQ any login may
 * publish to any queue through the default exchange). Such a message must cost the storefront
 * nothing: a reply that does not verify (not encrypted to us, a bad signature, a signer without
 * the gateway role or not a configured gateway certificate, a reply to another request, a
 * malformed document) is dropped, counted and reported, and the request keeps waiting for its
 * genuine reply until its own timeout. Only a verified reply settles a request: its result, a
 * `RemoteError` for an error reply, a `ReplyResultError` for a result that breaks the schema.
 *
 * A message whose correlation id no request waits for is a late reply; it is never opened.
 */
export class ReplyInbox {
  readonly #pending: PendingRequests<GatewayReply<unknown>>;
  readonly #keys: ReplyKeys;
  readonly #onRejected: (event: ReplyRejectedEvent) => void;
  /** What each waiting request's reply must answer, by correlation id (= request id). */
  readonly #expected = new Map<string, ReplyExpectation>();
  readonly #rejectedByCode = new Map<RejectionCode, number>();
  #rejected = 0;

  constructor(pending: PendingRequests<GatewayReply<unknown>>, keys: ReplyKeys, onRejected: (event: ReplyRejectedEvent) => void) {
    this.#pending = pending;
    this.#keys = keys;
    this.#onRejected = onRejected;
  }

  /** Replies dropped since the gateway was made (they failed verification). */
  get rejected(): number {
    return this.#rejected;
  }

  /** The dropped replies by their rejection code. */
  rejectedByCode(): Readonly<Record<string, number>> {
    return Object.freeze(Object.fromEntries(this.#rejectedByCode));
  }

  /** Starts expecting the reply of a request, before it is sent. */
  expect(expectation: ReplyExpectation): void {
    this.#expected.set(expectation.requestId, expectation);
  }

  /** Stops expecting it (settled, failed or given up). */
  forget(requestId: string): void {
    this.#expected.delete(requestId);
  }

  /** The requests whose reply is expected. */
  waiting(): ReplyExpectation[] {
    return [...this.#expected.values()];
  }

  /** Handles one message of the reply queue. */
  receive(message: StompMessage): void {
    const correlationId = message.headers[HEADER.correlationId] ?? '';
    const expected = this.#expected.get(correlationId);
    if (expected === undefined || !this.#pending.has(correlationId)) {
      this.#pending.late(correlationId);
      return;
    }
    const verdict = readReply(message.body, expected, this.#keys);
    if (verdict.kind === 'accepted') this.#pending.settle(correlationId, verdict.reply);
    else if (verdict.kind === 'failed') this.#pending.fail(correlationId, verdict.error);
    else this.#reject(correlationId, verdict.code);
  }

  #reject(correlationId: string, code: RejectionCode): void {
    this.#rejected += 1;
    this.#rejectedByCode.set(code, (this.#rejectedByCode.get(code) ?? 0) + 1);
    this.#pending.noteRejected(correlationId);
    this.#onRejected({ correlationId, code });
  }
}
