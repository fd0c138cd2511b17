/**
 * The pool's health as /healthz reports it. `ok`: every slot has a subscribed worker whose
 * broker connection is up. `degraded`: at least one is, not all (a worker restarting, a broker
 * failing over) — still serving, so HTTP 200. `down`: none is, or the gateway is stopping — 503,
 * so a load balancer or orchestrator stops counting on it. A gateway whose broker is not up yet
 * is `down` with `broker: unreachable` and the broker's refusal in `brokerError`: it is waiting,
 * not failing, and serves as soon as the broker is back. A worker whose idempotency store fails
 * writes (a full disk) answers every request with a retryable error: it does not count as
 * serving, and `store: failing` with `storeError` says why.
 */
import type { HealthReport } from './status-server.ts';

interface PoolState {
  readonly phase: 'starting' | 'running' | 'stopping' | 'stopped';
  readonly desired: number;
  readonly workers: readonly {
    readonly slot: number;
    readonly pid: number;
    readonly workerId: string | undefined;
    readonly state: string;
    readonly inFlight: number;
    readonly brokerConnected: boolean;
    readonly waitingForBroker?: { readonly node: string; readonly code: string; readonly message: string };
    readonly storeFailure?: { readonly code: string; readonly message: string };
  }[];
  readonly recentRestarts: number;
  readonly reloading: boolean;
}

/** The /healthz document. */
export interface PoolHealth extends HealthReport {
  readonly phase: PoolState['phase'];
  readonly workers: { readonly desired: number; readonly serving: number; readonly processes: PoolState['workers'] };
  /** `unreachable`: no worker is connected and some are waiting for the broker (`brokerError` says why). */
  readonly broker: 'connected' | 'partly connected' | 'disconnected' | 'unreachable';
  /** The last failed attempt of a worker waiting for the broker, when `broker` is `unreachable`. */
  readonly brokerError?: string;
  /** `failing`: some worker's idempotency store fails writes (those workers refuse every request, and do not count as serving). */
  readonly store: 'ok' | 'failing';
  /** A failing worker's last store failure, when `store` is `failing`. */
  readonly storeError?: string;
  readonly restartsInWindow: number;
  readonly reloading: boolean;
}

export function healthOf(pool: PoolState): PoolHealth {
  const serving = pool.workers.filter((w) => w.state === 'ready' && w.brokerConnected && w.storeFailure === undefined).length;
  const storeFailure = pool.workers.find((w) => w.storeFailure !== undefined)?.storeFailure;
  const ready = pool.workers.filter((w) => w.state === 'ready');
  const connected = ready.filter((w) => w.brokerConnected).length;
  const status = pool.phase !== 'running' || serving === 0 ? 'down' : serving >= pool.desired ? 'ok' : 'degraded';
  const wait = pool.workers.find((w) => w.waitingForBroker !== undefined)?.waitingForBroker;
  const unreachable = connected === 0 && wait !== undefined;
  return {
    status,
    phase: pool.phase,
    workers: { desired: pool.desired, serving, processes: pool.workers },
    broker: unreachable ? 'unreachable' : connected === 0 ? 'disconnected' : connected === ready.length ? 'connected' : 'partly connected',
    ...(unreachable ? { brokerError: `${wait.node}: ${wait.code}: ${wait.message}` } : {}),
    store: storeFailure === undefined ? 'ok' : 'failing',
    ...(storeFailure === undefined ? {} : { storeError: `${storeFailure.code}: ${storeFailure.message}` }),
    restartsInWindow: pool.recentRestarts,
    reloading: pool.reloading,
  };
}
