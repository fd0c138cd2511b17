/**
 * Plugin set-up through the worker (docs/providers.md, "Setup"): the plugin's own settings are
 * checked by its `config` schema, `setup(tools)` builds transports that carry the deployment's
 * endpoint and TLS and go through the provider's breaker, and handlers get them as
 * `context.resources`. A real HTTPS server on loopback plays the provider.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineProvider, scrubCardNumbers } from '../../src/providers/index.ts';
import { Worker } from '../../src/worker/index.ts';
import { makeTempDir, makeTestPki } from '../helpers/pki.ts';
import { nodeOf } from '../integration/support.ts';
import { requestDoc, startHarness, type Harness } from './harness.ts';

/** A provider answering `ACK=Success&ECHO=<order>&USER=<user>` to every form POST; counts what it receives. */
let hits = 0;
let server: Server;
let endpoint = '';

const echo = defineProvider({
  name: 'echo',
  version: '1.0.0',
  config: z.strictObject({ user: z.string().min(1) }),
  breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeout: 60_000 },
  setup: (tools) => ({ api: tools.formTransport(), user: tools.config.user }),
  actions: {
    refuse: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ echoed: z.string(), user: z.string() }),
      async handler(payload, context) {
        await context.resources.api.post('/nvp', { ORDER: payload.order_id, USER: context.resources.user }, { signal: context.signal });
        return { status: 'declined', error: { code: 'CARD_DECLINED', message: 'declined by the test provider', retryable: false } };
      },
    },
    charge: {
      request: z.strictObject({ order_id: z.string() }),
      result: z.strictObject({ echoed: z.string(), user: z.string() }),
      async handler(payload, context) {
        const answer = await context.resources.api.post('/nvp', { ORDER: payload.order_id, USER: context.resources.user }, { signal: context.signal });
        return { status: 'approved', result: { echoed: answer.fields.ECHO ?? '', user: answer.fields.USER ?? '' } };
      },
    },
  },
  scrub: scrubCardNumbers,
});

let h: Harness;

beforeAll(async () => {
  const pki = await makeTestPki();
  server = createServer({ cert: pki.tls.certPem, key: pki.tls.keyPem }, (request, response) => {
    hits += 1;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const fields = new URLSearchParams(body);
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`ACK=Success&ECHO=${fields.get('ORDER') ?? ''}&USER=${fields.get('USER') ?? ''}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startHarness({
    extra: [echo],
    worker: { providerSettings: { echo: { endpoint, tls: { ca: pki.ca.certPem }, timeoutMs: 2_000, options: { user: 'shop-7' } } } },
  });
});
afterAll(async () => {
  await h?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('plugin setup through the worker', () => {
  it("gives handlers the transports setup made: the deployment's endpoint and CA, the plugin's own settings", async () => {
    const reply = await h.roundTrip(requestDoc({ provider: 'echo', type: 'charge', payload: { order_id: 'o-1' } }));
    expect(reply).toMatchObject({ status: 'approved', result: { echoed: 'o-1', user: 'shop-7' } });
    expect(h.worker.breakerSnapshot()).toEqual([expect.objectContaining({ provider: 'echo', endpoint, state: 'closed', successes: 1 })]);
  });

  it('a run of declines never opens the breaker: they are answers, not failures', async () => {
    for (let i = 0; i < 12; i += 1) {
      const reply = await h.roundTrip(requestDoc({ provider: 'echo', type: 'refuse', payload: { order_id: `d-${i}` } }));
      expect(reply).toMatchObject({ status: 'declined', error: { code: 'CARD_DECLINED' } });
    }
    expect(h.worker.breakerSnapshot()[0]).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('sends calls through the breaker: an unreachable provider opens it, and then nothing is even tried', async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    const before = hits;
    // Failures until the error rate over the rolling window (the declines above count as
    // successes) passes the threshold.
    for (let i = 0; i < 30 && h.worker.breakerSnapshot()[0]?.state !== 'open'; i += 1) {
      const reply = await h.roundTrip(requestDoc({ provider: 'echo', type: 'charge', payload: { order_id: `o-${i}` } }));
      expect(reply).toMatchObject({ status: 'error', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
    }
    expect(h.worker.breakerSnapshot()[0]?.state).toBe('open');
    const reply = await h.roundTrip(requestDoc({ provider: 'echo', type: 'charge', payload: { order_id: 'o-4' } }));
    expect(reply).toMatchObject({ status: 'error', error: { code: 'PROVIDER_UNAVAILABLE', retryable: true } });
    expect(reply.error?.message).toMatch(/breaker|open/i);
    expect(h.worker.breakerSnapshot()[0]).toMatchObject({ state: 'open', rejects: 1 });
    expect(hits).toBe(before);
  });

  it("refuses to start when the plugin's own settings do not fit its config schema (paths, never values)", async () => {
    const start = Worker.start({
      stomp: { nodes: [nodeOf(h.broker.descriptor)] },
      identity: { cert: h.pki.gateway.certPem, key: h.pki.gateway.keyPem },
      trust: [h.pki.ca.certPem],
      idempotency: { path: join(makeTempDir('plugins'), 'store.sqlite') },
      providers: [echo],
      providerSettings: { echo: { endpoint, options: { user: '', password: 's3cret-value' } } },
    });
    const error = await start.then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe('WORKER_BAD_OPTIONS');
    expect(error?.message).toMatch(/provider echo: options\.user: .*; options: .*password/);
    expect(error?.message).not.toContain('s3cret-value');
  });
});
