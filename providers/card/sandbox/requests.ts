/**
 * The request elements of `card.wsdl` as zod schemas over what `soap` parses out of the body
 * (strings, or numbers for `xs:int` fields), turned into the processor's request types.
 * A request that breaks them is answered with a soap:Client fault naming paths, never values.
 */
import * as z from 'zod';
import type { FollowUpRequest, PaymentRequest } from './processor.ts';

/** An xs:long/xs:int as soap hands it over: a number or a string of digits. */
const integer = z
  .union([z.number(), z.string().regex(/^\s*-?\d{1,16}\s*$/, 'must be an integer')])
  .transform(Number)
  .pipe(z.number().int('must be an integer').safe());

const text = z.union([z.string(), z.number().transform(String)]);
const merchantRef = text.pipe(z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'));
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code');
const transactionId = text.pipe(z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'));
/** soap's own keys for XML attributes (e.g. namespace declarations) on an element. */
const attributes = z.unknown().optional();

const card = z
  .strictObject({
    attributes,
    Number: text.pipe(z.string().regex(/^\d{1,19}$/, 'must be at most 19 digits')),
    ExpMonth: integer.pipe(z.number().min(1, 'must be 1–12').max(12, 'must be 1–12')),
    ExpYear: integer.pipe(z.number().min(2000, 'must be 2000–2099').max(2099, 'must be 2000–2099')),
    Cvv: text.pipe(z.string().regex(/^\d{3,4}$/, 'must be 3 or 4 digits')).optional(),
  })
  .transform((c) => ({ number: c.Number, expMonth: c.ExpMonth, expYear: c.ExpYear, cvv: c.Cvv }));

/** AuthorizeRequest and SaleRequest. */
export const paymentRequestSchema = z
  .strictObject({ attributes, MerchantRef: merchantRef, Amount: integer, Currency: currency, Card: card })
  .transform((r): PaymentRequest => ({ merchantRef: r.MerchantRef, amount: r.Amount, currency: r.Currency, card: r.Card }));

/** CaptureRequest and RefundRequest. */
export const followUpRequestSchema = z
  .strictObject({ attributes, MerchantRef: merchantRef, TransactionId: transactionId, Amount: integer.optional() })
  .transform((r): FollowUpRequest => ({ merchantRef: r.MerchantRef, transactionId: r.TransactionId, amount: r.Amount }));

/** VoidRequest. */
export const voidRequestSchema = z
  .strictObject({ attributes, MerchantRef: merchantRef, TransactionId: transactionId })
  .transform((r): FollowUpRequest => ({ merchantRef: r.MerchantRef, transactionId: r.TransactionId }));

/** StatusRequest. */
export const statusRequestSchema = z
  .strictObject({ attributes, MerchantRef: merchantRef })
  .transform((r) => ({ merchantRef: r.MerchantRef }));

/** `path: problem` for each issue, e.g. `Card.ExpMonth: must be 1–12`; never the input. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(request)'}: ${issue.message}`)
    .join('; ');
}
