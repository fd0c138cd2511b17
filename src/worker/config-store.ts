/**
 * The `idempotency:` part of the configuration file (config.ts): the store's engine and its
 * settings. `path` selects SQLite (one file shared by the workers of this host), `url` selects
 * PostgreSQL (one database every gateway host shares); never both.
 *
 * Kept apart from config.ts only for size; the rules are the same (messages name keys, never a
 * value: the URL holds a password).
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { durationSchema } from './config-duration.ts';
import { hasSecretParameter } from './postgres-options.ts';

/** `7d`, `36h`, `90m`, `30s`, `500ms`. */
const duration = durationSchema;
const filePath = z.string().min(1);

/** What each key expects and how to fix it (merged into config.ts's CONFIG_KEYS). */
export const STORE_CONFIG_KEYS: Readonly<Record<string, { readonly expect: string; readonly fix: string }>> = Object.freeze({
  idempotency: { expect: 'a mapping with either path (SQLite) or url (PostgreSQL), and retention, lease', fix: 'give the idempotency store as {path} for one host, or {url: postgres://…} for several' },
  'idempotency.path': { expect: 'a file path', fix: 'give the SQLite file shared by the workers of this host (or url: the PostgreSQL database several hosts share)' },
  'idempotency.url': { expect: 'a postgres://user:password@host:port/database URL (no password among its query parameters)', fix: 'give the PostgreSQL database all gateway hosts share; keep the password out of the file with ${env:NAME}' },
  'idempotency.pool_size': { expect: 'a whole number of connections, 1 to 1000 (PostgreSQL only)', fix: 'give the connections each worker process may open, or leave it out (8)' },
  'idempotency.retention': { expect: 'a duration such as 7d, 36h, 90m, 30s or 500ms', fix: 'write a whole number followed by ms, s, m, h or d' },
  'idempotency.lease': { expect: 'a duration such as 60s, longer than every provider call may take', fix: 'write a whole number followed by ms, s, m, h or d, above every providers[].timeout_ms' },
});

/** The section's schema (snake_case, as written). */
export const storeSectionSchema = z
  .strictObject({
    path: filePath.optional(),
    url: z.string().regex(/^postgres(ql)?:\/\/./).refine((url) => !hasSecretParameter(url)).optional(),
    pool_size: z.number().int().positive().max(1_000).optional(),
    retention: duration.optional(),
    lease: duration.optional(),
  })
  .superRefine((store, ctx) => {
    // One engine: the SQLite file of this host, or the PostgreSQL database all hosts share.
    if (store.path === undefined && store.url === undefined) {
      const params = { problem: 'missing: neither path (SQLite) nor url (PostgreSQL) is given', fix: STORE_CONFIG_KEYS['idempotency.path']?.fix ?? '' };
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'missing', params });
    }
    if (store.path !== undefined && store.url !== undefined) {
      const params = { problem: 'both path and url are given: the store has one engine', fix: 'keep path (SQLite, one host) or url (PostgreSQL, several hosts), not both' };
      ctx.addIssue({ code: 'custom', path: [], message: 'one engine', params });
    }
    if (store.pool_size !== undefined && store.url === undefined) {
      const params = { problem: 'pool_size applies to PostgreSQL only', fix: 'remove pool_size, or give url instead of path' };
      ctx.addIssue({ code: 'custom', path: ['pool_size'], message: 'postgres only', params });
    }
  });

/** The `idempotency:` section as the store's options: a relative `path` resolved against the config's folder. */
export function storeOptionsOf(
  section: { path?: string | undefined; url?: string | undefined; pool_size?: number | undefined; retention?: number | undefined; lease?: number | undefined },
  baseDir: string,
): Record<string, unknown> {
  const timings = {
    ...(section.retention === undefined ? {} : { retentionMs: section.retention }),
    ...(section.lease === undefined ? {} : { leaseMs: section.lease }),
  };
  if (section.url !== undefined) return { url: section.url, ...(section.pool_size === undefined ? {} : { poolSize: section.pool_size }), ...timings };
  const path = section.path ?? '';
  return { path: isAbsolute(path) ? path : resolve(baseDir, path), ...timings };
}
