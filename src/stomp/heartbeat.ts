/**
 * STOMP heart-beats: the negotiation of STOMP 1.2 §Heart-beating, and the read watchdog that
 * declares a connection dead when nothing (not even a heart-beat EOL) arrived in time.
 *
 * stompit sends our heart-beats itself; its own read check waits up to two windows of
 * (interval + margin), which can exceed 2× the interval. The watchdog here checks four times per
 * interval and fires once `grace × interval` (default 1.5) passed without a byte, so a dead peer
 * is detected after at most (grace + 0.25) × interval < 2 × interval.
 *
 * The first heart-beat gets one interval more: ActiveMQ 5.17 sends its first one two intervals
 * after CONNECTED (measured: 806 ms at 400 ms, 2005 ms at 1 s), then one per interval.
 */

/** What each side promised, in ms; 0 means no heart-beats in that direction. */
export interface NegotiatedHeartBeat {
  /** How often we send (max of our `cx` and the broker's `sy`). */
  readonly outgoingMs: number;
  /** How often the broker sends (max of its `sx` and our `cy`); the watchdog's interval. */
  readonly incomingMs: number;
}

/** Parses a `heart-beat` header `sx,sy`; absent or malformed means `0,0` (STOMP 1.0). */
export function parseHeartBeatHeader(value: string | number | undefined): [number, number] {
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(String(value ?? ''));
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

/** Applies the negotiation rules to our wishes and the broker's CONNECTED `heart-beat` header. */
export function negotiateHeartBeat(
  ours: { readonly outgoingMs: number; readonly incomingMs: number },
  connectedHeader: string | number | undefined,
): NegotiatedHeartBeat {
  const [sx, sy] = parseHeartBeatHeader(connectedHeader);
  return {
    outgoingMs: ours.outgoingMs === 0 || sy === 0 ? 0 : Math.max(ours.outgoingMs, sy),
    incomingMs: ours.incomingMs === 0 || sx === 0 ? 0 : Math.max(ours.incomingMs, sx),
  };
}

/** Something that counts the bytes it read, as `net.Socket` does. */
export interface ByteCounter {
  readonly bytesRead: number;
}

/**
 * Calls `onDead(silentMs)` once when `source` read nothing for `grace × intervalMs`. Returns a
 * function that stops watching. Does nothing when `intervalMs` is 0.
 *
 * A silence seen by the timer is confirmed after pending I/O: when this process's own event loop
 * stalled (a long synchronous task, CPU starvation), timers run before the poll phase reads what
 * the peer sent meanwhile, so deciding at once would drop a live broker for our own stall. The
 * decision is taken in the check phase (`setImmediate`), after that read, as the embedded broker
 * does on its side (src/broker/heartbeat.ts).
 */
export function watchReads(
  source: ByteCounter,
  intervalMs: number,
  grace: number,
  onDead: (silentMs: number) => void,
): () => void {
  if (intervalMs <= 0) return () => undefined;
  const limit = grace * intervalMs;
  let lastCount = source.bytesRead;
  let lastChange = Date.now() + intervalMs; // the first heart-beat may come an interval late
  let stopped = false;
  let confirming = false;
  /** True (and the clock reset) when bytes arrived since the last look. */
  const readSince = (): boolean => {
    if (source.bytesRead === lastCount) return false;
    lastCount = source.bytesRead;
    lastChange = Date.now();
    return true;
  };
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
  };
  const confirm = (): void => {
    confirming = false;
    if (stopped || readSince()) return;
    const silentMs = Date.now() - lastChange;
    if (silentMs < limit) return;
    stop();
    onDead(silentMs);
  };
  const timer = setInterval(
    () => {
      if (readSince() || confirming || Date.now() - lastChange < limit) return;
      confirming = true;
      setImmediate(confirm);
    },
    Math.max(10, Math.floor(intervalMs / 4)),
  );
  timer.unref();
  return stop;
}
