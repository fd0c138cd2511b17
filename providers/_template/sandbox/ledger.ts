/**
 * The template sandbox's ledger and rules: what it charged, by idempotency key, and how it
 * answers. Deterministic, from documented test card numbers (TEST_CARDS) and CVCs:
 *
 * | card / input | answer |
 * | --- | --- |
 * | any other valid card | `RESULT=APPROVED&CODE=00&TXN=tx-<n>&CVV_RESULT=M` (charged) |
 * | 4000000000000002 | declined `05` (do not honor) |
 * | 4000000000009995 | declined `51` (insufficient funds) |
 * | 4000000000000069 | declined `54` (expired card) |
 * | CVV `999` | declined `N7` (incorrect CVC) |
 * | wrong MERCHANT or API_KEY | `RESULT=ERROR&CODE=E01` (configuration) |
 *
 * A repeated IDEMPOTENCY_KEY gets the first answer again and charges nothing.
 * TODO(sandbox): your provider's documented test data and answers.
 */

/** The documented test cards. */
export const TEST_CARDS = Object.freeze({
  approve: '4111111111111111',
  doNotHonor: '4000000000000002',
  insufficientFunds: '4000000000009995',
  expired: '4000000000000069',
});
/** The CVC that fails the check. */
export const WRONG_CVC = '999';

const DECLINES: Readonly<Record<string, [code: string, message: string]>> = {
  [TEST_CARDS.doNotHonor]: ['05', 'do not honor'],
  [TEST_CARDS.insufficientFunds]: ['51', 'insufficient funds'],
  [TEST_CARDS.expired]: ['54', 'expired card'],
};

/** One answered charge. */
export interface LedgerEntry {
  readonly idempotencyKey: string;
  readonly order: string;
  readonly amount: number;
  readonly currency: string;
  /** The answer's fields, replayed for a repeated key and for `/status`. */
  readonly answer: Readonly<Record<string, string>>;
}

/** The sandbox's memory. */
export class Ledger {
  readonly #entries = new Map<string, LedgerEntry>();
  readonly #credentials: { readonly merchant_id: string; readonly api_key: string };
  #next = 1;

  constructor(credentials: { readonly merchant_id: string; readonly api_key: string }) {
    this.#credentials = credentials;
  }

  /** Approved charges (what a real provider would have taken). */
  get charges(): LedgerEntry[] {
    return [...this.#entries.values()].filter((entry) => entry.answer.RESULT === 'APPROVED');
  }

  #authorised(fields: URLSearchParams): boolean {
    return fields.get('MERCHANT') === this.#credentials.merchant_id && fields.get('API_KEY') === this.#credentials.api_key;
  }

  /** `/charge`: the answer for a charge request's fields. */
  charge(fields: URLSearchParams): Record<string, string> {
    if (!this.#authorised(fields)) return { RESULT: 'ERROR', CODE: 'E01', MESSAGE: 'unknown merchant or api key' };
    const key = fields.get('IDEMPOTENCY_KEY') ?? '';
    const earlier = this.#entries.get(key);
    if (earlier !== undefined) return { ...earlier.answer };
    const answer = this.#decide(fields);
    const entry = { idempotencyKey: key, order: fields.get('ORDER') ?? '', amount: Number(fields.get('AMOUNT')), currency: fields.get('CURRENCY') ?? '', answer };
    this.#entries.set(key, entry);
    return { ...answer };
  }

  #decide(fields: URLSearchParams): Record<string, string> {
    const decline = DECLINES[fields.get('CARD_NUMBER') ?? ''];
    if (decline !== undefined) return { RESULT: 'DECLINED', CODE: decline[0], MESSAGE: decline[1] };
    if (fields.get('CVV') === WRONG_CVC) return { RESULT: 'DECLINED', CODE: 'N7', MESSAGE: 'card security code does not match' };
    return { RESULT: 'APPROVED', CODE: '00', TXN: `tx-${this.#next++}`, CVV_RESULT: fields.has('CVV') ? 'M' : 'U' };
  }

  /** `/status`: the earlier answer for an idempotency key, or NOT_FOUND. */
  status(fields: URLSearchParams): Record<string, string> {
    if (!this.#authorised(fields)) return { RESULT: 'ERROR', CODE: 'E01', MESSAGE: 'unknown merchant or api key' };
    const earlier = this.#entries.get(fields.get('IDEMPOTENCY_KEY') ?? '');
    return earlier === undefined ? { RESULT: 'NOT_FOUND', CODE: 'NF' } : { ...earlier.answer };
  }
}
