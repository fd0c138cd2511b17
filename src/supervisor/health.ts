/**
 * The pool's health as /healthz reports it. `ok`: every slot has a subscribed worker whose
 * broker connection is up. `degraded`: at least one is, not all (a worker restarting, a broker
 * failing over) — still serving, so HTTP 200. `down`: none is, or the gateway is stopping — 503,
 * so a load balancer or orchestrator stops counting on it.
 */
import type { HealthReport } from './status-server.ts';

interface PoolState {
  readonly phase: 'starting' | 'running' | 'stopping' | 'stopped';
  readonly desired: number;
  readonly workers: readonly { readonly slot: number; readonly pid: number; readonly workerId: string | undefined; readonly state: string; readonly inFlight: number; readonly brokerConnected: boolean }[];
  readonly recentRestarts: number;
  readonly reloading: boolean;
}

/** The /healthz document. */
export interface PoolHealth extends HealthReport {
  readonly phase: PoolState['phase'];
  readonly workers: { readonly desired: number; readonly serving: number; readonly processes: PoolState['workers'] };
  readonly broker: 'connected' | 'partly connected' | 'disconnected';
  readonly restartsInWindow: number;
  readonly reloading: boolean;
}

export function healthOf(pool: PoolState): PoolHealth {
  const serving = pool.workers.filter((w) => w.state === 'ready' && w.brokerConnected).length;
  const ready = pool.workers.filter((w) => w.state === 'ready');
  const connected = ready.filter((w) => w.brokerConnected).length;
  const status = pool.phase !== 'running' || serving === 0 ? 'down' : serving >= pool.desired ? 'ok' : 'degraded';
  return {
    status,
    phase: pool.phase,
    workers: { desired: pool.desired, serving, processes: pool.workers },
    broker: connected === 0 ? 'disconnected' : connected === ready.length ? 'connected' : 'partly connected',
    restartsInWindow: pool.recentRestarts,
    reloading: pool.reloading,
  };
}
