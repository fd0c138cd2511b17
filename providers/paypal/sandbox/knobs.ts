import { defaultKnobs as sharedDefaults, type SandboxKnobs } from '../../_sandbox-kit/knobs.ts';

/**
 * The sandbox's failure knobs: the kit's (see `providers/_sandbox-kit/knobs.ts` for what each
 * does and in which order), with PayPal's broken answers.
 */

export type { HangPoint } from '../../_sandbox-kit/knobs.ts';

/** Broken answers: an HTML page, a body cut short, random bytes. */
export type PaypalMalformed = 'html' | 'truncated' | 'garbage';

/** The knobs. */
export type PaypalSandboxKnobs = SandboxKnobs<PaypalMalformed>;

/** Fresh default knobs: everything off. */
export function defaultKnobs(): PaypalSandboxKnobs {
  return sharedDefaults<PaypalMalformed>();
}
