import { StompError } from './errors.ts';

/**
 * Frames sent with a `receipt` header that wait for their RECEIPT. Each waits at most its
 * timeout (then STOMP_TIMEOUT: the outcome is unknown), and all fail with the connection's error
 * when it is lost (an ERROR frame, which STOMP follows with a close, or a dropped socket).
 */
export class ReceiptTracker {
  readonly #pending = new Set<(err: StompError | undefined) => void>();

  /** How many receipts are awaited. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Starts waiting for one receipt. Call `onReceipt` when it arrives; `promise` settles then, on
   * timeout, or on {@link ReceiptTracker.failAll}.
   */
  expect(timeoutMs: number, what: string, node: string): { onReceipt: () => void; promise: Promise<void> } {
    let settle: (err: StompError | undefined) => void = () => undefined;
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new StompError('STOMP_TIMEOUT', `no RECEIPT for ${what} within ${timeoutMs} ms`, { node })),
        timeoutMs,
      );
      settle = (err) => {
        if (!this.#pending.delete(settle)) return;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      this.#pending.add(settle);
    });
    return { onReceipt: () => settle(undefined), promise };
  }

  /** Rejects every awaited receipt with `err`. */
  failAll(err: StompError): void {
    for (const settle of [...this.#pending]) settle(err);
  }
}
