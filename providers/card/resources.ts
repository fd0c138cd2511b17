/**
 * What the `card` plugin needs from its deployment: its own settings (`config`: the WS-Security
 * UsernameToken credentials) and, made once at worker start by {@link setupCard}, the SOAP
 * transport to CardGate (endpoint, TLS and deadline from the worker config; every call through
 * the provider's breaker). Handlers get it as `context.resources`.
 */
import * as z from 'zod';
import type { ActionContext, SetupTools, SoapTransport } from '../../src/providers/index.ts';

/** CardGate's WSDL, kept next to the plugin (its service address is ignored: calls go to the endpoint). */
export const CARD_WSDL = new URL('./card.wsdl', import.meta.url);

/** The worker config's `providers[].options` for `card`. */
export const cardConfig = z.strictObject({
  /** The merchant's CardGate user (WS-Security UsernameToken). */
  username: z.string().min(1, 'username must not be empty').max(256, 'username is too long'),
  /** Its password (sent as PasswordText inside TLS). */
  password: z.string().min(1, 'password must not be empty').max(1024, 'password is too long'),
});

/** The parsed settings. */
export type CardConfig = z.output<typeof cardConfig>;

/** `context.resources` of every `card` handler. */
export interface CardResources {
  readonly soap: SoapTransport;
}

/** A `card` handler's context. */
export type CardContext = ActionContext<CardResources>;

/** The plugin's breaker defaults (the worker config's `breaker` keys override them one by one). */
export const CARD_BREAKER = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingCountTimeout: 10_000,
  resetTimeout: 15_000,
  capacity: 16,
});

/** `setup(tools)`: the SOAP transport, with the merchant's UsernameToken on every call. */
export function setupCard(tools: SetupTools<CardConfig>): CardResources {
  const { username, password } = tools.config;
  return { soap: tools.soapTransport({ wsdlPath: CARD_WSDL, security: { username, password } }) };
}
