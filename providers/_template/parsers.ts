/**
 * Answer parsers: the provider's answer into an outcome. Declines are outcomes (`declined` with a
 * standard code from `mapProviderCode`), never exceptions; an answer that cannot be read is a
 * fault and is thrown (the worker then reconciles through `status`).
 */
import {
  approved, declined, mapProviderCode, TransportError, type ActionOutcome, type CvvResult, type ProviderCodeTable,
} from '../../src/providers/index.ts';
import type { ChargeResult } from './schemas.ts';

/** TODO(parsers): one line per documented provider code → the standard code (docs/providers.md, "Error codes"). */
export const PROVIDER_CODES: ProviderCodeTable = {
  '05': 'DO_NOT_HONOR',
  '51': 'INSUFFICIENT_FUNDS',
  '54': 'EXPIRED_CARD',
  N7: 'INCORRECT_CVC',
  E01: 'CONFIGURATION_ERROR',
};

/** TODO(parsers): the provider's CVV check letters → the standard CVV results. */
const CVV_RESULTS: Readonly<Record<string, CvvResult>> = { M: 'match', N: 'no_match', P: 'not_processed', U: 'unavailable' };

function unreadable(what: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `template provider answered ${what}`);
}

/** TODO(parsers): reads a charge answer: `RESULT=APPROVED&CODE=00&TXN=…`, `RESULT=DECLINED&CODE=51&MESSAGE=…`. */
export function parseCharge(fields: Readonly<Record<string, string>>): ActionOutcome<ChargeResult> {
  const code = fields.CODE;
  if (code === undefined || code === '') throw unreadable('without a CODE');
  if (fields.RESULT === 'APPROVED') {
    if (fields.TXN === undefined || fields.TXN === '') throw unreadable('an approval without a TXN');
    const cvv = fields.CVV_RESULT === undefined ? undefined : CVV_RESULTS[fields.CVV_RESULT];
    return approved({ provider_code: code, transaction_id: fields.TXN, ...(cvv === undefined ? {} : { cvv }) });
  }
  if (fields.RESULT === 'DECLINED' || fields.RESULT === 'ERROR') {
    const mapped = mapProviderCode(PROVIDER_CODES, code);
    return declined(mapped.code, fields.MESSAGE || 'the provider declined the charge', { providerCode: mapped.providerCode, retryable: mapped.retryable });
  }
  throw unreadable('with an unknown RESULT');
}

/** TODO(status): reads a status answer: the charge's own answer, or `RESULT=NOT_FOUND` (→ `null`: never charged). */
export function parseStatus(fields: Readonly<Record<string, string>>): ActionOutcome<ChargeResult> | null {
  return fields.RESULT === 'NOT_FOUND' ? null : parseCharge(fields);
}
