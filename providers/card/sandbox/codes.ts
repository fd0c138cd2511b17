/**
 * CardGate's vocabulary: response codes (ISO 8583 style), AVS and CVV results, transaction
 * states and operation names, as declared in `card.wsdl`.
 */

/** Response codes and the text CardGate answers with. */
export const RESPONSE_TEXT = {
  '00': 'approved',
  '05': 'do not honor',
  '51': 'insufficient funds',
  '54': 'expired card',
  '14': 'invalid card number',
  '82': 'CVV mismatch',
  '12': 'invalid transaction',
  '13': 'invalid amount',
  '96': 'system error',
} as const;

export type ResponseCode = keyof typeof RESPONSE_TEXT;

/** Y address and postcode match, A address only, Z postcode only, N neither, U unavailable. */
export type AvsResult = 'Y' | 'A' | 'Z' | 'N' | 'U';

/** M match, N no match, P not processed (no CVV sent), U issuer unavailable. */
export type CvvResult = 'M' | 'N' | 'P' | 'U';

/** What a ledger entry (and `Status`) reports. */
export type TransactionState = 'authorized' | 'captured' | 'refunded' | 'voided' | 'declined';

/** The money-moving operations. */
export const MONEY_OPERATIONS = ['Authorize', 'Capture', 'Sale', 'Refund', 'Void'] as const;
export type MoneyOperation = (typeof MONEY_OPERATIONS)[number];

/** Every operation of the WSDL. */
export const OPERATIONS = [...MONEY_OPERATIONS, 'Status'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The answer of a money-moving operation (the WSDL's `TransactionResult`). */
export interface TransactionResult {
  ResponseCode: ResponseCode;
  ResponseText: string;
  TransactionId?: string;
  AuthCode?: string;
  AvsResult?: AvsResult;
  CvvResult?: CvvResult;
  Amount?: number;
  Currency?: string;
}

/** The answer of `Status` (the WSDL's `StatusResponse`). */
export interface StatusResult {
  ResponseCode: '00';
  ResponseText: string;
  State: TransactionState | 'not_found';
  Operation?: MoneyOperation;
  TransactionId?: string;
  Amount?: number;
  Currency?: string;
  OriginalResponseCode?: ResponseCode;
  OriginalResponseText?: string;
  AuthCode?: string;
  AvsResult?: AvsResult;
  CvvResult?: CvvResult;
}

/** A `TransactionResult` for `code` with its standard text. */
export function result(code: ResponseCode, fields: Omit<TransactionResult, 'ResponseCode' | 'ResponseText'> = {}): TransactionResult {
  return { ResponseCode: code, ResponseText: RESPONSE_TEXT[code], ...fields };
}
