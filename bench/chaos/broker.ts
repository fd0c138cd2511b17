/**
 * The broker of a chaos run and how it is killed: the embedded broker as a child process
 * (`paygate broker --data DIR --users FILE` on a fixed port, so a restart comes back where the
 * clients reconnect), or RabbitMQ of scripts/brokers.sh (`rabbitmqctl stop_app` + `start_app`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hashPassword } from '../../src/broker/index.ts';
import { encodeYaml } from '../../src/wire/index.ts';
import { ChaosError } from './errors.ts';
import { CHAOS_SETTINGS } from './options.ts';

const BIN = fileURLToPath(new URL('../../bin/paygate.js', import.meta.url));
const run = promisify(execFile);

/** A login on the broker. */
export interface Login {
  readonly login: string;
  readonly passcode: string;
}

/** What the run needs of its broker. */
export interface ChaosBroker {
  readonly name: 'embedded' | 'rabbitmq';
  readonly host: string;
  readonly port: number;
  /** The gateway's workers log in with this (role worker)… */
  readonly worker: Login;
  /** …and the shop with this (role storefront). */
  readonly storefront: Login;
  /** Kills the broker and starts it again after `downMs`; resolves once it accepts connections. Returns what was done, for the report. */
  killAndRestart(downMs: number): Promise<string>;
  stop(): Promise<void>;
}

/** The test logins scripts/brokers.sh creates on RabbitMQ (test/helpers/brokers.ts, `testPasscode`). */
const rabbitLogin = (login: string): Login => ({ login, passcode: `${login}-test-pass` });

/** RabbitMQ on 127.0.0.1:61613 with the test logins. */
export function rabbitmqBroker(): ChaosBroker {
  return {
    name: 'rabbitmq',
    host: CHAOS_SETTINGS.host,
    port: 61613,
    worker: rabbitLogin('worker'),
    storefront: rabbitLogin('storefront'),
    async killAndRestart(downMs) {
      await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
      await run('rabbitmqctl', ['await_startup'], { timeout: 120_000 });
      return 'rabbitmqctl stop_app, then start_app';
    },
    stop: async () => undefined,
  };
}

/** A free TCP port on loopback (listened on, then released for the broker). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, CHAOS_SETTINGS.host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts `paygate broker` and resolves once it prints its listening line. */
function spawnBroker(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'broker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    // Expired-message lines are expected (requests that outlived a dead worker); keep the tail for errors.
    stderr = (stderr + chunk).slice(-4_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ChaosError('CHAOS_SETUP_FAILED', `the broker did not start within ${CHAOS_SETTINGS.startTimeoutMs} ms: ${stderr}`)), CHAOS_SETTINGS.startTimeoutMs);
    child.once('exit', (code) => reject(new ChaosError('CHAOS_SETUP_FAILED', `the broker exited (${String(code)}) at start: ${stderr}`)));
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

/** Writes the users file: a storefront and a worker login (cheap hashes: loopback, throw-away passwords). */
async function writeUsers(dir: string): Promise<{ path: string; worker: Login; storefront: Login }> {
  const worker = { login: 'chaos-worker', passcode: 'chaos-worker-pass' };
  const storefront = { login: 'chaos-shop', passcode: 'chaos-shop-pass' };
  const users = {
    users: {
      [worker.login]: { password: await hashPassword(worker.passcode, { ln: 10 }), role: 'worker' },
      [storefront.login]: { password: await hashPassword(storefront.passcode, { ln: 10 }), role: 'storefront' },
    },
  };
  const path = join(dir, 'broker-users.yaml');
  writeFileSync(path, encodeYaml(users), { mode: 0o600 });
  return { path, worker, storefront };
}

/** The embedded broker in a child process, persistent in `dir/broker-data`. */
export async function embeddedBroker(dir: string): Promise<ChaosBroker> {
  const users = await writeUsers(dir);
  const port = await freePort();
  const args = ['--host', CHAOS_SETTINGS.host, '--port', String(port), '--data', join(dir, 'broker-data'), '--users', users.path];
  let child = await spawnBroker(args);
  return {
    name: 'embedded',
    host: CHAOS_SETTINGS.host,
    port,
    worker: users.worker,
    storefront: users.storefront,
    async killAndRestart(downMs) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await spawnBroker(args);
      return `SIGKILL, restarted after ${downMs / 1000} s on the same port and --data`;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
