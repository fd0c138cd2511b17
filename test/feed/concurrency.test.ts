/**
 * Appends from two processes on one file are serialised: every entry gets its own sequence and
 * predecessor, so the chain verifies whole and each process's entries keep their order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { feedStores } from './support.ts';

const stores = feedStores();
const child = fileURLToPath(new URL('./append-child.ts', import.meta.url));
const PER_PROCESS = 300;

function start(path: string, tag: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', child, path, 'shared', String(PER_PROCESS), tag], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function ready(proc: ChildProcess): Promise<void> {
  const [line] = (await once(proc.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  expect(line.toString()).toBe('ready\n');
}

describe('appends from two processes', () => {
  it('never share a predecessor: the chain verifies and the sequence has no gap or repeat', async () => {
    const { store, path } = stores.open();
    store.append('shared', { title: 'first', content: 'parent' });
    const procs = [start(path, 'a'), start(path, 'b')];
    await Promise.all(procs.map(ready));
    const exits = procs.map((p) => once(p, 'exit'));
    for (const p of procs) p.stdin?.write('go\n');
    expect((await Promise.all(exits)).map(([code]) => code)).toEqual([0, 0]);

    expect(store.verifyChain('shared')).toEqual({ count: 1 + 2 * PER_PROCESS });
    const entries = store.page('shared', { pageSize: 10_000 }).entries;
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 1 + 2 * PER_PROCESS }, (_, i) => i + 1));
    for (const tag of ['a', 'b']) {
      const own = entries.filter((e) => e.content === tag).map((e) => e.title);
      expect(own).toEqual(Array.from({ length: PER_PROCESS }, (_, i) => `${tag}${i}`));
    }
  });
});
