import { StompError } from './errors.ts';
import type { StompMessage } from './message.ts';
import type { Operation } from './send-queue.ts';
import type { Headers } from './session.ts';

/** What a transaction needs from its connection. */
export interface TransactionHost {
  /** Runs `op` on the live session, or queues it until one is up. */
  dispatch(op: Operation): Promise<void>;
  /** Sends a body with byte-exact `content-length`. */
  encode(body: string | Uint8Array): Buffer;
}

/** Options of a frame sent in a transaction. */
export interface TransactionSendOptions {
  readonly headers?: Headers;
  readonly receipt?: boolean;
}

/**
 * A STOMP transaction (BEGIN … COMMIT/ABORT). Its frames go to the connection that received its
 * BEGIN; if that connection is lost the broker aborts the transaction, and every later frame of
 * it (COMMIT included) rejects with the error that ended the connection, so nothing is
 * half-committed on another node.
 */
export class Transaction {
  #generation: number | undefined;
  #lost: StompError | undefined;
  readonly #begun: Promise<void>;

  constructor(
    /** The `transaction` header value. */
    readonly id: string,
    private readonly host: TransactionHost,
  ) {
    this.#begun = host.dispatch((session, generation) => {
      this.#generation = generation;
      session.onClose((err) => (this.#lost ??= err));
      return session.send('BEGIN', { transaction: id }, undefined, false);
    });
    this.#begun.catch(() => undefined); // reported by the next operation
  }

  /** SENDs inside the transaction: the broker delivers it on COMMIT only. */
  send(destination: string, body: string | Uint8Array, options: TransactionSendOptions = {}): Promise<void> {
    const headers: Headers = { ...options.headers, destination, transaction: this.id };
    const encoded = this.host.encode(body);
    return this.#run((session) => session.send('SEND', headers, encoded, options.receipt ?? false));
  }

  /** ACKs a message inside the transaction (it counts as acknowledged on COMMIT). */
  ack(message: StompMessage, options: { receipt?: boolean } = {}): Promise<void> {
    return this.#begun.then(() => message.ack({ ...options, transaction: this.id }));
  }

  /** NACKs a message inside the transaction. */
  nack(message: StompMessage, options: { receipt?: boolean } = {}): Promise<void> {
    return this.#begun.then(() => message.nack({ ...options, transaction: this.id }));
  }

  /** COMMITs; with the default receipt it resolves once the broker confirmed. */
  commit(options: { receipt?: boolean } = {}): Promise<void> {
    return this.#run((session) => session.send('COMMIT', { transaction: this.id }, undefined, options.receipt ?? true));
  }

  /** ABORTs: nothing sent or acknowledged in the transaction takes effect. */
  abort(options: { receipt?: boolean } = {}): Promise<void> {
    return this.#run((session) => session.send('ABORT', { transaction: this.id }, undefined, options.receipt ?? true));
  }

  #run(op: Operation): Promise<void> {
    return this.#begun.then(() =>
      this.host.dispatch((session, generation) => {
        if (generation !== this.#generation || this.#lost !== undefined) {
          const reason = this.#lost ?? new StompError('STOMP_CLOSED_BY_PEER', 'connection lost');
          const message = `transaction ${this.id} was lost with its connection (${reason.code}); the broker aborted it`;
          return Promise.reject(new StompError(reason.code, message, { node: reason.node, cause: reason }));
        }
        return op(session, generation);
      }),
    );
  }
}
