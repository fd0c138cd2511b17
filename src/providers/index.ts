/**
 * The public surface of the provider contract: what plugins in `providers/<name>`,
 * the worker and the SDK import. Plugins import this file and `src/wire/index.ts`, nothing else.
 */
export {
  defineProvider, maskingLogger, validateRequest, validateResult, supportsType, scrubCardNumbers, PING_TYPE, RESERVED_TYPES, OUTCOME_STATUSES,
  type Action, type ActionContext, type ActionLogger, type ActionOutcome, type ActionTable, type ActionTableOf, type ActionTypes,
  type OutcomeError, type OutcomeStatus, type PayloadOf, type ProviderDefinition, type ProviderSpec, type RequestOf, type ResultOf,
  type StatusInquiry,
} from './contract.ts';
export { ProviderError, PROVIDER_ERROR_CODES, ProviderNotCalledError, providerNotCalled, isNotSent, type ProviderErrorCode, type SchemaIssue } from './errors.ts';
export { loadProvider, isProviderDefinition } from './loader.ts';
export { TransportError, TRANSPORT_ERROR_CODES, isTransportError, type TransportErrorCode } from './transport-errors.ts';
export {
  BreakerRegistry, breakerOptionsSchema, parseBreakerOptions, BREAKER_DEFAULTS,
  type BreakerOptions, type BreakerOptionsInput, type BreakerSnapshot, type BreakerState, type BreakerStateChange, type BreakerCallOptions,
} from './breaker.ts';
export {
  STANDARD_ERROR_CODES, STANDARD_DECLINE_CODES, standardErrorCodeSchema, isStandardErrorCode, AVS_RESULTS, avsResultSchema, CVV_RESULTS, cvvResultSchema,
  providerCodeSchema, providerResultFields, approved, declined, unknownOutcome, mapProviderCode,
  type StandardErrorCode, type StandardCodeInfo, type AvsResult, type CvvResult, type OutcomeOptions, type ProviderCodeTable, type MappedProviderCode,
} from './outcome.ts';
// Transports and plugin set-up are values only the worker needs (on first use they load undici,
// soap and the XML libraries): the worker imports them from ./transports/index.ts and ./setup.ts. Plugins reach
// them through `setup(tools)`, so this surface — which the SDK loads too — exports their types only.
export { createScrub, isSensitiveFieldName, maskSensitiveFields, scrubTranscript } from './transports/scrub.ts';
export type {
  CallOptions, FormAnswer, FormTransport, FormTransportOptions, SoapAnswer, SoapFault, SoapTransport, SoapTransportOptions, TranscriptEntry,
  TranscriptHook, TlsOptionsInput, XmlAnswer, XmlDocument, XmlTransport, XmlTransportOptions,
} from './transports/index.ts';
export type { ProviderDeployment, SetupTools, SetupToolsHandle, SetupToolsInput } from './setup.ts';
