/**
 * The sandbox's knobs: a plain mutable object that tests set to make CardGate slow, failing,
 * rude or broken. Each request reads the knobs once, when it has been received.
 *
 * Order of effect for one request: the body is read and counted in `calls`; `latencyMs`;
 * `failStatus`; `hangUp: 'before-charge'`; then the operation runs (the charge is in the
 * ledger) and, instead of its answer, `hangUp: 'after-charge'`, else `hang`, else `malformed`.
 * Downtime is not a knob but `sandbox.down()` / `sandbox.up()` (the listening socket closes).
 */
import type { MalformedVariant } from './malformed.ts';

export interface CardSandboxKnobs {
  /** Delay before every answer (WSDL included), in ms. Default 0. */
  latencyMs: number;
  /**
   * Answer every request (WSDL included) with this HTTP status and a plain-text body, without
   * running the operation (e.g. 503). Default `null`.
   */
  failStatus: number | null;
  /**
   * Read the SOAP request, then destroy the socket without an answer: `'before-charge'` without
   * running the operation; `'after-charge'` after it ran (the ledger has the charge, `Status`
   * finds it). Default `null`.
   */
  hangUp: 'before-charge' | 'after-charge' | null;
  /** `'after-charge'`: run the operation, then never answer (the socket stays open). Default `null`. */
  hang: 'after-charge' | null;
  /**
   * Run the operation, then answer with broken bytes instead (see malformed.ts):
   * `'html'` an HTML 500 page, `'truncated'` the real envelope cut in half, `'not-xml'` JSON
   * as text/xml, `'bad-fault'` a soap:Fault without faultstring, `'xml-bomb'` a billion-laughs
   * DOCTYPE. Default `null`.
   */
  malformed: MalformedVariant | null;
}

/** The knobs of a fresh (or reset) sandbox: none turned. */
export function defaultKnobs(): CardSandboxKnobs {
  return { latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null };
}
