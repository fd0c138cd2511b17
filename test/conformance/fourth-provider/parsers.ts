/** The loyalty provider's answers (`<answer><result>ok|refused|unknown</result><code>…</code>…</answer>`) as outcomes. */
import * as z from 'zod';
import { approved, declined, mapProviderCode, TransportError, type ActionOutcome, type ProviderCodeTable } from '../../../src/providers/index.ts';
import type { BalanceResult, RedeemResult } from './schemas.ts';

/** The provider's documented refusal codes. */
export const PROVIDER_CODES: ProviderCodeTable = {
  NSF: 'INSUFFICIENT_BALANCE',
  UNKNOWN: 'CARD_NOT_FOUND',
  LOCKED: 'CARD_INACTIVE',
  BADPIN: 'CARD_DECLINED',
  AUTH: 'CONFIGURATION_ERROR',
};

const answerSchema = z.object({
  answer: z.object({
    result: z.enum(['ok', 'refused', 'unknown']),
    code: z.string().min(1),
    message: z.string().optional(),
    txn: z.string().optional(),
    points: z.string().regex(/^-?\d+$/).optional(),
  }),
});
type Answer = z.output<typeof answerSchema>['answer'];

/** The `<answer>` of a document, or a `PROVIDER_BAD_RESPONSE` fault. */
function answerOf(document: unknown): Answer {
  const parsed = answerSchema.safeParse(document);
  if (!parsed.success) throw new TransportError('PROVIDER_BAD_RESPONSE', 'loyalty provider answered without a readable <answer>');
  return parsed.data.answer;
}

function refusal(answer: Answer): ActionOutcome<never> {
  const mapped = mapProviderCode(PROVIDER_CODES, answer.code);
  return declined(mapped.code, answer.message || 'the loyalty provider refused', { providerCode: mapped.providerCode, retryable: mapped.retryable });
}

/** A redeem answer. */
export function parseRedeem(document: unknown): ActionOutcome<RedeemResult> {
  const answer = answerOf(document);
  if (answer.result !== 'ok') return refusal(answer);
  if (answer.txn === undefined || answer.points === undefined) throw new TransportError('PROVIDER_BAD_RESPONSE', 'loyalty provider approved without txn or points');
  return approved({ provider_code: answer.code, redemption_id: answer.txn, remaining: Number(answer.points) });
}

/** A balance answer. */
export function parseBalance(document: unknown): ActionOutcome<BalanceResult> {
  const answer = answerOf(document);
  if (answer.result !== 'ok') return refusal(answer);
  if (answer.points === undefined) throw new TransportError('PROVIDER_BAD_RESPONSE', 'loyalty provider answered a balance without points');
  return approved({ provider_code: answer.code, points: Number(answer.points) });
}

/** A lookup answer: `unknown` → `null` (never redeemed), else the redeem's own answer. */
export function parseLookup(document: unknown): ActionOutcome<RedeemResult> | null {
  return answerOf(document).result === 'unknown' ? null : parseRedeem(document);
}
