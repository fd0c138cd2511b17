import { defaultKnobs as sharedDefaults, type SandboxKnobs } from '../../_sandbox-kit/knobs.ts';

/**
 * The sandbox's failure knobs: the kit's (see `providers/_sandbox-kit/knobs.ts` for what each
 * does and in which order), with the gift-card API's broken answers.
 */

export type { HangPoint } from '../../_sandbox-kit/knobs.ts';

/** Broken answers: an HTML page, a body cut short, random bytes, an entity-expansion bomb, a DOCTYPE with an external entity. */
export type GiftcardMalformed = 'html' | 'truncated' | 'garbage' | 'xml-bomb' | 'doctype';

/** The knobs. */
export type GiftcardSandboxKnobs = SandboxKnobs<GiftcardMalformed>;

/** Fresh default knobs: everything off. */
export function defaultKnobs(): GiftcardSandboxKnobs {
  return sharedDefaults<GiftcardMalformed>();
}
