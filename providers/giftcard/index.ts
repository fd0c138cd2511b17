import { defineProvider, type RequestOf, type ResultOf } from '../../src/providers/index.ts';
import { giftcardActions } from './actions.ts';
import { giftcardConfigSchema } from './config.ts';
import { giftcardSetup } from './resources.ts';
import { scrubGiftcard } from './scrub.ts';
import { reconcile } from './status.ts';

/**
 * `giftcard`: a stored-value (gift card) provider with an XML-over-HTTPS API — balance, redeem,
 * reload, void and status (README.md, "The plugin"). The deployment gives the endpoint, its CA
 * and deadline; `options.api_key` is the merchant's `X-Api-Key`.
 *
 * From the package: `import giftcard from 'paygate/providers/giftcard'`. A storefront importing
 * it gets the schemas and the action table, never the XML transport, which the worker makes in
 * `setup` (docs/sdk.md, "What a storefront import loads").
 */
const giftcard = defineProvider({
  name: 'giftcard',
  version: '1.0.0',
  config: giftcardConfigSchema,
  // Open when over half of at least 5 calls in 10 s failed; try again after 15 s.
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 5, rollingCountTimeout: 10_000, resetTimeout: 15_000, capacity: 16 },
  setup: giftcardSetup,
  actions: giftcardActions,
  scrub: scrubGiftcard,
  status: reconcile,
});

export default giftcard;
export type { GiftcardResources } from './resources.ts';
export type { GiftcardConfig } from './config.ts';

/** What a `redeem` caller writes / gets (the SDK's types). */
export type GiftcardRedeemRequest = RequestOf<typeof giftcard, 'redeem'>;
export type GiftcardRedeemResult = ResultOf<typeof giftcard, 'redeem'>;
