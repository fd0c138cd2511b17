// The three-node RabbitMQ cluster of scripts/rabbitmq-cluster.sh, for the tests that run on it:
// its nodes (from PAYGATE_TEST_RABBITMQ_CLUSTER), which node a connection is on, SIGKILL and
// restart of a node, waiting until the cluster is whole again, and what RabbitMQ says of a queue
// (type, leader, members). The script's `start` prints the variable as its last line.
import { execFile } from 'node:child_process';
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

/** How long a node may take to come back and the cluster to be whole (a loaded 2-core machine). */
export const CLUSTER_WAIT_MS = 120_000;

/** Runs the script; rejects with its stderr when it fails. */
async function script(args: readonly string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: timeoutMs });
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
export async function restartNode(index: number): Promise<void> {
  checkIndex(index);
  await script(['restart', String(index)], CLUSTER_WAIT_MS);
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
