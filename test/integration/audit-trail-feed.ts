/**
 * The feed side of the audit-trail test: `paygate feed --config FILE` as a child process (loopback
 * HTTP, SQLite in the test's folder, a read token, the broker's `feed` login, the test CA trusted
 * for gateway signers), killed with SIGKILL and started again on the same config and file, and
 * the feeds read back over HTTP page by page (`rel="next"`), parsed with src/feed/atom.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAtomFeed } from '../../src/feed/atom.ts';
import type { FeedEntry } from '../../src/feed/store.ts';
import { encodeYaml } from '../../src/wire/index.ts';
import { asRole, type BrokerDescriptor } from '../helpers/brokers.ts';
import type { TestPki } from '../helpers/pki.ts';
import { waitUntil } from '../helpers/timing.ts';
import { BIN, ROOT } from './request-path-support.ts';

/** A bearer token and its configured hash. */
export function newToken(): { token: string; sha256: string } {
  const token = randomBytes(24).toString('base64url');
  return { token, sha256: createHash('sha256').update(token).digest('hex') };
}

/** Writes the feed server's config; returns its path. */
export function writeFeedConfig(
  dir: string,
  broker: BrokerDescriptor & { port: number },
  pki: TestPki,
  input: { readonly port: number; readonly eventsQueue: string; readonly readerTokenSha256: string },
): string {
  const feed = asRole(broker, 'feed');
  const config = {
    listen: { host: '127.0.0.1', port: input.port },
    public_url: `http://127.0.0.1:${input.port}`,
    store: { path: join(dir, 'feed.sqlite') },
    clients: [{ name: 'trail-reader', token_sha256: input.readerTokenSha256, feeds: { '*': ['read'] } }],
    identity: { cert: pki.feed.certPath, key: pki.feed.keyPath },
    checkpoints: { interval: '2s', feeds: ['audit', 'payments'] },
    events: {
      queue: input.eventsQueue,
      brokers: [{ host: broker.host, port: broker.port, login: feed.login, passcode: feed.passcode, vhost: broker.vhost }],
      heart_beat_ms: 1_000,
      trust: { gateway_ca: [pki.ca.certPath] },
    },
  };
  const path = join(dir, 'feed.yaml');
  writeFileSync(path, encodeYaml(config), { mode: 0o600 });
  return path;
}

/** `paygate feed --config FILE`, restartable on the same config. */
export class FeedChild {
  #child: ChildProcess | undefined;
  readonly #config: string;
  readonly #log: string;
  readonly url: string;
  readonly #token: string;
  /** How many times it was started. */
  starts = 0;

  constructor(config: string, logPath: string, url: string, token: string) {
    this.#config = config;
    this.#log = logPath;
    this.url = url;
    this.#token = token;
  }

  /** Starts it and resolves once its HTTP server answers a reader's GET. */
  async start(timeoutMs: number): Promise<void> {
    const child = spawn(process.execPath, [BIN, 'feed', '--config', this.#config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(this.#log, { flags: 'a', mode: 0o600 });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.#child = child;
    this.starts += 1;
    let up = false;
    let probing = false;
    const probe = (): void => {
      if (probing) return;
      probing = true;
      fetch(`${this.url}/feeds`, { headers: { authorization: `Bearer ${this.#token}` } }).then(
        (response) => {
          up = response.status < 500;
          probing = false;
        },
        () => (probing = false),
      );
    };
    await waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`paygate feed exited (${child.exitCode}) at start (see ${this.#log})`);
      probe();
      return up;
    }, 'paygate feed to answer over HTTP', timeoutMs);
  }

  /** SIGKILLs it (no drain, no goodbye) and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** A feed as read: its entries (oldest first) and every page's XML as received. */
export interface FeedRead {
  readonly entries: FeedEntry[];
  readonly pages: string[];
}

/**
 * Reads the whole feed `name`, following `rel="next"` from the first page (`pageSize` entries a
 * page); an unknown feed (404) reads as empty.
 */
export async function readFeed(url: string, name: string, token: string, pageSize: number): Promise<FeedRead> {
  const entries: FeedEntry[] = [];
  const pages: string[] = [];
  let next: string | undefined = `${url}/feeds/${name}?page_size=${pageSize}`;
  while (next !== undefined) {
    const response: Response = await fetch(next, { headers: { authorization: `Bearer ${token}`, accept: 'application/atom+xml' } });
    if (response.status === 404 && pages.length === 0) return { entries, pages };
    if (response.status !== 200) throw new Error(`GET ${next}: ${response.status} ${await response.text()}`);
    const xml = await response.text();
    pages.push(xml);
    const page = parseAtomFeed(xml);
    entries.push(...page.entries);
    next = page.entries.length === 0 ? undefined : page.next;
    if (pages.length > 1_000) throw new Error(`${name}: more than 1,000 pages (a rel="next" loop?)`);
  }
  return { entries, pages };
}
