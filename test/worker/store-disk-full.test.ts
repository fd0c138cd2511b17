/**
 * The idempotency store on a full disk, for real: the store lives on a small tmpfs mounted for
 * this file, which a filler file then fills. The worker must not NACK-loop nor let requests time
 * out: it reports the store failing (`storeFailure`), answers at once with a retryable
 * `STORE_FAILED` error without calling the provider, and serves normally again once space is
 * freed (its probe write succeeds).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter } from '../fixtures/counting-provider.ts';
import { requestDoc, startHarness, until, type Harness } from './harness.ts';

const mountPoint = mkdtempSync(join(tmpdir(), 'paygate-full-disk-'));
const filler = join(mountPoint, 'filler');
let h: Harness;

/** Writes `filler` until the file system refuses (ENOSPC). */
function fillTheDisk(): void {
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  // A tmpfs of its own: filling it touches nothing else on the machine (the tests run as root).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mountPoint]);
  h = await startHarness({ worker: { idempotency: { path: join(mountPoint, 'store', 'idempotency.sqlite') } } });
}, 60_000);

afterAll(async () => {
  await h?.close();
  execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe('idempotency store on a full disk', () => {
  it('answers STORE_FAILED (retryable) at once without calling the provider, then serves again once space is freed', async () => {
    expect((await h.roundTrip(requestDoc({ idempotency_key: 'before-full' }))).status).toBe('approved');
    expect(h.worker.storeFailure).toBeUndefined();

    fillTheDisk();
    const refused = await h.roundTrip(requestDoc({ idempotency_key: 'while-full' }));
    expect(refused.status).toBe('error');
    expect(refused.error).toMatchObject({ code: 'STORE_FAILED', retryable: true });
    expect(counter.calls('while-full')).toBe(0);
    expect(h.worker.storeFailure?.code).toBe('STORE_FAILED');
    expect(h.logs.some((line) => line.startsWith('error idempotency store failing'))).toBe(true);
    // A second request is refused the same way, without the store being asked to claim it.
    const again = await h.roundTrip(requestDoc({ idempotency_key: 'while-full-2' }));
    expect(again.error?.code).toBe('STORE_FAILED');

    rmSync(filler);
    await until(() => h.worker.storeFailure === undefined);
    expect(h.logs.some((line) => line.startsWith('info idempotency store writable again'))).toBe(true);
    const retried = await h.roundTrip(requestDoc({ idempotency_key: 'while-full' }));
    expect(retried.status).toBe('approved');
    expect(counter.calls('while-full')).toBe(1);
  }, 60_000);
});
