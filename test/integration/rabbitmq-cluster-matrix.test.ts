// The `rabbitmq-cluster` entry of the test matrix (test/helpers/brokers.ts) and the node list of
// PAYGATE_TEST_RABBITMQ_CLUSTER: parsed the same way whether or not a cluster runs, so this file
// never passes on nothing. The cluster itself is exercised by rabbitmq-cluster.test.ts.
import { describe, expect, it } from 'vitest';
import { asRole, connectOptions, isCluster, isExternal, parseClusterNodes, parseTestBrokers } from '../helpers/brokers.ts';
import { clusterNodeOf } from '../helpers/rabbitmq-cluster.ts';

const PRINTED = '127.0.0.1:61631,127.0.0.1:61632,127.0.0.1:61633';

describe('PAYGATE_TEST_RABBITMQ_CLUSTER', () => {
  it('reads the three nodes that scripts/rabbitmq-cluster.sh start prints, node 1 first', () => {
    expect(parseClusterNodes(PRINTED)).toEqual([
      { host: '127.0.0.1', port: 61631, index: 1 },
      { host: '127.0.0.1', port: 61632, index: 2 },
      { host: '127.0.0.1', port: 61633, index: 3 },
    ]);
    for (const unset of [undefined, '', ' , ']) expect(parseClusterNodes(unset)).toBeUndefined();
  });

  it('refuses anything but three host:port addresses, saying where the value comes from', () => {
    expect(() => parseClusterNodes('127.0.0.1:61631,127.0.0.1:61632')).toThrow(/names 2 nodes; the test cluster has 3/);
    for (const bad of ['127.0.0.1,127.0.0.1:2,127.0.0.1:3', 'localhost:0,a:1,b:2', 'a:70000,b:1,c:2', 'a b:1,c:2,d:3']) {
      expect(() => parseClusterNodes(bad), bad).toThrow(/is not host:port \(scripts\/rabbitmq-cluster.sh start prints the value\)/);
    }
  });
});

describe('the rabbitmq-cluster matrix entry', () => {
  it('is left out of the matrix of the suite as a whole', () => {
    expect(parseTestBrokers('embedded,rabbitmq,rabbitmq-cluster').map((b) => b.name)).toEqual(['embedded', 'rabbitmq']);
    expect(parseTestBrokers('rabbitmq-cluster,activemq').map((b) => b.name)).toEqual(['activemq']);
  });

  it('is the last broker for a test that asks for it: RabbitMQ, on node 1, knowing all three nodes and quorum queues', () => {
    const brokers = parseTestBrokers('embedded,rabbitmq-cluster,rabbitmq', { withCluster: PRINTED });
    expect(brokers.map((b) => [b.name, b.port])).toEqual([
      ['embedded', undefined],
      ['rabbitmq', 61613],
      ['rabbitmq', 61631],
    ]);
    const cluster = brokers[2];
    if (cluster === undefined || !isCluster(cluster) || !isExternal(cluster)) throw new Error('the cluster is missing from the list');
    expect(brokers.filter(isCluster)).toEqual([cluster]);
    expect(cluster).toMatchObject({ entry: 'rabbitmq-cluster', queueType: 'quorum', login: 'stomp-test', vhost: '/' });
    expect(connectOptions(asRole(cluster, 'worker'))).toEqual({
      nodes: [61631, 61632, 61633].map((port) => ({ host: '127.0.0.1', port, login: 'worker', passcode: 'worker-test-pass', vhost: '/' })),
      nodeOrder: 'listed',
      queueType: 'quorum',
    });
  });

  it('cannot be asked for without the nodes', () => {
    expect(() => parseTestBrokers('rabbitmq-cluster', { withCluster: undefined })).toThrow(
      /names rabbitmq-cluster but PAYGATE_TEST_RABBITMQ_CLUSTER is unset \(bash scripts\/rabbitmq-cluster.sh start prints it\)/,
    );
  });

  it('a single broker connects to its one node, with no queue type', () => {
    const [rabbit] = parseTestBrokers('rabbitmq');
    if (rabbit === undefined || !isExternal(rabbit)) throw new Error('rabbitmq is missing from the list');
    expect(connectOptions(rabbit)).toEqual({ nodes: [{ host: '127.0.0.1', port: 61613, login: 'stomp-test', passcode: 'stomp-test-test-pass', vhost: '/' }] });
  });

  it('tells which node a connection is on from its host:port', () => {
    const nodes = parseClusterNodes(PRINTED);
    expect(clusterNodeOf('127.0.0.1:61632', nodes)?.index).toBe(2);
    expect(clusterNodeOf('127.0.0.1:61613', nodes)).toBeUndefined();
    expect(clusterNodeOf(undefined, nodes)).toBeUndefined();
  });
});
