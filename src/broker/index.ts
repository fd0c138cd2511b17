/**
 * The embedded STOMP broker's public surface (docs/broker.md).
 */
export { EmbeddedBroker } from './server.ts';
export type { BrokerStats, EmbeddedBrokerEvents, ExpiredMessage, LimitHit } from './server.ts';
export { BrokerError, BrokerLimitError, BROKER_ERROR_CODES, BROKER_LIMITS } from './errors.ts';
export type { BrokerErrorCode, BrokerLimit } from './errors.ts';
export { brokerOptionsSchema, isLoopback, resolveBrokerOptions } from './options.ts';
export type { BrokerOptions, ResolvedBrokerOptions } from './options.ts';
export { SERVER_NAME } from './session.ts';
export { BROKER_ROLES, DEFAULT_QUEUE_PREFIX, parseUsersFile, rightsOf, roleRights, usersConfigSchema, validateUsersConfig } from './users.ts';
export type { BrokerRole, ResolvedUsersConfig, Rights, UsersConfig } from './users.ts';
export { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from './password.ts';
export type { ScryptCost } from './password.ts';
export { PatternSet, patternProblem } from './patterns.ts';
export { DEFAULT_TAP_DESTINATIONS, tapOptionsSchema, tapPatternProblem } from './tap.ts';
export type { TapOptions, TapSink, TapStats, TappedMessage } from './tap.ts';
export { BROKER_HEADERS, isBrokerHeader } from './message.ts';
