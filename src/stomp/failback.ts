/**
 * Failback in `listed` node order: a connection that failed over to a node further down the
 * list tries the nodes listed before it every `failback.probeMs`, and moves back to the first
 * one that accepts a session (connection.ts does the move and drains the old session).
 *
 * Why: with independent brokers (two embedded ones) a connection must sit where the others do.
 * After the primary died and came back, a newly started client goes to the primary while
 * workers that failed over would stay on the backup for ever; probing brings everyone back to
 * the first reachable node within one probe interval.
 */

/**
 * Runs `attempt` every `everyMs` until it reports success (true) or `stop()` is called. The
 * attempts fall on multiples of `everyMs` of the clock, not `everyMs` after this connection's own
 * failover: the connections of every process of a host (a worker's consuming and publishing
 * connections, the workers, the clients) then probe together and move back within the same
 * moment, which keeps the time some sit on the backup while others are already back short.
 */
export class FailbackProbe {
  readonly #everyMs: number;
  readonly #attempt: () => Promise<boolean>;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(everyMs: number, attempt: () => Promise<boolean>) {
    this.#everyMs = everyMs;
    this.#attempt = attempt;
    this.#schedule();
  }

  /** Stops probing; an attempt already running finishes, but nothing is scheduled after it. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), this.#everyMs - (Date.now() % this.#everyMs));
    // A probe alone must not keep a process alive.
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    let moved = false;
    try {
      moved = await this.#attempt();
    } catch {
      // A failed probe is the normal case while the preferred node is down: try again later.
    }
    if (!moved) this.#schedule();
  }
}

/** What a drain needs of a session. */
export interface DrainableSession {
  readonly name: string;
  onClose(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * Sessions left behind by a failback, by the generation they were attached as, until their
 * drain ends. A drained session takes no new work: only replies to its reply queues are still
 * delivered from it, and the messages it delivered before the move are acknowledged on it. It is
 * closed as soon as none of those is unacknowledged and the connection has no reply queue
 * (nothing more can arrive that anyone waits for), else after `failback.drainMs`.
 *
 * Counts the unacknowledged messages of every generation, the current one included, since the
 * count at the moment of a failback decides whether its drain can end at once.
 */
export class Drains<S extends DrainableSession> {
  readonly #drains = new Map<number, { readonly session: S; readonly awaitReplies: boolean; timer: NodeJS.Timeout | undefined }>();
  readonly #unacked = new Map<number, number>();
  readonly #onDrained: (node: string) => void;

  /** @param onDrained called with the node's name once a drained session is closed. */
  constructor(onDrained: (node: string) => void) {
    this.#onDrained = onDrained;
  }

  /** The session of `generation` while it drains. */
  session(generation: number): S | undefined {
    return this.#drains.get(generation)?.session;
  }

  /** A message that needs an ACK or NACK was delivered from `generation`. */
  delivered(generation: number): void {
    this.#unacked.set(generation, (this.#unacked.get(generation) ?? 0) + 1);
  }

  /**
   * An ACK or NACK of a message of `generation` went out; `cumulative` (ack mode `client`) settles
   * every earlier one too. Ends that generation's drain when it was the last one it waited for.
   */
  acknowledged(generation: number, cumulative: boolean): void {
    const left = cumulative ? 0 : Math.max(0, (this.#unacked.get(generation) ?? 0) - 1);
    this.#unacked.set(generation, left);
    const drain = this.#drains.get(generation);
    if (left === 0 && drain !== undefined && !drain.awaitReplies) void this.end(generation);
  }

  /** `generation` is over (its session was lost): its messages come back from the broker. */
  forget(generation: number): void {
    this.#unacked.delete(generation);
  }

  /**
   * Drains `session`: ended once nothing it delivered is unacknowledged, unless `awaitReplies`
   * (the connection has reply queues), and after `ms` at the latest. A session that ends by
   * itself meanwhile is forgotten.
   */
  add(generation: number, session: S, ms: number, awaitReplies: boolean): void {
    const drain = { session, awaitReplies, timer: undefined as NodeJS.Timeout | undefined };
    this.#drains.set(generation, drain);
    session.onClose(() => {
      if (this.#drains.get(generation) === drain) this.#drains.delete(generation);
      this.forget(generation);
    });
    if (!awaitReplies && (this.#unacked.get(generation) ?? 0) === 0) {
      void this.end(generation);
      return;
    }
    drain.timer = setTimeout(() => void this.end(generation), ms);
    drain.timer.unref();
  }

  /** Ends the drain of `generation` now: DISCONNECT, then `onDrained`. */
  async end(generation: number): Promise<void> {
    const drain = this.#drains.get(generation);
    if (drain === undefined) return;
    this.#drains.delete(generation);
    clearTimeout(drain.timer);
    await drain.session.close();
    this.forget(generation);
    this.#onDrained(drain.session.name);
  }

  /** Ends every drain (the connection is closing). */
  async endAll(): Promise<void> {
    await Promise.all([...this.#drains.keys()].map((generation) => this.end(generation)));
  }
}
