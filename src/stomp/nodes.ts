import type { ResolvedOptions, StompNode } from './options.ts';

/**
 * How long a session whose subscriptions were not all confirmed must have lasted for its loss
 * to count as a fresh start. A broker that accepts CONNECT and then refuses a SUBSCRIBE (a queue
 * declared with another type, a right withdrawn), closing the session, would otherwise reset the
 * backoff at every attempt, and the connection would reconnect about ten times a second for as
 * long as the refusal lasts.
 */
export const STABLE_SESSION_MS = 5_000;

/**
 * The node list and its failover order: the first node (`listed`) or a random one (`random`) to
 * start, then round robin.
 * After every node of a round failed, the caller waits {@link NodeList.backoffMs} before the
 * next round; the delay grows geometrically and is reset by a session that lasted
 * {@link STABLE_SESSION_MS} (see {@link NodeList.lost}).
 */
export class NodeList {
  readonly #nodes: readonly StompNode[];
  readonly #reconnect: ResolvedOptions['reconnect'];
  readonly #random: () => number;
  #index: number;
  #failedInRound = 0;
  #round = 0;

  constructor(options: Pick<ResolvedOptions, 'nodes' | 'nodeOrder' | 'reconnect'>, random: () => number = Math.random) {
    this.#nodes = options.nodes;
    this.#reconnect = options.reconnect;
    this.#random = random;
    this.#index = options.nodeOrder === 'random' ? Math.floor(random() * this.#nodes.length) % this.#nodes.length : 0;
  }

  /** The position of {@link NodeList.current} in the list (0 = the first, the primary). */
  get index(): number {
    return this.#index;
  }

  /** The nodes listed before the current one, first first: where a failback may go. */
  get preferred(): readonly StompNode[] {
    return this.#nodes.slice(0, this.#index);
  }

  /** Makes node `index` the current one after a failback connected to it (a fresh round). */
  moveTo(index: number): void {
    this.#index = index;
    this.succeeded();
  }

  /** How many nodes there are. */
  get size(): number {
    return this.#nodes.length;
  }

  /** The node to try now. */
  get current(): StompNode {
    return this.#nodes[this.#index] as StompNode;
  }

  /** The connection to the current node worked: the next failure starts a fresh round. */
  succeeded(): void {
    this.#failedInRound = 0;
    this.#round = 0;
  }

  /**
   * The current node's session was lost: a failure like a refused connection, except that a
   * session that worked first resets the backoff. It worked when the broker confirmed every
   * subscription it restored (a session without any counts), or when it lasted
   * {@link STABLE_SESSION_MS}. Returns the delay before the next attempt, as {@link failed}.
   */
  lost(session: { readonly subscribed: boolean; readonly livedMs: number }): number {
    if (session.subscribed || session.livedMs >= STABLE_SESSION_MS) this.succeeded();
    return this.failed();
  }

  /**
   * The current node failed (or was lost): move to the next one. Returns the delay to wait before
   * trying it: 0 inside a round, the backoff once every node has failed in this round.
   */
  failed(): number {
    this.#index = (this.#index + 1) % this.#nodes.length;
    this.#failedInRound += 1;
    if (this.#failedInRound < this.#nodes.length) return 0;
    this.#failedInRound = 0;
    this.#round += 1;
    return this.backoffMs(this.#round);
  }

  /** Delay before round `round` (1-based): initial × multiplier^(round-1), capped, minus jitter. */
  backoffMs(round: number): number {
    const { initialDelayMs, maxDelayMs, multiplier, jitter } = this.#reconnect;
    const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, round - 1));
    return Math.round(base * (1 - jitter * this.#random()));
  }
}
