/**
 * A worker process for test/worker/idempotency-store.test.ts, run with `node --import tsx`:
 *
 * - `race PATH KEYS WORKER_ID`: opens the store, says it is ready, waits for a start time (epoch
 *   ms) on the IPC channel and spins until then, then calls `begin` for keys 0 … KEYS-1 (in an
 *   order of its own, 1 ms apart) and sends back the keys it won (`new`) and a count per outcome.
 * - `crash PATH KEY WORKER_ID`: begins KEY, then dies by SIGKILL without completing or closing.
 */
import { IdempotencyStore } from '../../src/worker/idempotency-store.ts';

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

const [mode, path, arg, workerId] = process.argv.slice(2) as [string, string, string, string];
const store = IdempotencyStore.open({ path });

if (mode === 'crash') {
  const outcome = store.begin({ provider: 'card', idempotencyKey: arg, requestId: 'req-crash', payloadDigest: 'digest-crash', workerId });
  if (outcome.kind !== 'new') process.exit(3);
  process.kill(process.pid, 'SIGKILL');
} else {
  const keys = Number(arg);
  process.send?.({ ready: true });
  process.once('message', (startAt: number) => {
    while (Date.now() < startAt); // both processes start on the same millisecond
    const won: number[] = [];
    const kinds: Record<string, number> = {};
    for (const i of shuffled(keys, workerId)) {
      const outcome = store.begin({
        provider: 'card',
        idempotencyKey: `key-${i}`,
        requestId: `req-${workerId}-${i}`,
        payloadDigest: `digest-${i}`,
        workerId,
      });
      kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
      if (outcome.kind === 'new') won.push(i);
      // A worker does other things between two begins; without a pause the lock holder runs on and
      // the other process, polling in SQLite's busy handler, would only ever see taken keys.
      for (const until = performance.now() + 1; performance.now() < until; );
    }
    store.close();
    process.send?.({ won, kinds }, () => process.exit(0));
  });
}
