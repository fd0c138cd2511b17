/**
 * The options of `paygate demo` and every tunable number of the demo, validated and defaulted in
 * one place. The numbers are chosen for a 2-core laptop: a breaker that opens after a couple of
 * failures and closes again within seconds, so the outage step shows both without a long wait.
 */
import * as z from 'zod';

/** The command line, as commander hands it over (`--no-tour` arrives as `tour: false`). */
export const demoOptionsSchema = z.strictObject({
  /** Key algorithm of the throw-away certificates. */
  algo: z.enum(['ec', 'rsa']).default('ec'),
  /** Folder for everything the demo writes; a fresh `os.tmpdir()/paygate-demo-*` when absent. */
  dir: z.string().min(1).optional(),
  /** Keep the folder after the demo (it is always kept with `--serve`). */
  keep: z.boolean().default(false),
  /** Keep everything running after the tour and print how to connect, until Ctrl-C. */
  serve: z.boolean().default(false),
  /** Run the scripted tour (`--no-tour` only makes sense with `--serve`). */
  tour: z.boolean().default(true),
  /** Print a JSON summary on stdout instead of the table; progress goes to stderr. */
  json: z.boolean().default(false),
  /** Gateway logs at level info on stderr instead of level warn into `gateway.log`. */
  verbose: z.boolean().default(false),
});

/** What the command passes in. */
export type DemoOptionsInput = z.input<typeof demoOptionsSchema>;
/** The options after defaults. */
export type DemoOptions = z.output<typeof demoOptionsSchema>;

/** The demo's fixed settings: what the gateway config, the sandboxes and the tour use. */
export const DEMO_SETTINGS = Object.freeze({
  /** Worker processes the supervisor runs: two, so that one can be killed while the other answers. */
  workers: 2,
  /** Everything listens on loopback only. */
  host: '127.0.0.1',
  /** The breaker of every provider: opens once at least half of two or more calls failed… */
  breaker: Object.freeze({ errorThresholdPercentage: 50, volumeThreshold: 2, rollingWindowMs: 10_000, rollingBuckets: 10 }),
  /** …and lets a trial call through after this long. Short, so the tour waits only seconds. */
  breakerResetMs: 4_000,
  /** Deadline of one call from a worker to a sandbox. */
  providerTimeoutMs: 5_000,
  /** The SDK's reply timeout for tour requests (the kill step waits for a redelivery). */
  requestTimeoutMs: 20_000,
  /** Sandbox latency during the kill step, so the request is surely in flight when its worker dies. */
  killLatencyMs: 1_500,
  /** How long the kill step waits for a worker to report the request in flight. */
  inFlightWaitMs: 5_000,
  /** How long the kill step waits for the supervisor to bring the killed worker back. */
  restartWaitMs: 30_000,
  /** After the kill step's reply, how long to listen for a late duplicate. */
  lateReplyWindowMs: 750,
  /** Breaker refusals in a row that show every worker's breaker is open (two workers, taking turns). */
  consecutiveRefusals: 4,
  /** How long the outage step waits for /metrics to show every worker's breaker open (workers report every 250 ms). */
  metricsWaitMs: 2_000,
  /** Requests the outage step sends at most before it gives up on seeing the breakers open. */
  maxOutageRequests: 40,
  /** How long `supervisor.stop()` lets in-flight requests finish. */
  drainGraceMs: 10_000,
  /** How long the SDK gateway waits for in-flight replies when the demo closes it. */
  sdkCloseMs: 2_000,
  /** How often the feed server signs a checkpoint of the audit and payments feeds. */
  feedCheckpointInterval: '10s',
  /** After the tour, how long the report waits for the last events to be stored in the feed. */
  feedSettleMs: 10_000,
});

/** The test payment data of the tour (documented test cards of each sandbox's README). */
export const DEMO_DATA = Object.freeze({
  /** CardGate: approved (AVS Y). */
  approvedCard: '4111111111111111',
  /** CardGate: `05` do not honor → declined `DO_NOT_HONOR`. */
  declinedCard: '4000000000000002',
  /** PayPal NVP: approved (Visa). */
  paypalCard: '4111111111111111',
  /** Gift card 100.00 EUR, PIN 1234. */
  giftcard: Object.freeze({ number: '6036280000000011', pin: '1234' }),
  cvc: '123',
  currency: 'EUR',
});
