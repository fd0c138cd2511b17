import type { GiftcardBook, LiveCard } from './book.ts';
import type { GiftcardCode } from './codes.ts';
import { maskCard } from './mask.ts';
import type { GiftcardRequest } from './request.ts';
import { INTERNAL_ERROR_MINOR_UNITS } from './test-data.ts';
import type { AnswerValue } from './xml.ts';

/**
 * The five operations on checked requests. Card checks run in this order: `card_not_found`,
 * `card_blocked`, `invalid_pin`, `currency_mismatch`; the internal-error amount comes before
 * them all (whatever the card).
 */

/** An operation's answer: a code and the fields after `<result>`, `<code>` and `<message>`. */
export interface OperationAnswer {
  readonly code: GiftcardCode;
  readonly message?: string;
  readonly fields?: Record<string, AnswerValue | undefined>;
}

type Operation = (request: GiftcardRequest, book: GiftcardBook) => OperationAnswer;

const money = (minor: number, currency: string): AnswerValue => ({ value: String(minor), currency });

/** The card of `request` if it may be used: found, not blocked, PIN right (when required or sent), currency right. */
function usableCard(request: GiftcardRequest, book: GiftcardBook, pinRequired: boolean): LiveCard | OperationAnswer {
  const card = book.card(request.card);
  if (!card) return { code: 'card_not_found' };
  if (card.blocked) return { code: 'card_blocked' };
  if ((pinRequired || request.pin !== undefined) && request.pin !== card.pin) return { code: 'invalid_pin' };
  if (request.amount && request.amount.currency !== card.currency) return { code: 'currency_mismatch' };
  return card;
}

const isAnswer = (value: LiveCard | OperationAnswer): value is OperationAnswer => 'code' in value;

const balance: Operation = (request, book) => {
  const card = usableCard(request, book, true);
  if (isAnswer(card)) return card;
  return { code: 'ok', fields: { balance: money(card.balance, card.currency) } };
};

/** redeem (sign -1) or reload (sign +1). */
function move(type: 'redeem' | 'reload'): Operation {
  return (request, book) => {
    const amount = request.amount;
    if (!amount || request.card === undefined) return { code: 'invalid_request' };
    if (amount.minor === INTERNAL_ERROR_MINOR_UNITS) return { code: 'internal_error' };
    const card = usableCard(request, book, type === 'redeem');
    if (isAnswer(card)) return card;
    if (type === 'redeem' && amount.minor > card.balance) {
      return { code: 'insufficient_balance', fields: { balance: money(card.balance, card.currency) } };
    }
    card.balance += type === 'redeem' ? -amount.minor : amount.minor;
    const movement = book.record(maskCard(request.card), card, {
      reference: request.reference ?? null, type, amount: amount.minor, currency: amount.currency, parentId: null,
    });
    return {
      code: 'ok',
      fields: { transaction: movement.id, reference: movement.reference ?? undefined, amount: money(movement.amount, movement.currency), balance: money(card.balance, card.currency) },
    };
  };
}

const voidOperation: Operation = (request, book) => {
  const target = book.movement(request.transaction);
  if (!target) return { code: 'transaction_not_found' };
  if (target.type === 'void') return { code: 'transaction_not_found', message: 'Only redeems and reloads can be voided' };
  if (target.state === 'voided') return { code: 'already_voided' };
  const card = target.account;
  if (target.type === 'reload' && card.balance < target.amount) {
    return { code: 'insufficient_balance', fields: { balance: money(card.balance, card.currency) } };
  }
  card.balance += target.type === 'redeem' ? target.amount : -target.amount;
  target.state = 'voided';
  const movement = book.record(target.card, card, {
    reference: request.reference ?? null, type: 'void', amount: target.amount, currency: target.currency, parentId: target.id,
  });
  return {
    code: 'ok',
    fields: { transaction: movement.id, reference: movement.reference ?? undefined, amount: money(movement.amount, movement.currency), balance: money(card.balance, card.currency) },
  };
};

const status: Operation = (request, book) => {
  const found = request.reference !== undefined ? book.byReference(request.reference) : book.movement(request.transaction);
  if (!found) return { code: 'not_found' };
  return {
    code: 'ok',
    fields: {
      transaction: found.id, reference: found.reference ?? undefined, type: found.type, state: found.state,
      original: found.parentId ?? undefined, card: found.card, amount: money(found.amount, found.currency),
      balance: money(found.account.balance, found.account.currency),
    },
  };
};

/** The operation of each request type. */
export const OPERATIONS: Readonly<Record<GiftcardRequest['type'], Operation>> = {
  balance,
  redeem: move('redeem'),
  reload: move('reload'),
  void: voidOperation,
  status,
};
