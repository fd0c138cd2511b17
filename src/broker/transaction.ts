/**
 * STOMP transactions of one connection: SENDs, ACKs and NACKs that name a `transaction` are
 * held here and applied in order on COMMIT, or forgotten on ABORT (and on disconnect).
 */
import { BrokerError } from './errors.ts';

export class Transactions {
  readonly #open = new Map<string, Array<() => void>>();
  /** Open transactions plus the frames they hold, bounded: held frames are memory. */
  #held = 0;

  /** @param maxHeld most open transactions plus frames held in them, per connection. */
  constructor(readonly maxHeld: number) {}

  begin(id: string): void {
    if (this.#open.has(id)) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is already open`);
    this.#hold();
    this.#open.set(id, []);
  }

  /** Queue an operation; it runs only if the transaction commits. */
  add(id: string, operation: () => void): void {
    const ops = this.#ops(id);
    this.#hold();
    ops.push(operation);
  }

  /** Run the operations in the order they arrived. */
  commit(id: string): void {
    const ops = this.#ops(id);
    this.#release(id, ops);
    for (const op of ops) op();
  }

  abort(id: string): void {
    this.#release(id, this.#ops(id));
  }

  /** Forget every open transaction: a disconnect aborts them (STOMP 1.2 §BEGIN). */
  clear(): void {
    this.#open.clear();
    this.#held = 0;
  }

  #hold(): void {
    if (++this.#held > this.maxHeld) {
      throw new BrokerError('BROKER_LIMIT', `more than ${this.maxHeld} frames held in open transactions`);
    }
  }

  #release(id: string, ops: ReadonlyArray<() => void>): void {
    this.#open.delete(id);
    this.#held -= ops.length + 1;
  }

  #ops(id: string): Array<() => void> {
    const ops = this.#open.get(id);
    if (ops === undefined) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is not open`);
    return ops;
  }
}
