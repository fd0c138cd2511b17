/**
 * The client SDK: what a storefront imports. `createGateway()`
 * makes a {@link Gateway}; its `request()` is typed by the provider plugins it was given.
 */
export { createGateway, Gateway } from './gateway.ts';
export {
  CardDataInTextError, CLIENT_ERROR_CODES, GatewayError, NotSentError, RemoteError, ReplyResultError, TimeoutError, ValidationError,
  type ClientErrorCode, type NotSentReason, type TimeoutReason, type ValidationIssue,
} from './errors.ts';
export { gatewayOptionsSchema, readIdentityFiles, type GatewayOptions, type ResolvedGatewayOptions } from './options.ts';
export type {
  GatewayEvents, GatewayReply, GatewayStats, LateReplyEvent, OutcomeReplyStatus, PayloadFor, PingResult, ProviderName, ProviderNamed,
  ReplyErrorInfo, ReplyMeta, ReplyRejectedEvent, RequestOptions, ResultFor, TypeOf,
} from './types.ts';
