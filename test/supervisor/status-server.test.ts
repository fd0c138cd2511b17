/**
 * The status server over real HTTP on 127.0.0.1 (ephemeral ports): routes, status codes, failing
 * callbacks, a port in use, and close() with connections still open.
 */
import { Agent, get, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../../src/supervisor/metrics.ts';
import {
  startStatusServer,
  statusServerOptionsSchema,
  StatusServerError,
  type HealthReport,
  type StatusErrorSource,
  type StatusServer,
  type StatusServerOptions,
} from '../../src/supervisor/status-server.ts';

const servers: StatusServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<StatusServerOptions> = {}): Promise<StatusServer> {
  const server = await startStatusServer({
    port: 0,
    metrics: new GatewayMetrics({ processMetrics: false }),
    health: () => ({ status: 'ok' }),
    ...options,
  });
  servers.push(server);
  return server;
}

async function startError(options: StatusServerOptions): Promise<StatusServerError> {
  try {
    const server = await startStatusServer(options);
    servers.push(server);
  } catch (error) {
    expect(error).toBeInstanceOf(StatusServerError);
    return error as StatusServerError;
  }
  throw new Error('startStatusServer did not fail');
}

describe('startStatusServer: /healthz', () => {
  it.each([
    ['ok', 200],
    ['degraded', 200],
    ['down', 503],
  ] as const)('answers %s with HTTP %i and the report as JSON', async (status, code) => {
    const report: HealthReport = { status, workers: { desired: 3, ready: status === 'ok' ? 3 : 1 }, broker: 'embedded' };
    const server = await start({ health: () => report });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(code);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(report);
  });

  it('calls health() on every request', async () => {
    let calls = 0;
    const server = await start({ health: () => ({ status: ++calls > 1 ? 'down' : 'ok' }) });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
    expect(calls).toBe(2);
  });

  it('answers 500 when health() throws, without its message, tells onError, and serves the next request', async () => {
    let fail = true;
    const errors: Array<[unknown, StatusErrorSource]> = [];
    const server = await start({
      health: () => {
        if (fail) throw new Error('cannot read /etc/paygate/secret.pem');
        return { status: 'ok' };
      },
      onError: (error, source) => errors.push([error, source]),
    });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ status: 'down', error: 'health check failed' });
    expect(body).not.toContain('secret');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[1]).toBe('/healthz');
    expect((errors[0]?.[0] as Error).message).toContain('secret.pem');

    fail = false;
    const again = await fetch(`${server.url}/healthz`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'ok' });
  });

  it('answers 500 for a report without a valid status, and for one that cannot be serialised', async () => {
    const bad = { status: 'fine' } as unknown as HealthReport;
    const server = await start({ health: () => bad });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(500);
    const cyclic: Record<string, unknown> = { status: 'ok' };
    cyclic.self = cyclic;
    const server2 = await start({ health: () => cyclic as HealthReport, onError: () => { throw new Error('a throwing hook is ignored'); } });
    expect((await fetch(`${server2.url}/healthz`)).status).toBe(500);
    expect((await fetch(`${server2.url}/metrics`)).status).toBe(200);
  });
});

describe('startStatusServer: /metrics', () => {
  it("serves the metrics text with prom-client's content type", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    metrics.recordRestart('killed');
    const server = await start({ metrics });
    const res = await fetch(`${server.url}/metrics?debug=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusTextFormat(await res.text());
    const restarts = families.find((f) => f.name === 'paygate_worker_restarts_total');
    expect(restarts?.metrics.find((m) => m.labels?.cause === 'killed')?.value).toBe('1');
  });

  it('answers 500 when collecting the metrics fails, and carries on', async () => {
    class BrokenMetrics extends GatewayMetrics {
      broken = true;
      override async text(): Promise<string> {
        if (this.broken) throw new Error('collector exploded');
        return super.text();
      }
    }
    const metrics = new BrokenMetrics({ processMetrics: false });
    const sources: StatusErrorSource[] = [];
    const server = await start({ metrics, onError: (_error, source) => sources.push(source) });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('metrics collection failed\n');
    expect(sources).toEqual(['/metrics']);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    metrics.broken = false;
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });
});

describe('startStatusServer: methods and paths', () => {
  it('answers HEAD with the headers of GET and no body', async () => {
    const server = await start({ health: () => ({ status: 'down', reason: 'no workers' }) });
    for (const path of ['/healthz', '/metrics']) {
      const got = await fetch(`${server.url}${path}`);
      const getBody = await got.text();
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(got.status);
      expect(head.headers.get('content-type')).toBe(got.headers.get('content-type'));
      expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(getBody));
      expect(await head.text()).toBe('');
    }
  });

  it.each(['/', '/nope', '/healthz/', '/metrics/x', '/HEALTHZ'])('answers 404 for %s', async (path) => {
    const server = await start();
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(404);
    expect((await fetch(`${server.url}${path}`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s with 405 and Allow: GET, HEAD', async (method) => {
    const server = await start();
    for (const path of ['/healthz', '/metrics']) {
      const res = await fetch(`${server.url}${path}`, { method, body: method === 'POST' || method === 'PUT' ? '{}' : undefined });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
  });
});

describe('startStatusServer: options and address', () => {
  it('listens on 127.0.0.1:9464 by default, and reports the real port when given 0', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const defaults = statusServerOptionsSchema.parse({ metrics, health: () => ({ status: 'ok' }) });
    expect([defaults.host, defaults.port]).toEqual(['127.0.0.1', 9464]);
    const server = await start();
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.address.port}`);
  });

  it('refuses invalid options with STATUS_SERVER_BAD_OPTIONS', async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const health = (): HealthReport => ({ status: 'ok' });
    const cases: unknown[] = [
      { metrics, health, port: 70_000 },
      { metrics, health, port: -1 },
      { metrics, health, host: '' },
      { metrics: {}, health },
      { metrics, health: 'ok' },
      { metrics, health, prot: 9000 },
    ];
    for (const options of cases) {
      const error = await startError(options as StatusServerOptions);
      expect(error.code).toBe('STATUS_SERVER_BAD_OPTIONS');
    }
    expect((await startError({ metrics, health, prot: 9000 } as StatusServerOptions)).message).toContain('prot');
  });

  it('rejects with STATUS_SERVER_LISTEN naming host:port and the errno code when the port is in use', async () => {
    const first = await start();
    const { port } = first.address;
    const error = await startError({ port, metrics: new GatewayMetrics({ processMetrics: false }), health: () => ({ status: 'ok' }) });
    expect(error.code).toBe('STATUS_SERVER_LISTEN');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('EADDRINUSE');
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });
});

describe('startStatusServer: close()', () => {
  it('resolves at once with an idle keep-alive connection open, and closes that connection', async () => {
    const server = await startStatusServer({ port: 0, metrics: new GatewayMetrics({ processMetrics: false }), health: () => ({ status: 'ok' }) });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${server.url}/healthz`, { agent }, resolve).on('error', reject));
      expect(res.headers.connection).toBe('keep-alive');
      // Taken now: once the body is read the response lets go of its socket (the agent keeps it).
      const socket = res.socket as Socket;
      res.resume();
      await new Promise((resolve) => res.on('end', resolve));
      const socketClosed = new Promise((resolve) => socket.once('close', resolve));
      // The socket is back in the agent's pool, idle and open.
      await new Promise((resolve) => setImmediate(resolve));
      expect(socket.destroyed).toBe(false);

      const began = performance.now();
      await server.close();
      // Well under the 1 s grace: the idle connection was closed, not waited for.
      expect(performance.now() - began).toBeLessThan(800);
      await socketClosed;
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
      // Idempotent.
      await server.close();
    } finally {
      agent.destroy();
    }
  });

  it('resolves with a client stuck half-way through its request', async () => {
    const server = await startStatusServer({ port: 0, metrics: new GatewayMetrics({ processMetrics: false }), health: () => ({ status: 'ok' }) });
    const socket = connect(server.address.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const socketClosed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined);
    const began = performance.now();
    await server.close();
    expect(performance.now() - began).toBeLessThan(3_000);
    await socketClosed;
  });
});
