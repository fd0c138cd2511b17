/**
 * A worker process for test/worker/idempotency-store.test.ts, run with `node --import tsx`; the
 * store's options (either engine) come as JSON in the first argument:
 *
 * - `race OPTIONS KEYS WORKER_ID`: opens the store, says it is ready, waits for a start time
 *   (epoch ms) on the IPC channel and spins until then, then calls `begin` for keys 0 … KEYS-1
 *   (in an order of its own, about 1 ms apart) and sends back the keys it won (`new`) and a
 *   count per outcome.
 * - `crash OPTIONS KEY WORKER_ID`: begins KEY, then dies by SIGKILL without completing or closing.
 */
import { openWorkerStore, type StoreOptions } from '../../src/worker/open-store.ts';

/** 0 … n-1 in an order of its own per worker (so the two processes meet on keys all along the run). */
function shuffled(n: number, seedText: string): number[] {
  let seed = [...seedText].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

const [mode, optionsJson, arg, workerId] = process.argv.slice(2) as [string, string, string, string];
const store = await openWorkerStore(JSON.parse(optionsJson) as StoreOptions);

if (mode === 'crash') {
  const outcome = await store.begin({ provider: 'card', idempotencyKey: arg, requestId: 'req-crash', payloadDigest: 'digest-crash', workerId });
  if (outcome.kind !== 'new') process.exit(3);
  process.kill(process.pid, 'SIGKILL');
} else {
  const keys = Number(arg);
  process.send?.({ ready: true });
  process.once('message', (startAt: number) => {
    while (Date.now() < startAt); // both processes start on the same millisecond
    void (async () => {
      const won: number[] = [];
      const kinds: Record<string, number> = {};
      for (const i of shuffled(keys, workerId)) {
        const outcome = await store.begin({
          provider: 'card',
          idempotencyKey: `key-${i}`,
          requestId: `req-${workerId}-${i}`,
          payloadDigest: `digest-${i}`,
          workerId,
        });
        kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
        if (outcome.kind === 'new') won.push(i);
        // A worker does other things between two begins; without a pause one process could run
        // through every key before the other's first commit, and the race would test nothing.
        for (const until = performance.now() + 1; performance.now() < until; );
      }
      await store.close();
      process.send?.({ won, kinds }, () => process.exit(0));
    })();
  });
}
