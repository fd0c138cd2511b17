// The three-node RabbitMQ cluster of scripts/rabbitmq-cluster.sh, for the tests that run on it:
// its nodes (from PAYGATE_TEST_RABBITMQ_CLUSTER), which node a connection is on, SIGKILL and
// restart of a node, waiting until the cluster is whole again, and what RabbitMQ says of a queue
// (type, leader, members), and the lock that the tests killing nodes hold (one at a time: two
// nodes down at once would lose the quorum). The script's `start` prints the variable as its
// last line.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { clusterBroker, parseClusterNodes, type ClusterBroker, type ClusterNode } from './brokers.ts';

export { connectOptions, isCluster, type ClusterBroker, type ClusterNode } from './brokers.ts';

const run = promisify(execFile);
const SCRIPT = new URL('../../scripts/rabbitmq-cluster.sh', import.meta.url).pathname;

/** The cluster's nodes, node 1 first; undefined when PAYGATE_TEST_RABBITMQ_CLUSTER is unset. */
export const CLUSTER_NODES: readonly ClusterNode[] | undefined = parseClusterNodes(process.env.PAYGATE_TEST_RABBITMQ_CLUSTER);

/** The cluster as a matrix broker (`connectOptions(TEST_CLUSTER)`: three nodes, quorum queues). */
export const TEST_CLUSTER: ClusterBroker | undefined = CLUSTER_NODES === undefined ? undefined : clusterBroker(CLUSTER_NODES);

/** Why the cluster tests are skipped, when they are. */
export const CLUSTER_SKIP_REASON =
  'PAYGATE_TEST_RABBITMQ_CLUSTER is unset: run bash scripts/rabbitmq-cluster.sh start and export its last line';

/**
 * How long a node may take to come back and the cluster to be whole: a restart takes a few
 * seconds, several times that on a loaded 2-core machine. Below the tests' own timeouts, so that
 * a node that cannot come back fails with the script's report, not with the test killed.
 */
export const CLUSTER_WAIT_MS = 40_000;

/** Runs the script; rejects with its stderr when it fails. */
async function script(args: readonly string[], timeoutMs: number, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: timeoutMs, env: { ...process.env, ...env } });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`scripts/rabbitmq-cluster.sh ${args.join(' ')} failed: ${stderr || String(error)}`, { cause: error });
  }
}

function checkIndex(index: number): void {
  if (![1, 2, 3].includes(index)) throw new Error(`the test cluster has nodes 1, 2 and 3, not ${index}`);
}

/** SIGKILLs node `index`'s Erlang VM (no clean shutdown: its connections reset, its queue replicas vanish). */
export async function killNode(index: number): Promise<void> {
  checkIndex(index);
  await script(['kill', String(index)], 30_000);
}

/** Starts node `index` again; resolves once it answers STOMP and the cluster has 3 running nodes. */
export async function restartNode(index: number, timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
  checkIndex(index);
  // The script gives up a little before it would be killed, with the node's log in its report.
  const scriptTimeoutS = Math.max(5, Math.floor(timeoutMs / 1000) - 5);
  await script(['restart', String(index)], timeoutMs, { CLUSTER_TIMEOUT: String(scriptTimeoutS) });
}

/** True when every node answers STOMP and cluster_status shows 3 running nodes. */
export async function clusterHealthy(): Promise<boolean> {
  try {
    await script(['status'], 30_000);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the cluster is whole (see {@link clusterHealthy}); rejects after `timeoutMs`. */
export async function waitForClusterHealthy(timeoutMs = CLUSTER_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await clusterHealthy())) {
    if (Date.now() > deadline) throw new Error(`the RabbitMQ cluster was not whole within ${timeoutMs} ms (bash scripts/rabbitmq-cluster.sh status)`);
    await new Promise((resolve) => setTimeout(resolve, 250)); // polling a condition, with the deadline above
  }
}

/**
 * The cluster node a connection is on (`StompConnection.node`, `host:port`), or undefined when
 * it is on none of them (or not connected).
 */
export function clusterNodeOf(node: string | undefined, nodes: readonly ClusterNode[] | undefined = CLUSTER_NODES): ClusterNode | undefined {
  return nodes?.find(({ host, port }) => `${host}:${port}` === node);
}

/** What RabbitMQ says of a queue: its type and, for a quorum queue, its Raft leader and members. */
export interface QueueStatus {
  readonly name: string;
  readonly type: string;
  /** Node name such as `paygate-c2@localhost` (quorum queues; none while no leader is elected). */
  readonly leader?: string;
  readonly members?: readonly string[];
  /** The members that are up. */
  readonly online?: readonly string[];
}

/**
 * The status of queue `name` (as RabbitMQ names it: `stomptest.x`, not `/queue/stomptest.x`),
 * asked of node `via` (a live one); undefined when the queue does not exist.
 */
export async function queueStatus(name: string, via: number): Promise<QueueStatus | undefined> {
  checkIndex(via);
  const out = await script(['ctl', String(via), '-q', 'list_queues', 'name', 'type', 'leader', 'members', 'online', '--formatter', 'json'], 30_000);
  const queues = JSON.parse(out) as QueueStatus[];
  return queues.find((queue) => queue.name === name);
}

/** The cluster node name of node `index` (`paygate-c2@localhost`), as {@link QueueStatus} reports nodes. */
export const clusterNodeName = (index: number): string => `paygate-c${index}@localhost`;

// --- the lock of the tests that kill nodes ---------------------------------------

/**
 * How long a test waits for another one to give the cluster back: longer than the longest holder
 * can keep it (the scale-out test: lock and setup hooks, the run, the restart of its node; under
 * 8 minutes with every timeout reached), shorter than the CI suite's budget. A holder that dies
 * is taken over at once, not waited for.
 */
export const CLUSTER_LOCK_WAIT_MS = 9 * 60_000;

/** Machine-wide, like the cluster's ports and node names: one per machine, whatever the checkout. */
export const CLUSTER_LOCK_PATH = join(tmpdir(), 'paygate-cluster-fault-tests.lock');

/** Who holds the lock (`owner.json` in the lock folder). */
export interface ClusterLockHolder {
  readonly pid: number;
  /** The process's start time (Linux /proc), so that a reused pid is not taken for the holder. */
  readonly started?: string;
  readonly token: string;
  /** ISO time it was taken. */
  readonly since: string;
}

/** Options of {@link acquireClusterLock}; the defaults are the real cluster's lock. */
export interface ClusterLockOptions {
  readonly path?: string;
  readonly waitMs?: number;
  readonly pollMs?: number;
  /** Called at every poll while another live process holds the lock; by default the first wait is said on stderr. */
  readonly onWait?: (holder: ClusterLockHolder) => void;
}

const OWNER = 'owner.json';
/** A takeover guard older than this was left by a process that died within those few milliseconds. */
const STALE_GUARD_MS = 30_000;

/** Field `index` (1-based, as proc(5) numbers them) of /proc/<pid>/stat; undefined off Linux or when gone. */
function procStat(pid: number, index: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index - 3];
  } catch {
    return undefined;
  }
}

function alive(holder: ClusterLockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (procStat(holder.pid, 3) === 'Z') return false; // exited, not yet reaped by its parent
  const started = procStat(holder.pid, 22);
  return holder.started === undefined || started === undefined || started === holder.started;
}

/** The lock folder's owner file as written (compared byte for byte), or undefined when there is no lock. */
function readOwner(path: string): string | undefined {
  try {
    return readFileSync(join(path, OWNER), 'utf8');
  } catch (error) {
    // A folder without a readable owner (never written by this code) counts as a dead holder's.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' && !exists(path) ? undefined : '';
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function parseOwner(raw: string): ClusterLockHolder | undefined {
  try {
    const holder = JSON.parse(raw) as ClusterLockHolder;
    return Number.isInteger(holder.pid) && typeof holder.token === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Moves a folder aside (atomic), then deletes it: the lock's path never holds a half-deleted folder. */
function discard(path: string): void {
  const aside = `${path}.gone-${randomUUID()}`;
  renameSync(path, aside);
  rmSync(aside, { recursive: true, force: true });
}

/**
 * Creates the lock folder with its owner file in one step: written in a folder of its own, then
 * renamed to the lock's path, which fails while a lock folder is there (a folder made first and
 * filled next would be seen, for a moment, without an owner to judge).
 */
function tryCreate(path: string, holder: ClusterLockHolder): boolean {
  const draft = mkdtempSync(join(dirname(path), `${basename(path)}.new-`));
  writeFileSync(join(draft, OWNER), JSON.stringify(holder));
  try {
    renameSync(draft, path);
    return true;
  } catch (error) {
    rmSync(draft, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    if (code === 'ENOTDIR') throw new Error(`${path} is a file, not the cluster lock's folder: remove it`, { cause: error });
    throw error;
  }
}

/**
 * Removes a dead holder's lock, under a guard folder so that two waiters that both saw it dead
 * cannot both remove it (the second would remove the first's new lock).
 */
function takeOver(path: string, deadOwner: string): void {
  const guard = `${path}.takeover`;
  try {
    mkdirSync(guard);
  } catch {
    try {
      if (Date.now() - statSync(guard).mtimeMs > STALE_GUARD_MS) rmdirSync(guard);
    } catch {
      // Gone meanwhile: its maker finished.
    }
    return;
  }
  try {
    if (readOwner(path) === deadOwner) discard(path);
  } finally {
    rmdirSync(guard);
  }
}

/**
 * Takes the cluster's exclusive lock, across processes and checkouts: waits (polling) while another
 * live process holds it, takes over the lock of one that died, and rejects naming the holder after
 * `waitMs`. Not reentrant: a second acquirer in the same process waits too. Resolves to `release`
 * (also run at the process's exit; SIGKILL leaves a lock that the next acquirer takes over).
 */
export async function acquireClusterLock(options: ClusterLockOptions = {}): Promise<() => void> {
  const { path = CLUSTER_LOCK_PATH, waitMs = CLUSTER_LOCK_WAIT_MS, pollMs = 200 } = options;
  let said = false;
  const onWait =
    options.onWait ??
    ((holder: ClusterLockHolder): void => {
      if (!said) process.stderr.write(`waiting for the RabbitMQ cluster lock ${path}, held by pid ${holder.pid} since ${holder.since}\n`);
      said = true;
    });
  const me: ClusterLockHolder = { pid: process.pid, started: procStat(process.pid, 22), token: randomUUID(), since: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  while (!tryCreate(path, me)) {
    const raw = readOwner(path);
    if (raw === undefined) continue; // released meanwhile: try again at once
    const holder = parseOwner(raw);
    if (holder === undefined || !alive(holder)) {
      takeOver(path, raw);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the RabbitMQ cluster lock ${path} is still held by pid ${holder.pid} (since ${holder.since}) after ${waitMs} ms: another test that kills cluster nodes is running (if none is, remove that folder)`,
      );
    }
    onWait(holder);
    await new Promise((resolve) => setTimeout(resolve, pollMs)); // polling the holder, with the deadline above
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', atExit);
    if (parseOwner(readOwner(path) ?? '')?.token !== me.token) throw new Error(`the RabbitMQ cluster lock ${path} is no longer this process's`);
    discard(path);
  };
  const atExit = (): void => {
    try {
      release();
    } catch {
      // Exiting: nothing left to report it to.
    }
  };
  process.on('exit', atExit);
  return release;
}

/** Runs `fn` holding the cluster's lock (see {@link acquireClusterLock}); releases it whatever `fn` does. */
export async function withClusterLock<T>(fn: () => Promise<T>, options?: ClusterLockOptions): Promise<T> {
  const release = await acquireClusterLock(options);
  try {
    return await fn();
  } finally {
    release();
  }
}
