import { newTransactionId } from './ids.ts';
import { TEST_GIFTCARDS } from './test-data.ts';

/**
 * The sandbox's books: the gift cards' live state and every money movement (the ledger). Card
 * numbers appear in the ledger masked (first six, last four); PINs are never copied out of the
 * card table.
 */

/** Kinds of money movement. */
export type GiftcardMovement = 'redeem' | 'reload' | 'void';

/** A movement's state: a redeem or reload becomes `voided` once voided. */
export type GiftcardMovementState = 'completed' | 'voided';

/** One ledger entry. */
export interface GiftcardLedgerEntry {
  /** The `<transaction>` id. */
  readonly id: string;
  /** The request's `<reference>` (the caller's idempotency key), or null. */
  readonly reference: string | null;
  readonly type: GiftcardMovement;
  /** Minor units, always positive (a redeem takes it off the balance, a reload adds it). */
  readonly amount: number;
  readonly currency: string;
  readonly state: GiftcardMovementState;
  /** For a void: the redeem or reload it undid. */
  readonly parentId: string | null;
  /** The card, first six and last four digits only. */
  readonly card: string;
  /** ISO 8601 time it was recorded. */
  readonly at: string;
}

/** A movement with the card it moved money on (so a void can undo it without keeping the number). */
export interface GiftcardTransaction extends GiftcardLedgerEntry {
  state: GiftcardMovementState;
  readonly account: LiveCard;
}

/** A card's live state. */
export interface LiveCard {
  readonly pin: string;
  balance: number;
  readonly currency: string;
  readonly blocked: boolean;
}

/** Cards and movements. */
export class GiftcardBook {
  readonly #cards = new Map<string, LiveCard>();
  readonly #movements = new Map<string, GiftcardTransaction>();

  constructor() {
    this.clear();
  }

  card(number: string | undefined): LiveCard | undefined {
    return number === undefined ? undefined : this.#cards.get(number);
  }

  /** Records a movement on `account`, shown as `card` (already masked). */
  record(card: string, account: LiveCard, fields: Omit<GiftcardLedgerEntry, 'id' | 'at' | 'card' | 'state'>): GiftcardTransaction {
    let id = newTransactionId();
    while (this.#movements.has(id)) id = newTransactionId();
    const movement: GiftcardTransaction = {
      ...fields, id, state: 'completed', card, account, at: new Date().toISOString(),
    };
    this.#movements.set(id, movement);
    return movement;
  }

  movement(id: string | undefined): GiftcardTransaction | undefined {
    return id === undefined ? undefined : this.#movements.get(id);
  }

  /** The first movement recorded under `reference`. */
  byReference(reference: string): GiftcardTransaction | undefined {
    for (const movement of this.#movements.values()) if (movement.reference === reference) return movement;
    return undefined;
  }

  /** The ledger: copies without the card reference. */
  ledger(): GiftcardLedgerEntry[] {
    return [...this.#movements.values()].map(({ id, reference, type, amount, currency, state, parentId, card, at }) =>
      Object.freeze({ id, reference, type, amount, currency, state, parentId, card, at }));
  }

  /** Back to the starting cards and an empty ledger. */
  clear(): void {
    this.#movements.clear();
    this.#cards.clear();
    for (const [number, card] of Object.entries(TEST_GIFTCARDS)) {
      this.#cards.set(number, { pin: card.pin, balance: card.balance, currency: card.currency, blocked: card.blocked });
    }
  }
}
