/**
 * What a worker logs when its broker connection goes away under a request, read from its real
 * pino output: the loss is a `warn`, the ACK the old connection can no longer take
 * (STOMP_STALE_MESSAGE) an `info`, the reconnect an `info`, and nothing of it an `error`
 * (docs/operations.md, "Configuring failover").
 *
 * The consuming connection goes through a proxy; the proxy drops it from inside the plugin's
 * handler (when the plugin logs its call), so the request is in flight on a connection that is
 * already gone when the worker ACKs it. The reply leaves on the publishing connection (direct),
 * so the request is still answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionLogger, createLogger } from '../../src/logging.ts';
import { counter } from '../fixtures/counting-provider.ts';
import { waitUntil } from '../helpers/timing.ts';
import { requestDoc, startHarness, type Harness } from './harness.ts';

type Line = Record<string, unknown> & { level?: string; msg?: string; code?: string };

const lines: Line[] = [];
let onLine: (line: Line) => void = () => undefined;
let h: Harness;

beforeAll(async () => {
  const destination = {
    write(text: string): void {
      const line = JSON.parse(text) as Line;
      lines.push(line);
      onLine(line);
    },
  };
  const log = actionLogger(createLogger({ name: 'paygate-worker', destination, level: 'info' }));
  h = await startHarness({ proxy: true, worker: { log } });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('failover log levels', () => {
  it('a lost connection is a warn, the stale ACK an info, the reconnect an info; no error', async () => {
    counter.delayMs = 0;
    const doc = requestDoc();
    onLine = (line) => {
      // The plugin logs its call: the request is now in flight on the consuming connection.
      if (line.msg === 'authorize') h.proxy?.drop();
    };
    const reply = await h.roundTrip(doc);
    expect(reply.status).toBe('approved');
    await waitUntil(() => lines.some((l) => l.code === 'STOMP_STALE_MESSAGE'), 'the stale ACK logged', 10_000);
    await waitUntil(() => lines.some((l) => l.msg === 'broker connection restored'), 'the reconnect logged', 10_000);

    const levelOf = (test: (line: Line) => boolean): string[] => [...new Set(lines.filter(test).map((l) => String(l.level)))];
    expect(levelOf((l) => l.code === 'STOMP_STALE_MESSAGE')).toEqual(['info']);
    expect(levelOf((l) => l.msg === 'broker connection lost; failing over')).toEqual(['warn']);
    expect(levelOf((l) => l.msg === 'broker connection restored')).toEqual(['info']);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });
});
