/**
 * `paygate/provider`: everything a provider plugin's author imports (docs/providers.md).
 *
 * ```ts
 * import { defineProvider, z, moneySchema, scrubCardNumbers, type RequestOf } from 'paygate/provider';
 * ```
 *
 * - the contract: {@link defineProvider}, the action, context and outcome types, `RequestOf` /
 *   `ResultOf`, `validateRequest` / `validateResult`;
 * - the transports' types (`SoapTransport`, `FormTransport`, `XmlTransport`, `SetupTools`…):
 *   a plugin gets the transports themselves from `setup(tools)`, made by the worker;
 * - the outcome vocabulary: `approved`, `declined`, `unknownOutcome`, the standard error and
 *   decline codes, AVS/CVV results, `mapProviderCode`, `providerResultFields`;
 * - the wire's public surface, for its building blocks of payloads: money and card schemas,
 *   secrets and the one door to their clear value (for request transformers only), `maskPan`;
 * - `z`: paygate's own zod, so that the plugin's schemas are instances of the zod the contract
 *   checks against, whatever zod the plugin's project has installed;
 * - the test kit: {@link runAction} and {@link testActionContext}.
 *
 * Plugins inside the paygate repository import `src/providers/index.ts` and `src/wire/index.ts`
 * instead; this module re-exports both whole, so a plugin sees the same names either way. Like that
 * surface, it loads no transport (SOAP, undici, XML libraries), store or sandbox: a storefront
 * importing a plugin for its types and payload checks gets the schemas, not the server side.
 *
 * @packageDocumentation
 */
export * from './providers/index.ts';
export * as z from 'zod';
export * from './wire/index.ts';
export {
  runAction, testActionContext, testContextOptionsSchema, TestKitError, TEST_KIT_ERROR_CODES,
  type ActionRun, type LoggedLine, type TestContext, type TestContextOptions, type TestKitErrorCode,
} from './provider-test-kit.ts';
