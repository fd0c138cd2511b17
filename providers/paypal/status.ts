import { approved, type ActionContext, type ActionOutcome } from '../../src/providers/index.ts';
import { transactionStatus } from './actions.ts';
import { fromAmt } from './amounts.ts';
import { callNvp, type PaypalResources } from './client.ts';
import { failureOf, kindOf, PaypalAnswerError, type NvpAnswer } from './parsers.ts';
import type { CaptureResult, PaymentResult, RefundResult, StatusResult, VoidResult } from './schemas.ts';
import { detailsFields, searchFields } from './transformers.ts';
import { verificationOf } from './verification.ts';

/**
 * Reconciliation (the worker's `status` hook): what became of a call whose answer was lost (a
 * hang-up after sending, a broken answer, a worker that died mid-call). It never repeats the
 * call; it looks the request's MSGSUBID up read-only with `TransactionSearch&MSGSUBID=…` and
 * rebuilds the original approval from the movement found (for `sale` / `authorize` also
 * `GetTransactionDetails`, for AVS and CVV). No movement → `null` (PayPal lists movements only:
 * a declined or never-processed request finds nothing, and the worker answers `unknown`).
 * The read-only `status` action is simply asked again. A lookup that fails throws (→ `unknown`).
 */

/** The movement kind each money-moving action leaves. */
const KIND_OF_ACTION = { sale: 'sale', authorize: 'authorization', capture: 'capture', refund: 'refund', void: 'void' } as const;

/** One `TransactionSearch` row. */
interface Row {
  readonly kind: StatusResult['kind'] | undefined;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly amt: string | undefined;
  readonly currency: string | undefined;
}

/** The rows of a search answer, in order. */
function rowsOf(fields: NvpAnswer): Row[] {
  const rows: Row[] = [];
  for (let n = 0; fields[`L_TRANSACTIONID${n}`] !== undefined; n++) {
    rows.push({
      kind: kindOf(fields[`L_TYPE${n}`]),
      id: fields[`L_TRANSACTIONID${n}`] ?? '',
      parentId: fields[`L_PARENTTRANSACTIONID${n}`],
      amt: fields[`L_AMT${n}`],
      currency: fields[`L_CURRENCYCODE${n}`],
    });
  }
  return rows;
}

/** The parent id a capture or void row must have. */
function parentOf(row: Row): string {
  if (row.parentId === undefined || row.parentId === '') throw new PaypalAnswerError('paypal listed a movement without its parent transaction');
  return row.parentId;
}

type Inquiry = { readonly type: string; readonly payload: unknown };
/** Any of the plugin's outcomes. */
type AnyOutcome = ActionOutcome<PaymentResult | CaptureResult | RefundResult | VoidResult | StatusResult>;

/** The `status` hook (see the module comment). */
export async function reconcile(inquiry: Inquiry, context: ActionContext<PaypalResources>): Promise<AnyOutcome | null> {
  if (inquiry.type === 'status') return transactionStatus(inquiry.payload as { transaction_id: string }, context);
  if (!Object.hasOwn(KIND_OF_ACTION, inquiry.type)) return null;
  const type = inquiry.type as keyof typeof KIND_OF_ACTION;
  const answer = await callNvp(context.resources, searchFields(context.idempotencyKey), context.signal);
  const failed = failureOf('status', answer);
  if (failed !== undefined) throw new PaypalAnswerError(`paypal refused the reconciliation lookup: ${failed.error?.message ?? ''}`);
  const row = rowsOf(answer).find((candidate) => candidate.kind === KIND_OF_ACTION[type]);
  if (row === undefined) return null;
  const amount = fromAmt(row.amt, row.currency);
  const providerCode = answer.ACK ?? 'Success';
  switch (type) {
    case 'sale':
    case 'authorize': {
      const details = await callNvp(context.resources, detailsFields(row.id), context.signal);
      return approved({ provider_code: providerCode, transaction_id: row.id, amount, ...verificationOf(details) });
    }
    case 'capture':
      return approved({ provider_code: providerCode, transaction_id: row.id, authorization_id: parentOf(row), amount });
    case 'refund':
      return approved({ provider_code: providerCode, transaction_id: row.id, refunded_transaction_id: parentOf(row), amount });
    case 'void':
      return approved({ provider_code: providerCode, authorization_id: parentOf(row) });
  }
}
