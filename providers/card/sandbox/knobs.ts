/**
 * The sandbox's knobs: a plain mutable object that tests set to make CardGate slow, failing,
 * rude or broken. Each request reads the knobs once, when it has been received.
 *
 * Order of effect for one request: the body is read and counted in `calls`; `latencyMs`;
 * `failStatus`; `hangUp: 'before-charge'`; then the operation runs (the charge is in the
 * ledger) and, instead of its answer, `hangUp: 'after-charge'`, else `hang`, else `malformed`.
 * Downtime is not a knob but `sandbox.down()` / `sandbox.up()` (the listening socket closes).
 *
 * The rates (`failRate`, `hangRate`, `seed`; providers/_sandbox-kit/rates.ts) draw a
 * `failStatus` or a `hang: 'after-charge'` for some requests, when the fixed knob is not set;
 * setting `seed` (reset() does) restarts the draws.
 * The gate reads the knobs once per request (it copies them), so the draw is made when
 * `failStatus` is read and `hang`, read right after, gives the same draw's hang: reading the
 * knobs is what makes one draw per request, without the gate knowing about rates.
 */
import { defaultRates, FaultDice, type DrawnFault, type FaultRates } from '../../_sandbox-kit/rates.ts';
import type { MalformedVariant } from './malformed.ts';

export interface CardSandboxKnobs extends FaultRates {
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

/**
 * The knobs of a fresh (or reset) sandbox: none turned. `failStatus` and `hang` are accessors
 * (see the module comment); setting them sets the fixed knob, which wins over a drawn fault.
 */
export function defaultKnobs(): CardSandboxKnobs {
  const dice = new FaultDice();
  let fixedFail: number | null = null;
  let fixedHang: 'after-charge' | null = null;
  let drawn: DrawnFault = { kind: 'none' };
  let seed = defaultRates().seed;
  const knobs = { latencyMs: 0, failStatus: null, hangUp: null, hang: null, malformed: null, ...defaultRates() } as CardSandboxKnobs;
  Object.defineProperties(knobs, {
    failStatus: {
      enumerable: true,
      get: (): number | null => {
        drawn = dice.draw(knobs);
        return fixedFail ?? (drawn.kind === 'fail' ? drawn.status : null);
      },
      set: (value: number | null) => void (fixedFail = value),
    },
    hang: {
      enumerable: true,
      get: (): 'after-charge' | null => fixedHang ?? (drawn.kind === 'hang' ? 'after-charge' : null),
      set: (value: 'after-charge' | null) => void (fixedHang = value),
    },
    // Setting the seed (the sandbox's reset() does) restarts the sequence, even to the same value.
    seed: {
      enumerable: true,
      get: (): number => seed,
      set: (value: number) => {
        seed = value;
        dice.restart();
      },
    },
  });
  return knobs;
}
