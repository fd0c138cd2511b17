/**
 * Heart-beat negotiation (STOMP 1.1+ §Heart-beating) and the per-connection timers.
 */

/** Negotiated intervals from the broker's point of view, in ms; 0 = off. */
export interface HeartBeat {
  /** We send something (a frame or an EOL) at least this often. */
  readonly send: number;
  /** The client promised to send at least this often; silence for twice as long ends the connection. */
  readonly receive: number;
}

/**
 * `clientHeader` is the CONNECT `heart-beat` (cx,cy: what the client can send, what it wants);
 * `offer` is ours [sx, sy]. Each direction is the larger of the two wishes, or off when either side says 0.
 */
export function negotiateHeartBeat(clientHeader: string | undefined, offer: readonly [number, number]): HeartBeat | undefined {
  if (clientHeader === undefined || clientHeader === '') return { send: 0, receive: 0 };
  const match = /^\s*(\d{1,9})\s*,\s*(\d{1,9})\s*$/.exec(clientHeader);
  if (!match) return undefined;
  const cx = Number(match[1]);
  const cy = Number(match[2]);
  const [sx, sy] = offer;
  return { send: sx === 0 || cy === 0 ? 0 : Math.max(sx, cy), receive: sy === 0 || cx === 0 ? 0 : Math.max(sy, cx) };
}

export interface HeartBeatHooks {
  /** Ms since the epoch when the client last sent a byte. */
  lastRead(): number;
  /** True when we wrote anything since the previous call (the call resets it). */
  wroteSinceLastCheck(): boolean;
  /** Write one EOL. */
  beat(): void;
  /** The client has been silent too long: twice its heart-beat interval, or `idleTimeout` without heart-beats. */
  silent(deadline: number): void;
}

/**
 * Runs the timers of one connection; `stop()` on close. Without client heart-beats the same
 * silence check runs with `idleTimeout` as its deadline: a connection that promised nothing must
 * not stay open for ever on nothing.
 */
export class HeartBeatTimers {
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(heartBeat: HeartBeat, hooks: HeartBeatHooks, idleTimeout: number) {
    if (heartBeat.send > 0) {
      // Checking twice per interval keeps the longest gap between our writes near one interval.
      this.#every(heartBeat.send / 2, () => {
        if (!hooks.wroteSinceLastCheck()) hooks.beat();
      });
    }
    const deadline = heartBeat.receive > 0 ? 2 * heartBeat.receive : idleTimeout;
    this.#every(Math.max(deadline / 8, 10), () => {
      // After a stall of this process's own event loop, timers fire before the poll phase reads
      // what peers sent meanwhile: checking now would drop a live peer for our stall. The check
      // phase (setImmediate) runs after that read.
      setImmediate(() => {
        if (!this.#stopped && Date.now() - hooks.lastRead() > deadline) hooks.silent(deadline);
      });
    });
  }

  #every(ms: number, tick: () => void): void {
    const timer = setInterval(tick, Math.max(1, Math.floor(ms)));
    timer.unref();
    this.#timers.push(timer);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
  }
}
