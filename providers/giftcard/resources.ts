import type { SetupTools, XmlTransport } from '../../src/providers/index.ts';
import { ANSWER_STATUSES } from './codes.ts';
import type { GiftcardConfig } from './config.ts';

/**
 * What the plugin's `setup(tools)` builds once per worker start: the XML transport to the
 * deployment's endpoint (its TLS and deadline, through the provider's breaker), sending the API
 * key as the `X-Api-Key` header. Headers never reach transcripts (the transports record bodies
 * only); `scrub` masks an `X-Api-Key` header line anyway, should one ever appear.
 */
export interface GiftcardResources {
  readonly xml: XmlTransport;
}

/** The call path under the endpoint: the endpoint (`https://host:port/svc`) is the API itself. */
export const API_PATH = '/';

/** Builds the handlers' `context.resources`. */
export function giftcardSetup(tools: SetupTools<GiftcardConfig>): GiftcardResources {
  return {
    xml: tools.xmlTransport({
      headers: { 'X-Api-Key': tools.config.api_key },
      answerStatuses: [...ANSWER_STATUSES],
    }),
  };
}
