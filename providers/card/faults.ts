/**
 * CardGate's SOAP faults → outcomes or thrown errors. The transport returns a well-formed fault
 * as an answer (`{ fault }`); a malformed one it throws itself (`PROVIDER_BAD_RESPONSE`).
 *
 * | fault | meaning for the money | what the plugin does |
 * | --- | --- | --- |
 * | `soap:Server` `96` system error | CardGate did **not** process the call (nothing recorded) | throws `TransportError('PROVIDER_UNAVAILABLE', notSent: true)`: the worker frees the idempotency key and answers a retryable `PROVIDER_UNAVAILABLE`, so a retry with the same key is a fresh call |
 * | `soap:Client` `authentication failed` | refused before any processing | `declined` `CONFIGURATION_ERROR` (not retryable: an operator must fix the credentials) |
 * | `soap:Client` `invalid request: …` | refused before any processing | `declined` `PROCESSING_ERROR`, not retryable (the same request fails again) |
 * | a fault with a known `ResponseCode` in its detail | a decline | `declined` with the mapped code |
 * | any other fault | unknown | throws `PROVIDER_BAD_RESPONSE` (`notSent: false`): the worker reconciles through `status` |
 */
import {
  declined, mapProviderCode, TransportError, type ActionOutcome, type ProviderCodeTable, type SoapFault,
} from '../../src/providers/index.ts';
import { SYSTEM_ERROR } from './codes.ts';

/** The longest provider text quoted in a message. */
const MAX_TEXT = 300;

/** `soap:Server` → `Server`. */
function faultKind(code: string): string {
  return code.replace(/^[\w.-]*:/, '');
}

/** The `CardGateFault` detail's fields, when present and readable. */
function detailOf(fault: SoapFault): { code: string | undefined; text: string | undefined } {
  const detail = fault.detail as { CardGateFault?: { ResponseCode?: unknown; ResponseText?: unknown } } | undefined | null;
  const inner = typeof detail === 'object' && detail !== null ? detail.CardGateFault : undefined;
  const code = typeof inner?.ResponseCode === 'string' ? inner.ResponseCode.trim() : undefined;
  const text = typeof inner?.ResponseText === 'string' ? inner.ResponseText : undefined;
  return { code: code || undefined, text };
}

/**
 * The outcome of a fault answered to `operation` (see the module table), or a thrown error when
 * the fault means "not processed" (retry-safe) or cannot be understood (reconcile).
 *
 * @param host the endpoint's host, for thrown messages.
 */
export function faultOutcome<R>(operation: string, fault: SoapFault, table: ProviderCodeTable, host: string): ActionOutcome<R> {
  const kind = faultKind(fault.code);
  const detail = detailOf(fault);
  const text = (detail.text ?? fault.string ?? '').slice(0, MAX_TEXT);
  if (kind === 'Server' && (detail.code === SYSTEM_ERROR || /^system error$/i.test(fault.string ?? ''))) {
    throw new TransportError(
      'PROVIDER_UNAVAILABLE',
      `provider ${host} answered ${operation} with a system error (96): nothing was processed`,
      { notSent: true },
    );
  }
  if (kind === 'Client' && /^authentication failed/i.test(fault.string ?? '')) {
    return declined('CONFIGURATION_ERROR', `CardGate refused the merchant credentials on ${operation}: check providers[].options`, {
      providerCode: fault.code,
    });
  }
  if (kind === 'Client' && /^invalid request/i.test(fault.string ?? '')) {
    return declined('PROCESSING_ERROR', `CardGate refused the ${operation} request: ${text}`, { providerCode: fault.code, retryable: false });
  }
  if (detail.code !== undefined) {
    const mapped = mapProviderCode(table, detail.code);
    if (mapped.mapped) {
      return declined(mapped.code, `CardGate declined the ${operation}: ${text}`, { providerCode: mapped.providerCode, retryable: mapped.retryable });
    }
  }
  throw new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} answered ${operation} with a fault the plugin does not know (${kind || 'no code'})`);
}
