import { maskPan } from '../../src/wire/index.ts';
import { exchange, type CallCounter, type Endpoint, type SendMalformed } from './exchange.ts';
import { defaultKnobs, type SandboxKnobs } from './knobs.ts';
import { HttpsListener } from './listener.ts';
import { FaultDice } from './rates.ts';

/**
 * `startSandbox`: what every provider sandbox's `start…Sandbox` does around its own API — the
 * HTTPS listener, the exchange with its knobs, the call counters, the masked log — and the
 * handle members they share. A provider adds its own members (credentials, …) through `extra`.
 */

/** How many log lines `logLines` keeps (oldest dropped first). */
export const LOG_LINES_KEPT = 1000;

/** The handle members every sandbox has. */
export interface SandboxHandle<Knobs, Entry> {
  /** The endpoint's URL. */
  readonly url: string;
  /** Every money movement so far, oldest first (a snapshot; card numbers masked). */
  readonly ledger: readonly Entry[];
  /** The failure knobs; set fields directly. */
  readonly knobs: Knobs;
  /** Requests received: all of them, and per operation (a snapshot). */
  readonly calls: Readonly<CallCounter>;
  /** The sandbox's log lines, oldest first (masked). */
  readonly logLines: readonly string[];
  /** Whether it is down (not listening). */
  readonly isDown: boolean;
  /** Stops listening and cuts every connection: calls get ECONNREFUSED until {@link up}. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Clears the provider's state, the counters and the log, and restores the default knobs. */
  reset(): void;
  /** Stops for good. */
  close(): Promise<void>;
}

/** The resolved options every sandbox has. */
export interface SandboxServerOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly tls: { cert: string; key: string };
  readonly log?: ((line: string) => void) | undefined;
}

/** What a provider hands {@link startSandbox}. */
export interface SandboxSetup<Malformed extends string, Entry> {
  /** The log lines' prefix, e.g. `paypal-sandbox`. */
  readonly name: string;
  readonly options: SandboxServerOptions;
  readonly endpoint: Endpoint;
  readonly sendMalformed: SendMalformed<Malformed>;
  /** The money movements: `ledger` snapshots them, `clear` (run first by `reset`) empties them. */
  readonly book: { ledger(): readonly Entry[]; clear(): void };
  /** The API behind the endpoint: `reset` (run by `reset`, after the book's) forgets its idempotency memory. */
  readonly api: { reset(): void };
}

/**
 * The context one call sees: the live one, or, when the rates draw a fault for it, one whose
 * knobs are a copy with that fault set (a fixed `failStatus` or `hang` already set wins). The
 * draw happens when the call arrives, once, so each call meets at most one drawn fault.
 */
function withDrawnFault<C extends { readonly knobs: SandboxKnobs<string> }>(context: C, dice: FaultDice): C {
  const { knobs } = context;
  const fault = dice.draw(knobs);
  if (fault.kind === 'fail' && knobs.failStatus === null) return { ...context, knobs: { ...knobs, failStatus: fault.status } };
  if (fault.kind === 'hang' && knobs.hang === null) return { ...context, knobs: { ...knobs, hang: 'after-charge' } };
  return context;
}

/**
 * Starts listening and returns the handle: `extra`'s members (getters kept as getters) after
 * `url` and before the shared ones.
 */
export async function startSandbox<Malformed extends string, Entry, Extra extends object>(
  setup: SandboxSetup<Malformed, Entry>,
  extra: Extra,
): Promise<SandboxHandle<SandboxKnobs<Malformed>, Entry> & Extra> {
  const { options } = setup;
  const knobs = defaultKnobs<Malformed>();
  const calls: CallCounter = { total: 0, byOperation: {} };
  const lines: string[] = [];
  const log = (line: string): void => {
    const masked = maskPan(`${setup.name} ${line}`);
    lines.push(masked);
    if (lines.length > LOG_LINES_KEPT) lines.shift();
    options.log?.(masked);
  };
  const context = { endpoint: setup.endpoint, knobs, calls, log, sendMalformed: setup.sendMalformed };
  const dice = new FaultDice();
  const listener = new HttpsListener(options.host, options.port, options.tls, (req, res) => void exchange(req, res, withDrawnFault(context, dice)));
  await listener.start();
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closed = false;
  const shared: Omit<SandboxHandle<SandboxKnobs<Malformed>, Entry>, 'url'> = {
    get ledger() { return setup.book.ledger(); },
    knobs,
    get calls() { return { total: calls.total, byOperation: { ...calls.byOperation } }; },
    get logLines() { return [...lines]; },
    get isDown() { return !listener.listening; },
    down: () => listener.stop(),
    async up() {
      if (closed) throw new Error('the sandbox is closed');
      await listener.start();
    },
    reset() {
      setup.book.clear();
      setup.api.reset();
      Object.assign(knobs, defaultKnobs<Malformed>());
      dice.restart();
      calls.total = 0;
      calls.byOperation = {};
      lines.length = 0;
    },
    async close() {
      closed = true;
      await listener.stop();
    },
  };
  return Object.defineProperties({ url: `https://${host}:${listener.port}${options.path}` }, {
    ...Object.getOwnPropertyDescriptors(extra),
    ...Object.getOwnPropertyDescriptors(shared),
  }) as SandboxHandle<SandboxKnobs<Malformed>, Entry> & Extra;
}
