// Which brokers the integration suite runs against, how a test file
// gets one (external ones are already running; an embedded one is started per file
// on an ephemeral port), and a raw STOMP 1.2 socket for smoke tests that must not
// depend on the connection layer under test (src/stomp).
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { EmbeddedBroker, hashPassword, type BrokerOptions, type BrokerRole, type UsersConfig } from '../../src/broker/index.ts';
import type { StompOptions } from '../../src/stomp/index.ts';

export type BrokerName = 'embedded' | 'rabbitmq' | 'activemq';

/**
 * The test logins, the same on every broker (docs/broker-access.md): the five paygate roles, a
 * second storefront for "another client's queue" attacks, and `stomp-test`, a test-only login
 * for the tests of the STOMP layer itself, whose rights cover `stomptest.` names only.
 */
export const TEST_ROLES = ['storefront', 'storefront-2', 'worker', 'operator', 'audit', 'feed', 'stomp-test'] as const;
export type TestRole = (typeof TEST_ROLES)[number];

export interface Credentials {
  readonly login: string;
  readonly passcode: string;
}

/**
 * Fixed test passwords (loopback-only brokers): scripts/brokers.sh applies them on RabbitMQ,
 * scripts/activemq/activemq.xml names them, {@link startTestBroker} gives them to the embedded broker.
 */
export const testPasscode = (login: string): string => `${login}-test-pass`;

const ROLE_LOGINS = Object.fromEntries(TEST_ROLES.map((role) => [role, { login: role, passcode: testPasscode(role) }])) as Readonly<
  Record<TestRole, Credentials>
>;

/** Where the tests of the STOMP layer put their destinations: the only names `stomp-test` may use. */
export const STOMP_TEST_PREFIX = 'stomptest.';

export interface BrokerDescriptor {
  readonly name: BrokerName;
  readonly host: string;
  /** undefined only for `embedded`, which has no fixed port (see below). */
  readonly port: number | undefined;
  /** The login this descriptor connects with: `stomp-test` unless {@link asRole} chose another. */
  readonly login: string;
  readonly passcode: string;
  /** Sent as the CONNECT `host` header; RabbitMQ reads it as the vhost. */
  readonly vhost: string;
  /** Every test login of this broker. */
  readonly roles: Readonly<Record<TestRole, Credentials>>;
}

/** A broker started by scripts/brokers.sh, reachable on a fixed port. */
export interface ExternalBroker extends BrokerDescriptor {
  readonly name: 'rabbitmq' | 'activemq';
  readonly port: number;
}

/** The same broker, connecting as `role` (`nodeOf(asRole(broker.descriptor, 'worker'))`). */
export function asRole<B extends BrokerDescriptor>(broker: B, role: TestRole): B {
  return { ...broker, ...broker.roles[role] };
}

const descriptor = (name: BrokerName, port: number | undefined): BrokerDescriptor => ({
  name,
  host: '127.0.0.1',
  port,
  ...ROLE_LOGINS['stomp-test'],
  vhost: '/',
  roles: ROLE_LOGINS,
});

const BROKERS: Readonly<Record<BrokerName, BrokerDescriptor>> = {
  // The embedded broker listens on whatever port it is given at start-up (startTestBroker).
  embedded: descriptor('embedded', undefined),
  // Ports as configured by scripts/brokers.sh.
  rabbitmq: descriptor('rabbitmq', 61613),
  activemq: descriptor('activemq', 61623),
};

const isBrokerName = (name: string): name is BrokerName => Object.hasOwn(BROKERS, name);

// --- the three-node RabbitMQ cluster (scripts/rabbitmq-cluster.sh) ---------------

/**
 * The matrix entry of the three-node RabbitMQ cluster. Only the tests that ask for it (see
 * {@link parseTestBrokers}) run on it: the suite as a whole does not, for CI time.
 */
export const CLUSTER_ENTRY = 'rabbitmq-cluster';

/** One node of the test cluster. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  /** 1, 2 or 3: the node's number in scripts/rabbitmq-cluster.sh (`kill N`, `restart N`). */
  readonly index: number;
}

/**
 * The test cluster as a broker of the matrix. Its `name` is `rabbitmq`, since every node is one
 * (whatever a test expects of RabbitMQ holds), and `host`/`port` are node 1's; {@link connectOptions}
 * lists the three nodes, with quorum queues.
 */
export interface ClusterBroker extends ExternalBroker {
  readonly name: 'rabbitmq';
  readonly entry: typeof CLUSTER_ENTRY;
  readonly nodes: readonly ClusterNode[];
  /** The queue type its `/queue/` destinations are declared with (also the vhost's default there). */
  readonly queueType: 'quorum';
}

export const isCluster = (broker: BrokerDescriptor): broker is ClusterBroker => (broker as Partial<ClusterBroker>).entry === CLUSTER_ENTRY;

/**
 * Parses PAYGATE_TEST_RABBITMQ_CLUSTER, the last line of `bash scripts/rabbitmq-cluster.sh start`:
 * three `host:port` STOMP addresses, node 1 first. Undefined when unset or empty; throws on
 * anything else than three valid addresses.
 */
export function parseClusterNodes(value: string | undefined): ClusterNode[] | undefined {
  const entries = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) return undefined;
  const nodes = entries.map((entry, i) => {
    const match = /^([^\s:]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) {
      throw new Error(`PAYGATE_TEST_RABBITMQ_CLUSTER: "${entry}" is not host:port (scripts/rabbitmq-cluster.sh start prints the value)`);
    }
    return { host: match[1] as string, port, index: i + 1 };
  });
  if (nodes.length !== 3) throw new Error(`PAYGATE_TEST_RABBITMQ_CLUSTER names ${nodes.length} nodes; the test cluster has 3`);
  return nodes;
}

/** The matrix broker of a cluster whose nodes are `nodes` (see {@link parseClusterNodes}). */
export function clusterBroker(nodes: readonly ClusterNode[]): ClusterBroker {
  const first = nodes[0];
  if (first === undefined) throw new Error('a cluster has nodes');
  return { ...descriptor('rabbitmq', first.port), host: first.host, port: first.port, name: 'rabbitmq', entry: CLUSTER_ENTRY, nodes, queueType: 'quorum' };
}

/**
 * Parses PAYGATE_TEST_BROKERS, a comma list such as `embedded,rabbitmq`; unset or empty means
 * `embedded`. The `rabbitmq-cluster` entry is left out unless the test asks for it with
 * `{ withCluster: process.env.PAYGATE_TEST_RABBITMQ_CLUSTER }`: then it is the last broker of
 * the list (a {@link ClusterBroker}), and naming it without the nodes is an error.
 */
// The values are passed in rather than read here so the parser can be tested on any input.
export function parseTestBrokers(value: string | undefined, options?: { readonly withCluster: string | undefined }): BrokerDescriptor[] {
  const names = (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) return [BROKERS.embedded];
  const unique = [...new Set(names)];
  const brokers = unique
    .filter((name) => name !== CLUSTER_ENTRY)
    .map((name) => {
      if (!isBrokerName(name)) {
        throw new Error(`PAYGATE_TEST_BROKERS names unknown broker "${name}" (known: ${[...Object.keys(BROKERS), CLUSTER_ENTRY].join(', ')})`);
      }
      return BROKERS[name];
    });
  if (options === undefined || !unique.includes(CLUSTER_ENTRY)) return brokers;
  const nodes = parseClusterNodes(options.withCluster);
  if (nodes === undefined) {
    throw new Error(`PAYGATE_TEST_BROKERS names ${CLUSTER_ENTRY} but PAYGATE_TEST_RABBITMQ_CLUSTER is unset (bash scripts/rabbitmq-cluster.sh start prints it)`);
  }
  return [...brokers, clusterBroker(nodes)];
}

export const isExternal = (broker: BrokerDescriptor): broker is ExternalBroker =>
  broker.name !== 'embedded' && broker.port !== undefined;

/**
 * The connection options of a running broker, logging in as the descriptor's login: its one
 * node; for the cluster, its three nodes in order (every connection starts on node 1 and fails
 * over down the list) and quorum queues.
 */
export function connectOptions(broker: BrokerDescriptor & { readonly port: number }): StompOptions {
  const credentials = { login: broker.login, passcode: broker.passcode, vhost: broker.vhost };
  if (!isCluster(broker)) return { nodes: [{ host: broker.host, port: broker.port, ...credentials }] };
  return { nodes: broker.nodes.map(({ host, port }) => ({ host, port, ...credentials })), nodeOrder: 'listed', queueType: broker.queueType };
}

// --- raw STOMP 1.2 ---------------------------------------------------------

export type StompHeaders = Record<string, string>;

export interface StompFrame {
  readonly command: string;
  readonly headers: StompHeaders;
  readonly body: string;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c' };
const UNESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', c: ':' };
const escapeHeader = (v: string): string => v.replace(/[\\\n\r:]/g, (ch) => ESCAPES[ch] ?? ch);
const unescapeHeader = (v: string): string => v.replace(/\\([\\nrc])/g, (_, ch: string) => UNESCAPES[ch] ?? ch);

// STOMP 1.2 escapes header octets in every frame except CONNECT and CONNECTED.
const rawHeaders = (command: string): boolean => command === 'CONNECT' || command === 'CONNECTED';

export function encodeFrame(command: string, headers: StompHeaders, body = ''): Buffer {
  const esc = rawHeaders(command) ? (v: string): string => v : escapeHeader;
  const lines = Object.entries(headers).map(([key, value]) => `${esc(key)}:${esc(value)}\n`);
  return Buffer.from(`${command}\n${lines.join('')}\n${body}\0`);
}

/** Takes one complete frame off the front of `buf`, or undefined when more bytes are needed. */
export function takeFrame(buf: Buffer): { frame: StompFrame; rest: Buffer } | undefined {
  let start = 0;
  while (buf[start] === 0x0a || buf[start] === 0x0d) start++; // heart-beat EOLs between frames
  const lf = buf.indexOf('\n\n', start);
  const crlf = buf.indexOf('\r\n\r\n', start);
  const [headEnd, sepLength] = crlf !== -1 && (lf === -1 || crlf < lf) ? [crlf, 4] : [lf, 2];
  if (headEnd === -1) return undefined;
  const [command = '', ...lines] = buf.toString('utf8', start, headEnd).split(/\r?\n/);
  const unesc = rawHeaders(command) ? (v: string): string => v : unescapeHeader;
  const headers: StompHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = unesc(line.slice(0, colon));
    if (!Object.hasOwn(headers, key)) headers[key] = unesc(line.slice(colon + 1)); // the first one wins
  }
  const bodyStart = headEnd + sepLength;
  const length = headers['content-length'];
  const bodyEnd = length === undefined ? buf.indexOf(0, bodyStart) : bodyStart + Number(length);
  if (bodyEnd === -1 || bodyEnd >= buf.length) return undefined; // the NUL has not arrived yet
  return { frame: { command, headers, body: buf.toString('utf8', bodyStart, bodyEnd) }, rest: buf.subarray(bodyEnd + 1) };
}

export interface StompSession {
  /** Headers of the broker's CONNECTED frame. */
  readonly connected: StompHeaders;
  send(command: string, headers: StompHeaders, body?: string): void;
  /** The next frame; rejects on an ERROR frame (with its message), on timeout, or when the socket fails. */
  receive(timeoutMs: number): Promise<StompFrame>;
  close(): void;
}

type Waiter = (item: StompFrame | Error) => void;

class RawStompSession implements StompSession {
  connected: StompHeaders = {};
  #buffer: Buffer = Buffer.alloc(0);
  #frames: StompFrame[] = [];
  #waiters: Waiter[] = [];
  #failure: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly name: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (let taken = takeFrame(this.#buffer); taken; taken = takeFrame(this.#buffer)) {
        this.#buffer = taken.rest;
        this.#deliver(taken.frame);
      }
    });
    socket.on('error', (err) => this.#fail(new Error(`${name}: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#fail(new Error(`${name}: connection closed`)));
  }

  #deliver(frame: StompFrame): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(frame);
    else this.#frames.push(frame);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#waiters.splice(0)) waiter(this.#failure);
  }

  send(command: string, headers: StompHeaders, body = ''): void {
    this.socket.write(encodeFrame(command, headers, body));
  }

  receive(timeoutMs: number): Promise<StompFrame> {
    return new Promise((resolve, reject) => {
      const settle: Waiter = (item) => {
        clearTimeout(timer);
        if (item instanceof Error) reject(item);
        else if (item.command === 'ERROR') reject(new Error(`${this.name} sent ERROR: ${item.headers.message ?? item.body}`));
        else resolve(item);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== settle);
        reject(new Error(`${this.name}: no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const queued = this.#frames.shift();
      if (queued) settle(queued);
      else if (this.#failure) settle(this.#failure);
      else this.#waiters.push(settle);
    });
  }

  close(): void {
    if (this.socket.destroyed) return;
    this.socket.end(encodeFrame('DISCONNECT', {}));
    setTimeout(() => this.socket.destroy(), 1000).unref(); // in case the broker never closes its side
  }
}

/**
 * Opens a socket and completes the STOMP 1.2 handshake with the descriptor's login, or with no
 * `login`/`passcode` header at all when `anonymous`.
 */
export async function openStomp(broker: BrokerDescriptor, timeoutMs: number, options: { anonymous?: boolean } = {}): Promise<StompSession> {
  if (broker.port === undefined) throw new Error(`${broker.name} has no port to connect to`);
  const session = new RawStompSession(connect({ host: broker.host, port: broker.port }), broker.name);
  const credentials: StompHeaders = options.anonymous === true ? {} : { login: broker.login, passcode: broker.passcode };
  session.send('CONNECT', { 'accept-version': '1.2', host: broker.vhost, ...credentials, 'heart-beat': '0,0' });
  try {
    const frame = await session.receive(timeoutMs);
    if (frame.command !== 'CONNECTED') throw new Error(`${broker.name} answered CONNECT with ${frame.command}`);
    session.connected = frame.headers;
    return session;
  } catch (err) {
    session.close();
    throw err;
  }
}

/** CONNECTs, returns the CONNECTED headers and disconnects; rejects with the ERROR frame's message. */
export async function stompConnect(broker: BrokerDescriptor, timeoutMs: number, options: { anonymous?: boolean } = {}): Promise<StompHeaders> {
  const session = await openStomp(broker, timeoutMs, options);
  session.close();
  return session.connected;
}

// --- a broker per test file -------------------------------------------------

/** A running broker that a test file connects to. */
export interface TestBroker {
  /** Its descriptor, with the port it really listens on. */
  readonly descriptor: BrokerDescriptor & { readonly port: number };
  /** Stops it if the test file started it (embedded); a no-op for external brokers. */
  stop(): Promise<void>;
}

/** A running embedded broker (what {@link startEmbeddedBroker} returns). */
export type EmbeddedBrokerHandle = EmbeddedBroker;
/** The options of `EmbeddedBroker.start` (src/broker/options.ts); `users` defaults to {@link testUsers}. */
export type EmbeddedBrokerOptions = BrokerOptions;

/** Rights of `stomp-test` on the embedded broker: its own names, and replies between its own connections. */
const STOMP_TEST_RIGHTS = {
  read: [`/queue/${STOMP_TEST_PREFIX}>`, `/topic/${STOMP_TEST_PREFIX}>`],
  write: [`/queue/${STOMP_TEST_PREFIX}>`, `/topic/${STOMP_TEST_PREFIX}>`],
  reply: true,
};
const EMBEDDED_ROLE: Record<TestRole, BrokerRole | typeof STOMP_TEST_RIGHTS> = {
  storefront: 'storefront',
  'storefront-2': 'storefront',
  worker: 'worker',
  operator: 'operator',
  audit: 'audit',
  feed: 'feed',
  'stomp-test': STOMP_TEST_RIGHTS,
};

let users: Promise<UsersConfig> | undefined;

/**
 * The embedded broker's users configuration with the test logins (the same as on the external
 * brokers). Hashed once per test process, cheaply (ln=10): the cost protects stored hashes, and
 * these passwords are public.
 */
export function testUsers(): Promise<UsersConfig> {
  users ??= (async () => {
    const entries = await Promise.all(
      TEST_ROLES.map(async (role) => {
        const password = await hashPassword(testPasscode(role), { ln: 10 });
        const entry = EMBEDDED_ROLE[role];
        return [role, typeof entry === 'string' ? { password, role: entry } : { ...entry, password }] as const;
      }),
    );
    return { prefix: 'paygate.', users: Object.fromEntries(entries) };
  })();
  return users;
}

/**
 * Starts an embedded broker on 127.0.0.1 (ephemeral port unless given) with the test logins
 * ({@link testUsers}) unless `options.users` says otherwise.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBrokerHandle> {
  // Heart-beats of 500 ms instead of the broker's 10 s default: the suites check that they flow
  // and that a dead peer is detected within 2 intervals, which must not take 20 s.
  return EmbeddedBroker.start({ host: '127.0.0.1', port: 0, heartBeat: [500, 500], users: await testUsers(), ...options });
}

/** The broker for one test file: external ones as they are, an embedded one (with the test logins) started now. */
export async function startTestBroker(broker: BrokerDescriptor): Promise<TestBroker> {
  if (isExternal(broker)) return { descriptor: broker, stop: async () => undefined };
  const embedded = await startEmbeddedBroker();
  return { descriptor: { ...broker, host: embedded.host, port: embedded.port }, stop: () => embedded.stop() };
}
