/**
 * STOMP transactions of one connection: SENDs, ACKs and NACKs that name a `transaction` are
 * held here and applied in order on COMMIT, or forgotten on ABORT (and on disconnect).
 *
 * Held frames are memory, so they are bounded twice: by count (`maxTransactionFrames`) and by
 * bytes, which the connection checks against its own and the broker's caps ({@link ByteAccount}).
 * Whatever is forgotten gives its bytes back at once.
 */
import { BrokerError, BrokerLimitError } from './errors.ts';

/** Where held bytes are counted (the connection's `maxConnectionBytes`, the broker's `maxTotalBytes`). */
export interface ByteAccount {
  /** Count `bytes` more, or throw a {@link BrokerLimitError} naming the cap they would break. */
  reserve(bytes: number): void;
  /** Give `bytes` back. */
  release(bytes: number): void;
}

interface Held {
  readonly operations: Array<() => void>;
  bytes: number;
}

export class Transactions {
  readonly #open = new Map<string, Held>();
  /** Open transactions plus the frames they hold, bounded: held frames are memory. */
  #held = 0;
  #bytes = 0;

  /**
   * @param maxHeld most open transactions plus frames held in them, per connection.
   * @param account where the bytes of held frames are counted.
   */
  constructor(
    readonly maxHeld: number,
    readonly account: ByteAccount,
  ) {}

  /** Bytes of the frames held in every open transaction. */
  get bytes(): number {
    return this.#bytes;
  }

  begin(id: string): void {
    if (this.#open.has(id)) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is already open`);
    this.#hold();
    this.#open.set(id, { operations: [], bytes: 0 });
  }

  /** Queue an operation holding `bytes` (its frame); it runs only if the transaction commits. */
  add(id: string, operation: () => void, bytes: number): void {
    const held = this.#get(id);
    this.#hold();
    try {
      this.account.reserve(bytes);
    } catch (error) {
      this.#held--;
      throw error;
    }
    held.bytes += bytes;
    this.#bytes += bytes;
    held.operations.push(operation);
  }

  /** Run the operations in the order they arrived (their bytes are released first: each SEND is counted again where it goes). */
  commit(id: string): void {
    const held = this.#get(id);
    this.#release(id, held);
    for (const op of held.operations) op();
  }

  abort(id: string): void {
    this.#release(id, this.#get(id));
  }

  /** Forget every open transaction: a disconnect aborts them (STOMP 1.2 §BEGIN). */
  clear(): void {
    for (const [id, held] of [...this.#open]) this.#release(id, held);
  }

  #hold(): void {
    if (++this.#held > this.maxHeld) {
      this.#held--;
      throw new BrokerLimitError('maxTransactionFrames', `more than ${this.maxHeld} frames held in open transactions`);
    }
  }

  #release(id: string, held: Held): void {
    this.#open.delete(id);
    this.#held -= held.operations.length + 1;
    this.#bytes -= held.bytes;
    this.account.release(held.bytes);
  }

  #get(id: string): Held {
    const held = this.#open.get(id);
    if (held === undefined) throw new BrokerError('BROKER_PROTOCOL', `transaction ${id} is not open`);
    return held;
  }
}
