/**
 * The template provider: a copyable, minimal, working plugin (providers/_template/README.md).
 * One action, `charge`, over an HTTPS form POST, and the `status` reconciliation hook. It
 * imports only `src/providers/index.ts`, `src/wire/index.ts` (through its own files) and zod.
 */
import { defineProvider } from '../../src/providers/index.ts';
import { parseCharge, parseStatus } from './parsers.ts';
import { chargeRequest, chargeResult, configSchema } from './schemas.ts';
import { scrub } from './scrub.ts';
import { toChargeFields, toStatusFields } from './transformers.ts';

const template = defineProvider({
  // TODO(name): your provider's name (lower case; requests arrive on /queue/paygate.<name>) and version.
  name: 'template',
  version: '1.0.0',
  config: configSchema,
  // TODO(breaker): defaults for your provider; the worker config's `breaker:` overrides them one by one.
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeout: 30_000, capacity: 16 },
  // TODO(transport): tools.formTransport() for name-value forms, tools.xmlTransport() for XML, tools.soapTransport({ wsdlPath }) for SOAP.
  setup: (tools) => ({ api: tools.formTransport(), config: tools.config }),
  actions: {
    charge: {
      request: chargeRequest,
      result: chargeResult,
      async handler(payload, context) {
        const { api, config } = context.resources;
        const answer = await api.post('/charge', toChargeFields(payload, context.idempotencyKey, config), { signal: context.signal });
        return parseCharge(answer.fields);
      },
    },
  },
  // Reconciliation: what became of a call whose answer was lost (docs/providers.md, "Reconciliation").
  async status(_inquiry, context) {
    const { api, config } = context.resources;
    const answer = await api.post('/status', toStatusFields(context.idempotencyKey, config), { signal: context.signal });
    return parseStatus(answer.fields);
  },
  scrub,
});

export default template;
