import { isFailure, readMoney, type RequestMoney } from './amounts.ts';
import type { PaypalBook } from './book.ts';
import { failure, type PaypalFailure } from './errors.ts';
import { maskAccount } from './mask.ts';
import { formatAmount } from './money.ts';
import { echoMsgSubId, type MethodAnswer, type NvpParams } from './nvp.ts';
import { cardBehaviour, INTERNAL_ERROR_MINOR_UNITS, luhnValid, type TestCard } from './test-data.ts';

/**
 * `DoDirectPayment`: charge (`PAYMENTACTION=Sale`, the default) or authorize
 * (`PAYMENTACTION=Authorization`) a card. Checked in this order: PAYMENTACTION (10004),
 * CURRENCYCODE (10605), AMT (10401), the internal-error amount (10001), ACCT (10759),
 * EXPDATE (10508 malformed, 10502 past), CVV2 (10748), then the test card's behaviour.
 */

/** The card fields, checked; the number is only ever handed on masked. */
interface CheckedCard {
  readonly masked: string;
  readonly behaviour: TestCard;
}

/** `EXPDATE` (MMYYYY): whether it is well formed and whether the month is over. */
function expiry(text: string | undefined, now: Date): 'malformed' | 'past' | 'valid' {
  const match = /^(0[1-9]|1[0-2])(\d{4})$/.exec(text ?? '');
  if (!match) return 'malformed';
  const month = Number(match[1]);
  const year = Number(match[2]);
  const current = now.getUTCFullYear() * 12 + now.getUTCMonth() + 1;
  return year * 12 + month < current ? 'past' : 'valid';
}

function checkCard(params: NvpParams): CheckedCard | PaypalFailure {
  const account = params.get('ACCT') ?? '';
  if (!/^\d{13,19}$/.test(account) || !luhnValid(account)) return failure(10759);
  const expires = expiry(params.get('EXPDATE'), new Date());
  if (expires === 'malformed') return failure(10508);
  if (expires === 'past') return failure(10502);
  if (!/^\d{3,4}$/.test(params.get('CVV2') ?? '')) return failure(10748);
  return { masked: maskAccount(account), behaviour: cardBehaviour(account) };
}

function moneyFields(money: RequestMoney): Record<string, string> {
  return { AMT: formatAmount(money.minor, money.currency), CURRENCYCODE: money.currency };
}

/** Handles `METHOD=DoDirectPayment`. */
export function doDirectPayment(params: NvpParams, book: PaypalBook): MethodAnswer {
  const action = params.get('PAYMENTACTION') ?? 'Sale';
  if (action !== 'Sale' && action !== 'Authorization') return failure(10004, 'PaymentAction is invalid.');
  const money = readMoney(params, 10401);
  if (isFailure(money)) return money;
  if (money.minor === INTERNAL_ERROR_MINOR_UNITS) return failure(10001);
  const card = checkCard(params);
  if (isFailure(card)) return card;
  const { behaviour } = card;
  const checks = { AVSCODE: behaviour.avs, CVV2MATCH: behaviour.cvv2 };
  if (behaviour.decline !== undefined) return failure(behaviour.decline, undefined, { ...moneyFields(money), ...checks });
  const sale = action === 'Sale';
  const transaction = book.record({
    type: sale ? 'sale' : 'authorization',
    reference: params.get('MSGSUBID') ?? null,
    invoice: params.get('INVNUM') ?? null,
    amount: money.minor,
    currency: money.currency,
    state: sale ? 'Completed' : 'Pending',
    parentId: null,
    card: card.masked,
    expired: !sale && behaviour.authorizationExpired === true,
    avs: behaviour.avs,
    cvv2: behaviour.cvv2,
  });
  return { ok: true, fields: { ...echoMsgSubId(params), TRANSACTIONID: transaction.id, ...moneyFields(money), ...checks } };
}
