import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counting } from '../fixtures/counting-provider.ts';
import { startFullPath, type FullPath } from './full-path.ts';

let path: FullPath<typeof counting>;
beforeAll(async () => {
  path = await startFullPath({ provider: counting });
});
afterAll(async () => {
  await path?.close();
});

describe('startFullPath', () => {
  it('runs a typed request through the SDK, a broker and a worker serving the plugin', async () => {
    const reply = await path.gateway.request('counting', 'authorize', {
      amount: { value: 1234, currency: 'EUR' },
      card: { number: '4111111111111111', exp_month: 12, exp_year: new Date().getFullYear() + 1 },
      order_id: 'fp-1',
    });
    expect(reply).toMatchObject({ status: 'approved', result: { amount: { value: 1234, currency: 'EUR' } } });
    expect(path.worker.providers.map((p) => p.name)).toEqual(['counting']);
  });
});
