/**
 * `paygate`: the SDK a storefront backend imports.
 *
 * ```ts
 * import { createGateway, readIdentityFiles, NotSentError, TimeoutError } from 'paygate';
 * import card from 'paygate/providers/card';
 * ```
 *
 * {@link createGateway} makes a {@link Gateway} whose `request(provider, type, payload)` is typed
 * by the provider plugins it was given (docs/sdk.md). Every error it throws is a
 * {@link PaygateError} with a stable `code` (docs/errors.md). This module loads the SDK only: no
 * worker, broker, supervisor or provider transport (SOAP, undici, XML, SQLite) comes with it.
 *
 * @packageDocumentation
 */
export { PaygateError } from './errors.ts';
export {
  createGateway,
  Gateway,
  CardDataInTextError,
  CLIENT_ERROR_CODES,
  GatewayError,
  NotSentError,
  RemoteError,
  ReplyResultError,
  TimeoutError,
  ValidationError,
  gatewayOptionsSchema,
  readIdentityFiles,
  type ClientErrorCode,
  type GatewayEvents,
  type GatewayOptions,
  type GatewayReply,
  type GatewayStats,
  type LateReplyEvent,
  type NotSentReason,
  type OutcomeReplyStatus,
  type PayloadFor,
  type PingResult,
  type ProviderName,
  type ProviderNamed,
  type ReplyErrorInfo,
  type ReplyMeta,
  type ReplyRejectedEvent,
  type RequestOptions,
  type ResolvedGatewayOptions,
  type ResultFor,
  type TimeoutReason,
  type TypeOf,
  type ValidationIssue,
} from './client/index.ts';
// Types a storefront names in its own code: a plugin's request and result types, the reply's
// signer, money, and the broker options of `createGateway({ brokers })`. Types only: they load nothing.
export type { ActionTypes, OutcomeStatus, ProviderDefinition, RequestOf, ResultOf } from './providers/index.ts';
export type { Certificate, Money, ReplyStatus } from './wire/index.ts';
export type { StompError, StompErrorCode, StompNode, StompOptions } from './stomp/index.ts';
