/** A real feed server on 127.0.0.1:0 over a temp-file store, with three clients, for the HTTP tests. */
import { createHash } from 'node:crypto';
import { afterAll } from 'vitest';
import { startFeedServer, type FeedServer, type FeedServerOptions, type FeedStore, type FeedStoreOptions } from '../../../src/feed/index.ts';
import { feedStores } from '../support.ts';

/** Bearer tokens of the configured clients. */
export const TOKENS = { admin: 'admin-token-1', reader: 'reader-token-2', widgets: 'widgets-token-3' } as const;

const sha = (token: string): string => createHash('sha256').update(token).digest('hex');

/** admin: read+append everywhere; reader: read everywhere; widgets: read+append on `widgets` only. */
export const CLIENTS: FeedServerOptions['clients'] = [
  { name: 'admin', tokenSha256: sha(TOKENS.admin), feeds: { '*': ['read', 'append'] } },
  { name: 'reader', tokenSha256: sha(TOKENS.reader), feeds: { '*': ['read'] } },
  { name: 'widgets', tokenSha256: sha(TOKENS.widgets), feeds: { widgets: ['read', 'append'] } },
];

/** What the server logged, to check that nothing of an entry's content reached the log. */
export interface LogLine { level: string; msg: string; fields?: Record<string, unknown> }

/** Starts servers on fresh stores; all are closed after the file's tests. */
export function feedServers(): { start: (options?: Partial<FeedServerOptions>, storeOptions?: Partial<FeedStoreOptions>) => Promise<{ server: FeedServer; store: FeedStore; path: string; logs: LogLine[] }> } {
  const stores = feedStores();
  const servers: FeedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  return {
    async start(options = {}, storeOptions = {}) {
      const { store, path } = stores.open(storeOptions);
      const logs: LogLine[] = [];
      const log = {
        info: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'info', msg, ...(fields ? { fields } : {}) }),
        warn: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'warn', msg, ...(fields ? { fields } : {}) }),
        error: (msg: string, fields?: Record<string, unknown>) => logs.push({ level: 'error', msg, ...(fields ? { fields } : {}) }),
      };
      const server = await startFeedServer(store, { listen: { host: '127.0.0.1', port: 0 }, clients: CLIENTS, log, ...options });
      servers.push(server);
      return { server, store, path, logs };
    },
  };
}

/** An Atom entry document (text content unless `type` is given; `body` is put in verbatim). */
export function atomEntry(title: string, body: string, type = 'text'): string {
  return `<?xml version="1.0" encoding="utf-8"?><entry xmlns="http://www.w3.org/2005/Atom"><title>${title}</title><content type="${type}">${body}</content></entry>`;
}

/** fetch with a bearer token. */
export function call(url: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return fetch(url, { ...init, headers });
}

/** POSTs an Atom entry as `application/atom+xml`. */
export function post(url: string, token: string, xml: string): Promise<Response> {
  return call(url, token, { method: 'POST', headers: { 'content-type': 'application/atom+xml;type=entry' }, body: xml });
}
