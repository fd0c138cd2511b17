import { newTransactionId, timestamp } from './ids.ts';

/**
 * The sandbox's books: every transaction it created (the ledger of money movements) and the
 * answers bound to MSGSUBIDs. Card numbers are kept masked (first six, last four); CVV2s are
 * never kept.
 */

/** Kinds of transaction, i.e. of money movement. */
export type PaypalMovement = 'sale' | 'authorization' | 'capture' | 'refund' | 'void';

/** `PAYMENTSTATUS` values the sandbox uses. */
export type PaypalPaymentStatus = 'Completed' | 'Pending' | 'Voided' | 'Refunded' | 'Partially-Refunded';

/** One ledger entry, as tests and `GetTransactionDetails` see it. */
export interface PaypalLedgerEntry {
  /** `TRANSACTIONID` (for an authorization, the `AUTHORIZATIONID`). */
  readonly id: string;
  /** The request's MSGSUBID (the caller's idempotency key), or null when it sent none. */
  readonly reference: string | null;
  /** The request's INVNUM, or null. */
  readonly invoice: string | null;
  readonly type: PaypalMovement;
  /** Amount in minor units (for a void: what was still authorized). */
  readonly amount: number;
  readonly currency: string;
  /** Current status: refunds and captures change their parent's. */
  readonly state: PaypalPaymentStatus;
  /** The sale, capture or authorization this one refers to (refund, capture, void), or null. */
  readonly parentId: string | null;
  /** The card, first six and last four digits only (null for movements without a card). */
  readonly card: string | null;
  /** When it was recorded, PayPal `TIMESTAMP` format. */
  readonly at: string;
}

/** A transaction with the running totals the methods need. */
export interface PaypalTransaction extends PaypalLedgerEntry {
  state: PaypalPaymentStatus;
  /** Captured so far (authorizations). */
  captured: number;
  /** Refunded so far (sales and captures). */
  refunded: number;
  /** Authorization only: born expired (test card 4000000000000259). */
  readonly expired: boolean;
  readonly avs: string | null;
  readonly cvv2: string | null;
}

/** What a new transaction needs; ids, time and totals are filled in. */
export type NewTransaction = Omit<PaypalTransaction, 'id' | 'at' | 'captured' | 'refunded' | 'expired' | 'avs' | 'cvv2'> &
  Partial<Pick<PaypalTransaction, 'expired' | 'avs' | 'cvv2'>>;

/** The transactions, in the order they were made. */
export class PaypalBook {
  readonly #byId = new Map<string, PaypalTransaction>();

  /** Records a movement and returns it. */
  record(fields: NewTransaction): PaypalTransaction {
    const transaction: PaypalTransaction = {
      expired: false, avs: null, cvv2: null, ...fields, id: this.#freshId(), at: timestamp(), captured: 0, refunded: 0,
    };
    this.#byId.set(transaction.id, transaction);
    return transaction;
  }

  get(id: string | undefined): PaypalTransaction | undefined {
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /** Every transaction, oldest first. */
  all(): PaypalTransaction[] {
    return [...this.#byId.values()];
  }

  /** The ledger: copies of the entries without the internal totals. */
  ledger(): PaypalLedgerEntry[] {
    return this.all().map(({ id, reference, invoice, type, amount, currency, state, parentId, card, at }) =>
      Object.freeze({ id, reference, invoice, type, amount, currency, state, parentId, card, at }));
  }

  clear(): void {
    this.#byId.clear();
  }

  #freshId(): string {
    let id = newTransactionId();
    while (this.#byId.has(id)) id = newTransactionId();
    return id;
  }
}
