/**
 * paygate's STOMP connection layer: a cluster connection on stompit with failover,
 * heart-beats, reconnect with re-subscribe, receipts, transactions, temp-queue request/reply and
 * per-broker quirks. docs/stomp.md is the guide.
 */
export { StompConnection } from './connection.ts';
export type { SendOptions } from './connection.ts';
export type { StompEvents } from './events.ts';
export { STOMP_ERROR_CODES, StompError, isStompError } from './errors.ts';
export type { StompErrorCode } from './errors.ts';
export { StompMessage } from './message.ts';
export type { AckMode, AckOptions } from './message.ts';
export { parseOptions } from './options.ts';
export { PinnedConnections } from './pinned.ts';
export type { ResolvedOptions, StompNode, StompOptions } from './options.ts';
export { brokerKindOf, quirksOf } from './broker-kind.ts';
export { QUEUE_TYPES, queueTypeHeaders } from './queue-type.ts';
export type { QueueType } from './queue-type.ts';
export type { BrokerKind, BrokerQuirks } from './broker-kind.ts';
export type { NegotiatedHeartBeat } from './heartbeat.ts';
export type { MessageHandler, SubscribeOptions, Subscription } from './subscriptions.ts';
export type { ReplyQueue, RequestOptions } from './temp-queue.ts';
export { Transaction } from './transaction.ts';
export type { TransactionSendOptions } from './transaction.ts';
export type { Headers } from './session.ts';
