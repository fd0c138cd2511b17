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

/** Runs `attempt` every `everyMs` until it reports success (true) or `stop()` is called. */
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
    this.#timer = setTimeout(() => void this.#run(), this.#everyMs);
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
 * drain ends: meanwhile their messages are still delivered and acknowledged on them.
 */
export class Drains<S extends DrainableSession> {
  readonly #drains = new Map<number, { readonly session: S; timer: NodeJS.Timeout | undefined }>();
  readonly #onDrained: (node: string) => void;

  /** @param onDrained called with the node's name once a drained session is closed. */
  constructor(onDrained: (node: string) => void) {
    this.#onDrained = onDrained;
  }

  /** The session of `generation` while it drains. */
  session(generation: number): S | undefined {
    return this.#drains.get(generation)?.session;
  }

  /**
   * Drains `session` for `ms`, then DISCONNECTs it; `ms` undefined: at once (nothing can arrive
   * on it). A session that ends by itself meanwhile is forgotten.
   */
  add(generation: number, session: S, ms: number | undefined): void {
    const drain: { readonly session: S; timer: NodeJS.Timeout | undefined } = { session, timer: undefined };
    this.#drains.set(generation, drain);
    session.onClose(() => {
      if (this.#drains.get(generation) === drain) this.#drains.delete(generation);
    });
    if (ms === undefined) {
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
    this.#onDrained(drain.session.name);
  }

  /** Ends every drain (the connection is closing). */
  async endAll(): Promise<void> {
    await Promise.all([...this.#drains.keys()].map((generation) => this.end(generation)));
  }
}
