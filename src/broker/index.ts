/**
 * The embedded STOMP broker's public surface (docs/broker.md).
 */
export { EmbeddedBroker } from './server.ts';
export type { EmbeddedBrokerEvents } from './server.ts';
export { BrokerError, BROKER_ERROR_CODES } from './errors.ts';
export type { BrokerErrorCode } from './errors.ts';
export { brokerOptionsSchema, resolveBrokerOptions } from './options.ts';
export type { BrokerOptions, ResolvedBrokerOptions } from './options.ts';
export { SERVER_NAME } from './session.ts';
export { parseUsers } from './users.ts';
