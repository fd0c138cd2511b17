/**
 * The demo's world, started in-process and torn down in reverse: a folder, throw-away
 * certificates (src/certs, as `paygate certs init`), the embedded broker on a free port, the
 * three provider sandboxes (in-process, so the tour can turn their knobs and read their
 * ledgers), the gateway's config file, the supervisor with its worker processes, and the typed
 * SDK gateway the tour uses. Everything listens on 127.0.0.1 only.
 *
 * Each part, once started, registers how to stop it; `close()` stops what was started, in
 * reverse order, whatever state `start()` reached (a failure or Ctrl-C half-way included).
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import giftcard from '../../../providers/giftcard/index.ts';
import { startGiftcardSandbox } from '../../../providers/giftcard/sandbox/index.ts';
import card from '../../../providers/card/index.ts';
import { startCardSandbox } from '../../../providers/card/sandbox/index.ts';
import paypal from '../../../providers/paypal/index.ts';
import { startPaypalSandbox } from '../../../providers/paypal/sandbox/index.ts';
import { EmbeddedBroker } from '../../broker/index.ts';
import { writeDevPki, type KeySpec } from '../../certs/devca.ts';
import { createGateway, type Gateway } from '../../client/index.ts';
import type { EventsConsumer } from '../../feed/events-consumer.ts';
import type { FeedStore } from '../../feed/index.ts';
import { actionLogger, createLogger } from '../../logging.ts';
import { Supervisor } from '../../supervisor/index.ts';
import { unwritable } from '../errors.ts';
import { loadFeedConfig, tokenSha256 } from '../feed-config.ts';
import { startFeedService } from '../feed-service.ts';
import { DemoError, setupFailure } from './errors.ts';
import { layoutOf, writeClientFiles, writeFeedConfig, writeGatewayConfig, type DemoLayout, type DemoProvider, type SandboxEndpoint } from './files.ts';
import { DEMO_SETTINGS, type DemoOptions } from './options.ts';
import type { Progress } from './report.ts';
import type { DemoPlugins, TourContext } from './tour.ts';

/** The running parts, once `start()` resolved. */
export interface DemoParts {
  readonly layout: DemoLayout;
  readonly broker: EmbeddedBroker;
  readonly sandboxes: TourContext['sandboxes'];
  readonly supervisor: Supervisor;
  readonly gateway: Gateway<DemoPlugins>;
  /** `http://127.0.0.1:PORT` of /healthz and /metrics. */
  readonly statusUrl: string | undefined;
  readonly feed: DemoFeed;
}

/** The demo's feed server: where it serves, the token printed for the user, its store and consumer. */
export interface DemoFeed {
  readonly url: string;
  readonly token: string;
  readonly store: FeedStore;
  readonly consumer: EventsConsumer | undefined;
}

/** One way to stop a started part. */
interface Teardown {
  readonly part: string;
  readonly stop: () => Promise<void> | void;
}

/**
 * The demo folder: a fresh temp one, or `--dir` (created when missing, refused when not empty).
 * @throws CliError `FILE_UNWRITABLE` when `--dir` cannot be created or written (a file, a path
 *   through a file, permissions); DemoError `DEMO_DIR_NOT_EMPTY`.
 */
function prepareDir(requested: string | undefined): { dir: string; created: boolean } {
  if (requested === undefined) return { dir: mkdtempSync(join(tmpdir(), 'paygate-demo-')), created: true };
  const dir = resolve(requested);
  let entries: string[] | undefined;
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    else entries = readdirSync(dir);
    // Checked now: the first write (the certificates) would otherwise fail as a setup failure.
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw unwritable('--dir', requested, error);
  }
  if (entries === undefined) return { dir, created: true };
  if (entries.length > 0) {
    throw new DemoError('DEMO_DIR_NOT_EMPTY', `${dir} is not empty: give --dir a new or empty folder (the demo writes keys there and cleans it up)`);
  }
  return { dir, created: false };
}

/** A credential for one run: the sandboxes accept exactly what the gateway config says. */
const secret = (): string => randomBytes(12).toString('base64url');

/** Starts and stops the demo's world; see the module comment. */
export class DemoEnvironment {
  readonly #options: DemoOptions;
  readonly #progress: Progress;
  readonly #teardowns: Teardown[] = [];
  #closing: Promise<string[]> | undefined;
  #aborted = false;
  #layout: DemoLayout | undefined;
  #dirCreated = false;
  #target: { logger: Logger; fd: number; level: 'info' | 'warn' } | undefined;

  constructor(options: DemoOptions, progress: Progress) {
    this.#options = options;
    this.#progress = progress;
  }

  /** The demo folder, once chosen. */
  get dir(): string | undefined {
    return this.#layout?.dir;
  }

  /**
   * Starts every part, reporting progress.
   *
   * @throws DemoError `DEMO_DIR_NOT_EMPTY`, `DEMO_SETUP_FAILED` naming the part that failed,
   *   `DEMO_INTERRUPTED` after `abort()` (Ctrl-C); CliError `FILE_UNWRITABLE` for `--dir`.
   *   Either way, call `close()` afterwards.
   */
  async start(): Promise<DemoParts> {
    const folder = prepareDir(this.#options.dir);
    this.#dirCreated = folder.created;
    const layout = layoutOf(folder.dir);
    this.#layout = layout;
    this.#progress.heading(`paygate demo: setting up in ${layout.dir}`);
    await this.#part('certificates', async () => {
      const spec: KeySpec = this.#options.algo === 'ec' ? { algo: 'ec' } : { algo: 'rsa', bits: 2048 };
      await writeDevPki(layout.certsDir, spec);
      return [undefined, `${spec.algo === 'ec' ? 'EC P-256' : 'RSA 2048'} CA, gateway, client, feed and TLS identities in ${layout.certsDir}`];
    });
    const broker = await this.#part('broker', async () => {
      const started = await EmbeddedBroker.start({ host: DEMO_SETTINGS.host, port: 0 });
      this.#onClose('broker', () => started.stop());
      return [started, `embedded STOMP broker on ${started.url}`];
    });
    const feed = await this.#part('feed server', () => this.#startFeed(layout, broker.port));
    const sandboxes = await this.#part('sandboxes', () => this.#startSandboxes(layout));
    await this.#part('gateway config', () => {
      writeGatewayConfig(layout, { brokerPort: broker.port, sandboxes: sandboxes.endpoints, feedRecipient: 'certs/feed.crt' });
      writeClientFiles(layout, broker.port);
      return Promise.resolve([undefined, `${layout.gatewayConfig} (${DEMO_SETTINGS.workers} workers, breaker reset ${DEMO_SETTINGS.breakerResetMs / 1000} s)`]);
    });
    const supervisor = await this.#part('gateway', () => this.#startSupervisor(layout));
    const gateway = await this.#part('SDK', async () => {
      const started = await this.#startSdk(layout, broker.port);
      return [started, `typed SDK connected (createGateway with card, paypal, giftcard)`];
    });
    return { layout, broker, sandboxes: sandboxes.running, supervisor, gateway, statusUrl: supervisor.statusUrl, feed };
  }

  /**
   * Asks `start()` to stop at the next part (Ctrl-C): a part being started is let finish, so that
   * it is registered and `close()` stops it, rather than left half-started.
   */
  abort(): void {
    this.#aborted = true;
  }

  /** Runs one part with progress lines; a failure becomes `DEMO_SETUP_FAILED` naming it. */
  async #part<T>(part: string, start: () => Promise<[T, string]>): Promise<T> {
    if (this.#aborted) throw new DemoError('DEMO_INTERRUPTED', `interrupted while setting up (before the ${part})`);
    this.#progress.partStart(part);
    const started = performance.now();
    let value: T;
    let what: string;
    try {
      [value, what] = await start();
    } catch (error) {
      throw setupFailure(part, error);
    }
    // Ctrl-C while this part started: it is registered, so close() stops it.
    if (this.#aborted) throw new DemoError('DEMO_INTERRUPTED', `interrupted while setting up the ${part}`);
    this.#progress.partDone(part, what, performance.now() - started);
    return value;
  }

  /** Registers how to stop a part; if `close()` already ran, stops it now. */
  #onClose(part: string, stop: () => Promise<void> | void): void {
    if (this.#closing === undefined) {
      this.#teardowns.push({ part, stop });
      return;
    }
    void Promise.resolve()
      .then(stop)
      .catch(() => undefined);
  }

  /**
   * The feed server, as `paygate feed --config feed.yaml` runs it, in-process: the gateway's
   * events arrive on the broker, the user reads them over HTTP with the token printed at the end.
   * Started before the gateway and stopped after it, so that the workers' last events are stored.
   */
  async #startFeed(layout: DemoLayout, brokerPort: number): Promise<[DemoFeed, string]> {
    const token = randomBytes(32).toString('base64url');
    writeFeedConfig(layout, { brokerPort, tokenSha256: tokenSha256(token) });
    const service = await startFeedService(loadFeedConfig(layout.feedConfig), actionLogger(this.#logTarget(layout).logger));
    this.#onClose('feed server', () => service.stop());
    await service.consuming;
    return [{ url: service.url, token, store: service.store, consumer: service.consumer }, `${service.url} (Atom feeds audit and payments, from the events queue; ${layout.feedStore})`];
  }

  async #startSandboxes(layout: DemoLayout) {
    const tls = { cert: readFileSync(join(layout.certsDir, 'tls.crt'), 'utf8'), key: readFileSync(join(layout.certsDir, 'tls.key'), 'utf8') };
    const cardCredentials = { username: 'demo-merchant', password: secret() };
    const paypalCredentials = { user: 'demo_api1.paygate.test', pwd: secret(), signature: secret() };
    const apiKey = `gc-${secret()}`;
    const [cardSandbox, paypalSandbox, giftcardSandbox] = await Promise.all([
      startCardSandbox({ tls, ...cardCredentials }).then((s) => (this.#onClose('card sandbox', () => s.close()), s)),
      startPaypalSandbox({ tls, credentials: paypalCredentials }).then((s) => (this.#onClose('paypal sandbox', () => s.close()), s)),
      startGiftcardSandbox({ tls, apiKey }).then((s) => (this.#onClose('giftcard sandbox', () => s.close()), s)),
    ]);
    const endpoints: Record<DemoProvider, SandboxEndpoint> = {
      card: { url: cardSandbox.url, options: cardCredentials },
      paypal: { url: paypalSandbox.url, options: paypalCredentials },
      giftcard: { url: giftcardSandbox.url, options: { api_key: apiKey } },
    };
    const what = `card ${cardSandbox.url} (SOAP), paypal ${paypalSandbox.url} (NVP), giftcard ${giftcardSandbox.url} (XML)`;
    return [{ running: { card: cardSandbox, paypal: paypalSandbox, giftcard: giftcardSandbox }, endpoints }, what] as [
      { running: DemoParts['sandboxes']; endpoints: Record<DemoProvider, SandboxEndpoint> },
      string,
    ];
  }

  /**
   * Where the gateway logs: the supervisor's and its workers' lines at warn and up into
   * gateway.log, or (`--verbose`) at info and up on stderr (stdout stays the demo's own, and
   * pure JSON with `--json`).
   */
  #logTarget(layout: DemoLayout): { logger: Logger; fd: number; level: 'info' | 'warn' } {
    if (this.#target !== undefined) return this.#target;
    if (this.#options.verbose) {
      this.#target = { logger: createLogger({ name: 'paygate-demo', level: 'info', destination: 2 }), fd: 2, level: 'info' };
      return this.#target;
    }
    const fd = openSync(layout.gatewayLog, 'a', 0o600);
    this.#onClose('gateway log', () => closeSync(fd));
    this.#target = { logger: createLogger({ name: 'paygate-demo', level: 'warn', destination: fd }), fd, level: 'warn' };
    return this.#target;
  }

  async #startSupervisor(layout: DemoLayout): Promise<[Supervisor, string]> {
    const target = this.#logTarget(layout);
    const supervisor = await Supervisor.start({
      configPath: layout.gatewayConfig,
      logger: target.logger,
      env: { ...process.env, PAYGATE_LOG_LEVEL: target.level },
      workerOutput: target.fd,
    });
    this.#onClose('gateway', () => supervisor.stop({ graceMs: DEMO_SETTINGS.drainGraceMs }));
    const pids = supervisor.workers().map((worker) => worker.pid).join(', ');
    const status = supervisor.statusUrl === undefined ? '' : `; status ${supervisor.statusUrl}/healthz`;
    return [supervisor, `${supervisor.workers().length} workers ready (pids ${pids})${status}`];
  }

  async #startSdk(layout: DemoLayout, brokerPort: number): Promise<Gateway<DemoPlugins>> {
    const pem = (name: string): string => readFileSync(join(layout.certsDir, name), 'utf8');
    const gateway = await createGateway({
      brokers: { nodes: [{ host: DEMO_SETTINGS.host, port: brokerPort }] },
      identity: { cert: pem('client.crt'), key: pem('client.key') },
      gatewayCertificates: [pem('gateway.crt')],
      trust: [pem('ca.crt')],
      providers: [card, paypal, giftcard] as const,
      defaultTimeoutMs: DEMO_SETTINGS.requestTimeoutMs,
    });
    this.#onClose('SDK', () => gateway.close(DEMO_SETTINGS.sdkCloseMs));
    return gateway;
  }

  /**
   * Stops every started part in reverse order, then removes the folder unless `keepDir`.
   * Never throws: returns one line per part that failed to stop. Calling it again returns the
   * same promise.
   */
  close(options: { keepDir: boolean }): Promise<string[]> {
    this.#closing ??= this.#teardown(options.keepDir);
    return this.#closing;
  }

  async #teardown(keepDir: boolean): Promise<string[]> {
    const problems: string[] = [];
    for (const { part, stop } of this.#teardowns.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        problems.push(`${part}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const dir = this.#layout?.dir;
    if (dir !== undefined && !keepDir) removeDemoDir(dir, this.#dirCreated, problems);
    return problems;
  }
}

/** Removes the folder the demo created, or only its contents when `--dir` named an existing empty one. */
function removeDemoDir(dir: string, created: boolean, problems: string[]): void {
  try {
    if (created) rmSync(dir, { recursive: true, force: true });
    else for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
  } catch (error) {
    problems.push(`removing ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
