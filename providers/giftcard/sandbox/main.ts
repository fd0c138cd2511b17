/**
 * Starts the gift-card sandbox standalone and prints its URL and API key:
 *
 *     npx tsx providers/giftcard/sandbox/main.ts [--certs certs/dev] [--host 127.0.0.1] [--port 8443] [--path /svc]
 *
 * The TLS pair is `tls.crt` / `tls.key` of the certs folder (`npx paygate certs init --dir certs/dev`).
 * Log lines go to stderr; Ctrl-C (SIGINT) or SIGTERM stops it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startGiftcardSandbox } from './sandbox.ts';

const { values } = parseArgs({
  options: {
    certs: { type: 'string', default: 'certs/dev' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    path: { type: 'string', default: '/svc' },
  },
});

const sandbox = await startGiftcardSandbox({
  host: values.host,
  port: Number(values.port),
  path: values.path,
  tls: { cert: readFileSync(join(values.certs, 'tls.crt'), 'utf8'), key: readFileSync(join(values.certs, 'tls.key'), 'utf8') },
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`giftcard sandbox listening on ${sandbox.url}\nX-Api-Key: ${sandbox.apiKey}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void sandbox.close().then(() => process.exit(0)));
}
