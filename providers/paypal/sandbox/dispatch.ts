import { timingSafeEqual } from 'node:crypto';
import { doCapture, doVoid } from './authorization.ts';
import type { PaypalBook } from './book.ts';
import { doDirectPayment } from './direct-payment.ts';
import { failure, PAYPAL_ERRORS } from './errors.ts';
import { getTransactionDetails, transactionSearch } from './lookup.ts';
import { envelope, versionOf, type MethodAnswer, type NvpFields, type NvpParams } from './nvp.ts';
import type { PaypalCredentials } from './options.ts';
import { refundTransaction } from './refund.ts';

/**
 * One NVP call from parsed parameters to answer fields: credentials (10002), METHOD (81002),
 * the MSGSUBID replay of the money-moving methods, then the method.
 *
 * MSGSUBID (up to 38 printable characters, as PayPal's) binds the first answer of a
 * money-moving method that is remembered (see `errors.ts`): a repeat with the same METHOD gets
 * that answer again, byte for byte, and moves nothing; a repeat with another METHOD is refused
 * with 10004. The read-only methods ignore MSGSUBID as a key (TransactionSearch filters by it).
 */

type Method = (params: NvpParams, book: PaypalBook) => MethodAnswer;

/** Methods that move money, so take MSGSUBID as an idempotency key. */
const MONEY_METHODS: Readonly<Record<string, Method>> = {
  DoDirectPayment: doDirectPayment,
  DoCapture: doCapture,
  DoVoid: doVoid,
  RefundTransaction: refundTransaction,
};

const READ_METHODS: Readonly<Record<string, Method>> = {
  GetTransactionDetails: getTransactionDetails,
  TransactionSearch: transactionSearch,
};

/** An answer bound to a MSGSUBID. */
interface Remembered {
  readonly method: string;
  readonly fields: NvpFields;
}

/** What a call produced. */
export interface NvpOutcome {
  readonly fields: NvpFields;
  /** The METHOD, as sent (for counting and logs), or `(none)`. */
  readonly method: string;
  /** Whether the answer is a replay of a remembered one. */
  readonly replayed: boolean;
}

function same(a: string | undefined, b: string): boolean {
  const left = Buffer.from(a ?? '');
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The sandbox's API: its book, its MSGSUBID memory and the accepted credentials. */
export class PaypalApi {
  readonly #remembered = new Map<string, Remembered>();

  constructor(readonly book: PaypalBook, readonly credentials: PaypalCredentials) {}

  /** Answers one call. */
  call(params: NvpParams): NvpOutcome {
    const method = params.get('METHOD') ?? '(none)';
    const version = versionOf(params);
    const answer = (result: MethodAnswer): NvpOutcome => ({ fields: envelope(result, version), method, replayed: false });
    const { user, pwd, signature } = this.credentials;
    if (!same(params.get('USER'), user) || !same(params.get('PWD'), pwd) || !same(params.get('SIGNATURE'), signature)) {
      return answer(failure(10002));
    }
    const read = READ_METHODS[method];
    if (read) return answer(read(params, this.book));
    const move = MONEY_METHODS[method];
    if (!move) return answer(failure(81002));
    const key = params.get('MSGSUBID');
    if (key === undefined) return answer(move(params, this.book));
    if (!/^[\x20-\x7e]{1,38}$/.test(key)) return answer(failure(10004, 'MsgSubId must be 1 to 38 printable characters.'));
    const earlier = this.#remembered.get(key);
    if (earlier) {
      if (earlier.method !== method) return answer(failure(10004, 'MsgSubId was already used by a different request.'));
      return { fields: earlier.fields, method, replayed: true };
    }
    const result = move(params, this.book);
    const outcome = answer(result);
    if (result.ok || PAYPAL_ERRORS[result.code].remembered) this.#remembered.set(key, { method, fields: outcome.fields });
    return outcome;
  }

  /** Forgets every MSGSUBID (the book is cleared by its owner). */
  reset(): void {
    this.#remembered.clear();
  }
}
