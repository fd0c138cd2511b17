/**
 * The sandbox's books: every Authorize and Sale (approved or declined) and every approved
 * Capture, Refund and Void, plus the idempotency record of each `MerchantRef`.
 *
 * Card data is kept as the first six and last four digits only: the full number and the CVV
 * never reach the ledger.
 */
import type { AvsResult, CvvResult, MoneyOperation, ResponseCode, TransactionResult, TransactionState } from './codes.ts';

/** What the ledger keeps of a card. */
export interface MaskedCard {
  first6: string;
  last4: string;
}

/** One line of the ledger. */
export interface LedgerEntry {
  transactionId: string;
  merchantRef: string;
  type: 'authorize' | 'sale' | 'capture' | 'refund' | 'void';
  /** Minor units: the authorized/sold amount, or what this capture/refund/void moved. */
  amount: number;
  currency: string;
  /** Current state; authorizations and sales move on as they are captured, refunded, voided. */
  state: TransactionState;
  responseCode: ResponseCode;
  /** The payment a capture, refund or void belongs to. */
  parentId?: string;
  /** Authorizations and sales: how much was captured (a sale captures at once) and refunded. */
  captured?: number;
  refunded?: number;
  card?: MaskedCard;
  authCode?: string;
  avs?: AvsResult;
  cvv?: CvvResult;
  /** ISO 8601. */
  createdAt: string;
}

/** The answer first given for a `MerchantRef`, replayed on every repeat. */
export interface IdempotencyRecord {
  operation: MoneyOperation;
  result: TransactionResult;
}

/** The first six and last four digits of a card number, or nothing if it is not one. */
export function maskCard(number: string): MaskedCard | undefined {
  if (!/^\d{12,19}$/.test(number)) return undefined;
  return { first6: number.slice(0, 6), last4: number.slice(-4) };
}

/** The ledger; the sandbox's `ledger` property. */
export class CardLedger {
  readonly #entries: LedgerEntry[] = [];
  readonly #byId = new Map<string, LedgerEntry>();
  readonly #records = new Map<string, IdempotencyRecord>();
  #sequence = 0;

  /** A copy of every entry, oldest first. */
  get entries(): LedgerEntry[] {
    return this.#entries.map((entry) => structuredClone(entry));
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.length;
  }

  /** A copy of the entries whose `merchantRef` is `merchantRef`. */
  byMerchantRef(merchantRef: string): LedgerEntry[] {
    return this.entries.filter((entry) => entry.merchantRef === merchantRef);
  }

  /** A copy of the entry with `transactionId`, if any. */
  byTransactionId(transactionId: string): LedgerEntry | undefined {
    const entry = this.#byId.get(transactionId);
    return entry && structuredClone(entry);
  }

  /** Empties the ledger and the idempotency records; transaction ids start again. */
  clear(): void {
    this.#entries.length = 0;
    this.#byId.clear();
    this.#records.clear();
    this.#sequence = 0;
  }

  // ---- for the processor ------------------------------------------------------------------

  /** A fresh transaction id and a matching authorization code. */
  nextIds(): { transactionId: string; authCode: string } {
    this.#sequence += 1;
    const n = String(this.#sequence).padStart(6, '0');
    return { transactionId: `cg-${n}`, authCode: `A${n.slice(-5)}` };
  }

  /** Adds `entry` (the ledger keeps it; the processor may update its state later). */
  add(entry: LedgerEntry): void {
    this.#entries.push(entry);
    this.#byId.set(entry.transactionId, entry);
  }

  /** The live entry with `transactionId` (the processor's handle, not a copy). */
  live(transactionId: string): LedgerEntry | undefined {
    return this.#byId.get(transactionId);
  }

  /** Live entries that belong to the payment `parentId`. */
  children(parentId: string): LedgerEntry[] {
    return this.#entries.filter((entry) => entry.parentId === parentId);
  }

  /** The first answer given for `merchantRef`. */
  record(merchantRef: string): IdempotencyRecord | undefined {
    return this.#records.get(merchantRef);
  }

  /** Remembers the answer for `merchantRef`. */
  remember(merchantRef: string, record: IdempotencyRecord): void {
    this.#records.set(merchantRef, record);
  }
}
