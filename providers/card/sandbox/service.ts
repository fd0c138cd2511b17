/**
 * The SOAP service object for `soap.listen`: one method per WSDL operation, each validating its
 * request, calling the {@link CardProcessor}, logging one scrubbed summary line and answering
 * the result or a well-formed SOAP 1.1 fault.
 */
import type * as z from 'zod';
import type { IServices } from 'soap';
import type { MoneyOperation, Operation, StatusResult, TransactionResult } from './codes.ts';
import { invalidRequestFault, isSoapFault, systemErrorFault } from './faults.ts';
import { SystemError, type CardProcessor, type FollowUpRequest, type PaymentRequest } from './processor.ts';
import {
  describeIssues,
  followUpRequestSchema,
  paymentRequestSchema,
  statusRequestSchema,
  voidRequestSchema,
} from './requests.ts';

/** Service and port names of `card.wsdl`. */
export const SERVICE_NAME = 'CardGateService';
export const PORT_NAME = 'CardGatePort';

/** Parses `args` with `schema` or throws a soap:Client fault. */
function parse<S extends z.ZodType>(schema: S, args: unknown): z.output<S> {
  const parsed = schema.safeParse(args ?? {});
  if (!parsed.success) throw invalidRequestFault(describeIssues(parsed.error));
  return parsed.data;
}

/** A log summary of a request: the merchant ref and the masked card, never the number or CVV. */
function summary(request: PaymentRequest | FollowUpRequest | { merchantRef: string }): string {
  const parts = [`merchantRef=${JSON.stringify(request.merchantRef)}`];
  if ('card' in request) {
    const n = request.card.number;
    parts.push(`card=${n.length >= 12 ? `${n.slice(0, 6)}…${n.slice(-4)}` : '(short)'}`);
  }
  if ('transactionId' in request) parts.push(`transaction=${request.transactionId}`);
  if (request && 'amount' in request && request.amount !== undefined) {
    parts.push(`amount=${request.amount}${'currency' in request ? ` ${request.currency}` : ''}`);
  }
  return parts.join(' ');
}

/**
 * The services for `soap.listen`; `log` receives one line per operation (scrubbed again by the
 * caller).
 */
export function createCardGateService(processor: CardProcessor, log: (line: string) => void): IServices {
  const run = async <R extends TransactionResult | StatusResult, Q>(
    operation: Operation,
    schema: z.ZodType<Q>,
    args: unknown,
    call: (request: Q) => R,
  ): Promise<R> => {
    const request = parse(schema, args);
    const described = summary(request as never);
    try {
      const answer = call(request);
      log(`${operation} ${described} -> ${answer.ResponseCode} ${answer.ResponseText}`);
      return answer;
    } catch (error) {
      log(`${operation} ${described} -> fault ${error instanceof SystemError ? '96 system error' : 'internal error'}`);
      if (isSoapFault(error)) throw error;
      throw systemErrorFault();
    }
  };
  const payment = (operation: Extract<MoneyOperation, 'Authorize' | 'Sale'>) => (args: unknown) =>
    run(operation, paymentRequestSchema, args, (request) => processor.payment(operation, request));
  return {
    [SERVICE_NAME]: {
      [PORT_NAME]: {
        Authorize: payment('Authorize'),
        Sale: payment('Sale'),
        Capture: (args: unknown) => run('Capture', followUpRequestSchema, args, (r) => processor.capture(r)),
        Refund: (args: unknown) => run('Refund', followUpRequestSchema, args, (r) => processor.refund(r)),
        Void: (args: unknown) => run('Void', voidRequestSchema, args, (r) => processor.void(r)),
        Status: (args: unknown) => run('Status', statusRequestSchema, args, (r) => processor.status(r.merchantRef)),
      },
    },
  };
}
