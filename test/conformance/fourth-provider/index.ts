/**
 * `loyalty`: a minimal fourth provider, built from docs/providers.md and
 * the template's pattern: XML over HTTPS, `redeem` and `balance`, the `status` hook.
 */
import { defineProvider } from '../../../src/providers/index.ts';
import { parseBalance, parseLookup, parseRedeem } from './parsers.ts';
import { balanceRequest, balanceResult, configSchema, redeemRequest, redeemResult } from './schemas.ts';
import { scrub } from './scrub.ts';
import { toBalance, toLookup, toRedeem } from './transformers.ts';

const loyalty = defineProvider({
  name: 'loyalty',
  version: '0.1.0',
  config: configSchema,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeout: 10_000, capacity: 8 },
  setup: (tools) => ({ api: tools.xmlTransport(), config: tools.config }),
  actions: {
    redeem: {
      request: redeemRequest,
      result: redeemResult,
      async handler(payload, context) {
        const { api, config } = context.resources;
        const answer = await api.post('/points', toRedeem(payload, context.idempotencyKey, config), { signal: context.signal });
        return parseRedeem(answer.document);
      },
    },
    balance: {
      request: balanceRequest,
      result: balanceResult,
      async handler(payload, context) {
        const { api, config } = context.resources;
        const answer = await api.post('/points', toBalance(payload, config), { signal: context.signal });
        return parseBalance(answer.document);
      },
    },
  },
  async status(inquiry, context) {
    // A balance inquiry changes nothing: asking again is its reconciliation.
    if (inquiry.type === 'balance') return null;
    const { api, config } = context.resources;
    const answer = await api.post('/points', toLookup(context.idempotencyKey, config), { signal: context.signal });
    return parseLookup(answer.document);
  },
  scrub,
});

export default loyalty;
