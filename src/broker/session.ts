/**
 * The STOMP verbs: what each client frame does to a connection's session and to the
 * destinations. Any thrown PaygateError becomes an ERROR frame and a close (connection.ts).
 */
import type { Frame, StompHeaders, StompVersion } from '../stomp/frame.ts';
import { AccessControl } from './access.ts';
import type { Principal } from './access.ts';
import { BrokerLimitError } from './errors.ts';
import { protocolError } from './connection.ts';
import type { Connection } from './connection.ts';
import { negotiateHeartBeat } from './heartbeat.ts';
import type { HeartBeat } from './heartbeat.ts';
import { MESSAGE_OVERHEAD } from './memory.ts';
import { expiryOf, userHeaders } from './message.ts';
import type { BrokerMessage } from './message.ts';
import type { Queue } from './queue.ts';
import { ACK_MODES, Subscription } from './subscription.ts';
import type { AckMode } from './subscription.ts';
import { REMOTE_TEMP_QUEUE_PREFIX, TEMP_QUEUE_PREFIX } from './temp-queues.ts';

/** The CONNECTED `server` header; clients read the broker kind from the part before the slash. */
export const SERVER_NAME = 'paygate/0.1.0';
const VERSIONS: readonly StompVersion[] = ['1.2', '1.1', '1.0'];

/** Dispatch one frame. CONNECT/STOMP only before the session is open, everything else only after. */
export function handleFrame(connection: Connection, frame: Frame): void {
  if (!connection.connected) {
    if (frame.command !== 'CONNECT' && frame.command !== 'STOMP') throw protocolError(`${frame.command} before CONNECT`);
    return connect(connection, frame.headers);
  }
  const receipt = frame.headers.receipt;
  switch (frame.command) {
    case 'SEND':
      send(connection, frame);
      break;
    case 'SUBSCRIBE':
      subscribe(connection, frame.headers);
      break;
    case 'UNSUBSCRIBE':
      unsubscribe(connection, frame.headers);
      break;
    case 'ACK':
    case 'NACK':
      acknowledge(connection, frame.headers, frame.command === 'NACK');
      break;
    case 'BEGIN':
      connection.transactions.begin(required(frame.headers, 'transaction'));
      break;
    case 'COMMIT':
      connection.transactions.commit(required(frame.headers, 'transaction'));
      break;
    case 'ABORT':
      connection.transactions.abort(required(frame.headers, 'transaction'));
      break;
    case 'DISCONNECT':
      return connection.disconnect(receipt);
    default:
      throw protocolError(frame.command === 'CONNECT' || frame.command === 'STOMP' ? 'already connected' : `unexpected ${frame.command}`);
  }
  if (receipt !== undefined) connection.receipt(receipt);
}

function required(headers: StompHeaders, name: string): string {
  const value = headers[name];
  if (value === undefined || value === '') throw protocolError(`missing ${name} header`);
  return value;
}

function connect(connection: Connection, headers: StompHeaders): void {
  const offered = (headers['accept-version'] ?? '1.0').split(',').map((v) => v.trim());
  const version = VERSIONS.find((v) => offered.includes(v));
  if (version === undefined) {
    connection.fail('unsupported STOMP version', 'supported versions are 1.0, 1.1 and 1.2', undefined, 'BROKER_PROTOCOL', {
      version: VERSIONS.slice().reverse().join(','),
    });
    return;
  }
  const { access, options } = connection.context;
  const negotiated = negotiateHeartBeat(headers['heart-beat'], options.heartBeat);
  if (negotiated === undefined) throw protocolError('heart-beat header is not "cx,cy"');
  if (!access.required) return opened(connection, version, negotiated, AccessControl.anyone(headers.login));
  // scrypt runs off the event loop; frames pipelined behind CONNECT wait for its answer.
  connection.hold();
  access.authenticate(headers.login, headers.passcode).then(
    (principal) => {
      if (connection.closing) return;
      if (principal === undefined) refuseLogin(connection);
      else admitted(connection, version, negotiated, principal);
      connection.release();
    },
    (error: unknown) => connection.failWith(error, undefined),
  );
}

/** A proven login gets its session unless it already holds `maxConnectionsPerLogin` of them. */
function admitted(connection: Connection, version: StompVersion, heartBeat: HeartBeat, principal: Principal): void {
  try {
    connection.context.admit(connection, principal.login);
  } catch (error) {
    return connection.failWith(error, undefined);
  }
  opened(connection, version, heartBeat, principal);
}

/** Same answer for an unknown login, a wrong passcode and a missing one: nothing to enumerate. */
function refuseLogin(connection: Connection): void {
  connection.fail('authentication failed', 'unknown login or wrong passcode', undefined, 'BROKER_AUTH_FAILED');
}

function opened(connection: Connection, version: StompVersion, heartBeat: HeartBeat, principal: Principal): void {
  connection.principal = principal;
  connection.open(version, heartBeat);
  connection.send('CONNECTED', {
    version,
    session: connection.session,
    server: SERVER_NAME,
    'heart-beat': `${heartBeat.send},${heartBeat.receive}`,
  });
}

function send(connection: Connection, frame: Frame): void {
  const destination = required(frame.headers, 'destination');
  const transaction = frame.headers.transaction;
  // Rights first, then existence: a refusal must not reveal whether a destination exists.
  AccessControl.authorize(connection.principal, 'SEND', destination, connection.session);
  // Resolve now so a bad destination is refused at SEND time, even inside a transaction.
  connection.context.router.forSend(destination, connection.session);
  const publish = (): void => publishNow(connection, destination, frame);
  if (transaction === undefined) publish();
  // Held until COMMIT: the body and the bookkeeping count against the connection's and broker's caps.
  else connection.transactions.add(transaction, publish, frame.body.length + MESSAGE_OVERHEAD);
}

function publishNow(connection: Connection, destination: string, frame: Frame): void {
  const { router } = connection.context;
  const headers = userHeaders(frame.headers);
  const replyTo = headers['reply-to'];
  if (replyTo !== undefined && replyTo.startsWith(TEMP_QUEUE_PREFIX) && replyTo.length > TEMP_QUEUE_PREFIX.length) {
    const queue = router.temps.open(connection.session, replyTo.slice(TEMP_QUEUE_PREFIX.length));
    headers['reply-to'] = queue.name;
    ensureTempConsumer(connection, replyTo, queue);
  }
  // A reply to a temp queue whose owner has gone is dropped: nobody could ever read it. The tap
  // still records it: the broker accepted it, and the auditor holds a trail record of the reply.
  const target = router.forSend(destination, connection.session);
  if (target === undefined) return connection.context.tap?.record(destination, frame);
  const { id, seq } = connection.context.nextMessage();
  const message: BrokerMessage = {
    id,
    seq,
    destination,
    headers,
    body: frame.body,
    persistent: headers.persistent === 'true',
    expires: expiryOf(headers),
    deliveries: 0,
    failures: 0,
    stored: false,
  };
  // Only a reply into another connection's temp queue may use the headroom beyond maxTotalBytes:
  // a connection filling its own temp queues (which needs no right at all) gets none.
  const reply = destination.startsWith(REMOTE_TEMP_QUEUE_PREFIX) && router.temps.find(destination)?.owner !== connection.session;
  if (target.kind === 'queue') target.queue.publish(message, reply);
  else target.topic.publish(message);
  // After publish: a SEND refused by a limit there never crossed the broker, so it is not recorded.
  connection.context.tap?.record(destination, frame);
}

/**
 * The RabbitMQ-style implicit subscription: replies to `/temp-queue/x` reach a client that never
 * subscribed to it, on subscription id `/temp-queue/x`. An explicit SUBSCRIBE takes precedence.
 */
function ensureTempConsumer(connection: Connection, id: string, queue: Queue): void {
  for (const subscription of connection.subscriptions.values()) if (subscription.source === queue) return;
  if (connection.subscriptions.has(id)) return;
  checkSubscriptionLimit(connection);
  const subscription = new Subscription(id, connection, queue, 'auto', 0, true);
  connection.subscriptions.set(id, subscription);
  queue.addConsumer(subscription);
}

function checkSubscriptionLimit(connection: Connection): void {
  const max = connection.context.options.maxSubscriptions;
  if (connection.subscriptions.size >= max) throw new BrokerLimitError('maxSubscriptions', `more than ${max} subscriptions on one connection`);
}

function subscribe(connection: Connection, headers: StompHeaders): void {
  const destination = required(headers, 'destination');
  AccessControl.authorize(connection.principal, 'SUBSCRIBE', destination, connection.session);
  const id = headers.id ?? (connection.version === '1.0' ? destination : required(headers, 'id'));
  const implicit = connection.subscriptions.get(destination);
  if (implicit?.implicit) removeSubscription(connection, implicit);
  if (connection.subscriptions.has(id)) throw protocolError(`subscription id ${id} is already in use`);
  checkSubscriptionLimit(connection);
  const ack = (headers.ack ?? 'auto') as AckMode;
  if (!ACK_MODES.includes(ack)) throw protocolError(`ack mode must be auto, client or client-individual`);
  const target = connection.context.router.forSubscribe(destination, connection.session);
  const source = target.kind === 'queue' ? target.queue : target.topic;
  const uniqueAckIds = target.kind === 'topic' && connection.version === '1.2';
  const subscription = new Subscription(id, connection, source, ack, prefetchOf(connection, headers), false, uniqueAckIds);
  connection.subscriptions.set(id, subscription);
  source.addConsumer(subscription);
}

/**
 * The prefetch window, from whichever header the client's broker dialect uses. One above
 * `maxPrefetch` is lowered to it rather than refused: client libraries send large defaults
 * (and RabbitMQ and ActiveMQ accept them), and a smaller window only slows that consumer.
 */
function prefetchOf(connection: Connection, headers: StompHeaders): number {
  const given = headers['activemq.prefetchSize'] ?? headers['prefetch-count'];
  const value = given === undefined ? Number.NaN : Number(given);
  const { defaultPrefetch, maxPrefetch } = connection.context.options;
  if (!(Number.isInteger(value) && value > 0)) return defaultPrefetch;
  if (value <= maxPrefetch) return value;
  connection.context.limited('maxPrefetch', `prefetch ${value} lowered to ${maxPrefetch}`, connection);
  return maxPrefetch;
}

function unsubscribe(connection: Connection, headers: StompHeaders): void {
  const id = headers.id ?? (connection.version === '1.0' ? headers.destination : undefined);
  if (id === undefined) throw protocolError('missing id header');
  const subscription = connection.subscriptions.get(id);
  // Unknown ids are ignored: a client restoring state after a reconnect may unsubscribe twice.
  if (subscription !== undefined) removeSubscription(connection, subscription);
}

function removeSubscription(connection: Connection, subscription: Subscription): void {
  connection.subscriptions.delete(subscription.id);
  subscription.source.removeConsumer(subscription);
  const taken = subscription.takeAll();
  forgetAckIds(connection, subscription, taken);
  subscription.source.giveBack(taken, 'returned');
}

function forgetAckIds(connection: Connection, subscription: Subscription, messages: readonly BrokerMessage[]): void {
  for (const message of messages) {
    const ackId = subscription.ackIdOf(message);
    if (connection.ackIndex.get(ackId) === subscription) connection.ackIndex.delete(ackId);
  }
}

/** ACK/NACK by `id` (1.2) or `message-id` (+ `subscription` in 1.1; alone in 1.0). */
function acknowledge(connection: Connection, headers: StompHeaders, negative: boolean): void {
  const v12 = connection.version === '1.2';
  const ackId = v12 ? (headers.id ?? headers['message-id']) : headers['message-id'];
  if (ackId === undefined) throw protocolError(`${negative ? 'NACK' : 'ACK'} without ${v12 ? 'id' : 'message-id'}`);
  const named = v12 ? undefined : headers.subscription;
  const subscription = named === undefined ? connection.ackIndex.get(ackId) : connection.subscriptions.get(named);
  if (subscription === undefined || !subscription.unacked.has(ackId)) {
    throw protocolError(`${negative ? 'NACK' : 'ACK'} of a message this connection does not hold unacknowledged`);
  }
  const apply = (): void => {
    const taken = subscription.take(ackId);
    forgetAckIds(connection, subscription, taken);
    if (negative) subscription.source.giveBack(taken, 'failed');
    else for (const message of taken) subscription.source.settle(message);
    subscription.source.dispatch();
  };
  const transaction = headers.transaction;
  if (transaction === undefined) apply();
  else connection.transactions.add(transaction, apply, MESSAGE_OVERHEAD);
}
