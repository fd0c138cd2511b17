/**
 * STOMP transactions of one connection: SENDs, ACKs and NACKs that name a `transaction` are
 * held here and applied in order on COMMIT, or forgotten on ABORT (and on disconnect).
 */
import { BrokerError } from './errors.ts';

export class Transactions {
  readonly #open = new Map<string, Array<() => void>>();

  begin(id: string): void {
    if (this.#open.has(id)) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is already open`);
    this.#open.set(id, []);
  }

  /** Queue an operation; it runs only if the transaction commits. */
  add(id: string, operation: () => void): void {
    this.#ops(id).push(operation);
  }

  /** Run the operations in the order they arrived. */
  commit(id: string): void {
    const ops = this.#ops(id);
    this.#open.delete(id);
    for (const op of ops) op();
  }

  abort(id: string): void {
    this.#ops(id);
    this.#open.delete(id);
  }

  /** Forget every open transaction: a disconnect aborts them (STOMP 1.2 §BEGIN). */
  clear(): void {
    this.#open.clear();
  }

  #ops(id: string): Array<() => void> {
    const ops = this.#open.get(id);
    if (ops === undefined) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is not open`);
    return ops;
  }
}
