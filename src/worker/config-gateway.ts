/**
 * The `gateway:` part of the configuration file (config.ts): how `paygate gateway` runs its pool
 * of worker processes: how many, the status HTTP endpoint, the drain grace period and
 * the restart policy. A lone `paygate worker` validates the section and ignores it, so one file
 * serves both commands.
 *
 * Kept apart from config.ts only for size; the rules are the same (messages name keys, never a
 * value). Durations are written like the rest of the file: `500ms`, `30s`, `5m`.
 */
import { z } from 'zod';
import { durationSchema } from './config-duration.ts';

/** `500ms`, `30s`, `5m`, `1h` (config-duration.ts), at most a day. */
const duration = durationSchema.pipe(z.number().max(24 * 3_600_000));

/** The status endpoint: loopback by default, because /metrics and /healthz carry no authentication. */
const httpSchema = z.union([
  z.literal(false),
  z.strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9464),
  }),
]);

const restartSchema = z.strictObject({
  /** The first restart of a worker waits this long; each further one within `within` doubles it. */
  backoff_initial: duration.default(500),
  /** The longest wait between restarts. */
  backoff_max: duration.default(30_000),
  /** More than this many restarts within `within` and the supervisor gives up (exits non-zero). */
  max_restarts: z.number().int().nonnegative().default(5),
  within: duration.refine((ms) => ms > 0).default(60_000),
});

/** The section's schema (snake_case, as written); every default of the pool is here. */
export const gatewaySectionSchema = z
  .strictObject({
    workers: z.number().int().min(1).max(64).default(2),
    http: httpSchema.default({ host: '127.0.0.1', port: 9464 }),
    /** On SIGTERM, how long workers may take to finish what they hold. */
    drain_grace: duration.default(30_000),
    /** How long a new worker may take to load its plugins, connect and subscribe. */
    ready_timeout: duration.refine((ms) => ms > 0).default(30_000),
    restart: restartSchema.default(() => restartSchema.parse({})),
  })
  .default(() => ({ workers: 2, http: { host: '127.0.0.1', port: 9464 }, drain_grace: 30_000, ready_timeout: 30_000, restart: restartSchema.parse({}) }));

/** The resolved `gateway:` section (defaults filled in, milliseconds). */
export interface GatewaySettings {
  readonly workers: number;
  /** `undefined`: no status endpoint (`http: false`). */
  readonly http: { readonly host: string; readonly port: number } | undefined;
  readonly drainGraceMs: number;
  readonly readyTimeoutMs: number;
  readonly restart: {
    readonly backoffInitialMs: number;
    readonly backoffMaxMs: number;
    readonly maxRestarts: number;
    readonly withinMs: number;
  };
}

/** The section as {@link GatewaySettings}. */
export function resolveGatewaySection(section: z.output<typeof gatewaySectionSchema>): GatewaySettings {
  return {
    workers: section.workers,
    http: section.http === false ? undefined : { host: section.http.host, port: section.http.port },
    drainGraceMs: section.drain_grace,
    readyTimeoutMs: section.ready_timeout,
    restart: {
      backoffInitialMs: section.restart.backoff_initial,
      backoffMaxMs: Math.max(section.restart.backoff_max, section.restart.backoff_initial),
      maxRestarts: section.restart.max_restarts,
      withinMs: section.restart.within,
    },
  };
}

const DURATION_EXPECT = 'a duration such as 500ms, 30s, 5m or 1h';
const DURATION_FIX = 'write a whole number followed by ms, s, m or h';

/** What each key of the section expects and how to fix it (config.ts's CONFIG_KEYS includes these). */
export const GATEWAY_CONFIG_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  gateway: { expect: 'a mapping (workers, http, drain_grace, ready_timeout, restart)', fix: 'see "Gateway configuration" in docs/operations.md' },
  'gateway.workers': { expect: 'an integer 1–64', fix: 'set how many worker processes the gateway runs' },
  'gateway.http': { expect: 'a mapping (host, port), or false', fix: 'give the status endpoint as {host, port}, or false to turn it off' },
  'gateway.http.host': { expect: 'a host name or address', fix: 'keep 127.0.0.1 unless a scraper elsewhere must reach it' },
  'gateway.http.port': { expect: 'an integer 0–65535 (0: any free port)', fix: 'set the port of /healthz and /metrics' },
  'gateway.drain_grace': { expect: DURATION_EXPECT, fix: `${DURATION_FIX} (how long SIGTERM waits for in-flight requests)` },
  'gateway.ready_timeout': { expect: `${DURATION_EXPECT}, above 0`, fix: `${DURATION_FIX} (how long a new worker may take to subscribe)` },
  'gateway.restart': { expect: 'a mapping (backoff_initial, backoff_max, max_restarts, within)', fix: 'see "Restarts" in docs/operations.md' },
  'gateway.restart.backoff_initial': { expect: DURATION_EXPECT, fix: DURATION_FIX },
  'gateway.restart.backoff_max': { expect: DURATION_EXPECT, fix: DURATION_FIX },
  'gateway.restart.max_restarts': { expect: 'an integer ≥ 0', fix: 'set how many restarts within `within` are tolerated' },
  'gateway.restart.within': { expect: `${DURATION_EXPECT}, above 0`, fix: DURATION_FIX },
});
