/**
 * `card`: the paygate plugin for CardGate, a SOAP 1.1 card processor (providers/card/README.md,
 * "The plugin"). Actions `authorize`, `capture`, `sale`, `refund`, `void` and `status`; the
 * request's idempotency key travels as CardGate's `MerchantRef`; lost answers are reconciled
 * through CardGate's `Status`.
 *
 * Modules: resources.ts (config, breaker defaults, setup), schemas.ts, actions.ts (the table),
 * transformers.ts (payload → SOAP arguments; the only place card data is revealed), parsers.ts
 * and faults.ts (answers → outcomes), codes.ts (the code tables), status.ts (reconciliation),
 * scrub.ts (transcripts).
 *
 * From the package: `import card from 'paygate/providers/card'`. A storefront imports it to type
 * `gateway.request('card', …)` and check payloads; that loads the schemas and the action table,
 * never the SOAP transport, which the worker makes in `setup` (docs/sdk.md, "What a storefront
 * import loads").
 */
import { defineProvider, type RequestOf, type ResultOf } from '../../src/providers/index.ts';
import { cardActions } from './actions.ts';
import { CARD_BREAKER, cardConfig, setupCard } from './resources.ts';
import { scrubCardTranscript } from './scrub.ts';
import { reconcile } from './status.ts';

const card = defineProvider({
  name: 'card',
  version: '1.0.0',
  config: cardConfig,
  breaker: CARD_BREAKER,
  setup: setupCard,
  actions: cardActions,
  scrub: scrubCardTranscript,
  status: reconcile,
});

export default card;

/** What a storefront writes to authorize (and sell): `{ amount, card }`. */
export type CardAuthorizeRequest = RequestOf<typeof card, 'authorize'>;
/** What it gets back: transaction id, amount, auth code, AVS/CVV, the raw code. */
export type CardAuthorizeResult = ResultOf<typeof card, 'authorize'>;
