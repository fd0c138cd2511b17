/** examples/feed-consumer.py (standard library only) against a live server: each payment printed once. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { feedServers, TOKENS } from './support.ts';

const run = promisify(execFile);
const servers = feedServers();
const dir = mkdtempSync(join(tmpdir(), 'paygate-consumer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const payment = (n: number): string => JSON.stringify({ request_id: `r-${n}`, provider: 'card', type: 'capture', status: 'approved', amount: { value: `${n}.00`, currency: 'EUR' } });

describe('examples/feed-consumer.py', () => {
  it('prints every payment once, resuming after the last id it saved', async () => {
    const { server, store } = await servers.start({ defaultPageSize: 2 });
    for (let n = 1; n <= 5; n += 1) store.append('payments', { title: `card capture approved`, content: payment(n), contentType: 'application/json', key: `k${n}` });
    const env = { ...process.env, PAYGATE_FEED_URL: server.url, PAYGATE_FEED_TOKEN: TOKENS.reader, PAYGATE_FEED_STATE: join(dir, 'last') };
    const consume = async (): Promise<string[]> => (await run('python3', ['examples/feed-consumer.py', '--once'], { env })).stdout.split('\n').filter(Boolean);

    expect(await consume()).toEqual([1, 2, 3, 4, 5].map(payment)); // three pages of 2
    const last = store.page('payments', { pageSize: 10 }).entries.at(-1)!;
    expect(readFileSync(join(dir, 'last'), 'utf8')).toBe(`tag:paygate,2026:payments/${last.id}`);
    expect(await consume()).toEqual([]);
    store.append('payments', { title: 'card refund approved', content: payment(6), contentType: 'application/json', key: 'k6' });
    expect(await consume()).toEqual([payment(6)]);
  });
});
