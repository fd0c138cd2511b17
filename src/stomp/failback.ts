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
