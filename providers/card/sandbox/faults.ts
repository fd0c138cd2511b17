/**
 * The SOAP 1.1 faults CardGate answers with, in the shape `soap`'s server turns into
 * `<soap:Fault><faultcode/><faultstring/><detail/></soap:Fault>` when thrown as `{ Fault }`.
 */
import type { ResponseCode } from './codes.ts';

/** CardGate's namespace (the WSDL's targetNamespace). */
export const CARDGATE_NS = 'urn:paygate:sandbox:cardgate:v1';

/** What a service method (or `authenticate`) throws to answer with a fault. */
export interface SoapFaultThrowable {
  Fault: {
    faultcode: 'soap:Client' | 'soap:Server';
    faultstring: string;
    detail: { CardGateFault: { attributes: { xmlns: string }; ResponseCode?: ResponseCode; ResponseText: string } };
    statusCode: number;
  };
}

function fault(faultcode: 'soap:Client' | 'soap:Server', faultstring: string, code?: ResponseCode): SoapFaultThrowable {
  return {
    Fault: {
      faultcode,
      faultstring,
      detail: {
        CardGateFault: { attributes: { xmlns: CARDGATE_NS }, ...(code && { ResponseCode: code }), ResponseText: faultstring },
      },
      // SOAP 1.1 over HTTP: every fault is a 500.
      statusCode: 500,
    },
  };
}

/** A missing or wrong WS-Security UsernameToken. */
export function authenticationFault(): SoapFaultThrowable {
  return fault('soap:Client', 'authentication failed');
}

/** A request that breaks the WSDL's schema; `problems` names paths, never values. */
export function invalidRequestFault(problems: string): SoapFaultThrowable {
  return fault('soap:Client', `invalid request: ${problems}`.slice(0, 1024));
}

/** A system error: response code 96. */
export function systemErrorFault(): SoapFaultThrowable {
  return fault('soap:Server', 'system error', '96');
}

/** Whether `value` is a fault thrown as `{ Fault }`. */
export function isSoapFault(value: unknown): value is SoapFaultThrowable {
  return typeof value === 'object' && value !== null && 'Fault' in value;
}
