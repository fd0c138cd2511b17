/**
 * The loyalty sandbox's accounts and rules. Members (documented test data):
 *
 * | member | PIN | state |
 * | --- | --- | --- |
 * | LM-1001 | 730519 | 20 000 points |
 * | LM-2002 | 730519 | 100 points |
 * | LM-3003 | 730519 | locked |
 * | any other | — | unknown |
 *
 * Refusals: `NSF` (too few points), `UNKNOWN`, `LOCKED`, `BADPIN`, `AUTH` (wrong merchant or
 * token). A repeated `reference` replays the first answer and redeems nothing.
 */

export const MEMBERS = Object.freeze({ rich: 'LM-1001', poor: 'LM-2002', locked: 'LM-3003', unknown: 'LM-9999' });
export const MEMBER_PIN = '730519';

/** An answer: `<answer>` fields. */
export type Answer = Readonly<Record<string, string>>;

/** A request's fields (`<redeem>`, `<balance>` or `<lookup>` children), as strings. */
export type Fields = Readonly<Record<string, string | undefined>>;

export class Accounts {
  readonly #points = new Map<string, number>([[MEMBERS.rich, 20_000], [MEMBERS.poor, 100], [MEMBERS.locked, 5_000]]);
  readonly #answers = new Map<string, Answer>();
  readonly #credentials: { readonly merchant: string; readonly api_token: string };
  #next = 1;

  constructor(credentials: { readonly merchant: string; readonly api_token: string }) {
    this.#credentials = credentials;
  }

  /** Redemptions made (what a real provider would have taken). */
  get redemptions(): number {
    return [...this.#answers.values()].filter((answer) => answer.result === 'ok').length;
  }

  /** Answers one request by its root element name. */
  answer(root: string, fields: Fields): Answer {
    if (fields.merchant !== this.#credentials.merchant || fields.token !== this.#credentials.api_token) {
      return { result: 'refused', code: 'AUTH', message: 'unknown merchant or token' };
    }
    if (root === 'lookup') return this.#answers.get(fields.reference ?? '') ?? { result: 'unknown', code: 'NONE' };
    const refused = this.#check(fields);
    if (refused !== undefined) return refused;
    const points = this.#points.get(fields.member ?? '') ?? 0;
    if (root === 'balance') return { result: 'ok', code: '0', points: String(points) };
    return this.#redeem(fields, points);
  }

  #check(fields: Fields): Answer | undefined {
    if (!this.#points.has(fields.member ?? '')) return { result: 'refused', code: 'UNKNOWN', message: 'no such member' };
    if (fields.member === MEMBERS.locked) return { result: 'refused', code: 'LOCKED', message: 'account locked' };
    if (fields.pin !== MEMBER_PIN) return { result: 'refused', code: 'BADPIN', message: 'wrong PIN' };
    return undefined;
  }

  #redeem(fields: Fields, points: number): Answer {
    const reference = fields.reference ?? '';
    const earlier = this.#answers.get(reference);
    if (earlier !== undefined) return earlier;
    const wanted = Number(fields.points);
    const answer: Answer =
      wanted > points
        ? { result: 'refused', code: 'NSF', message: 'not enough points' }
        : { result: 'ok', code: '0', txn: `rd-${this.#next++}`, points: String(points - wanted) };
    if (answer.result === 'ok') this.#points.set(fields.member ?? '', points - wanted);
    this.#answers.set(reference, answer);
    return answer;
  }
}
