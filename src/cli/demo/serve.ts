/**
 * `paygate demo --serve`: after the tour, everything keeps running and the user gets what they
 * need to connect — the broker URL, the certificates, the client config this folder holds, the
 * status URLs — and a ready-to-paste `paygate request` command with an example payment, until
 * Ctrl-C (or SIGTERM) drains the gateway.
 */
import { join } from 'node:path';
import type { DemoParts } from './environment.ts';
import { curlCommand } from './feed.ts';
import type { Output } from './report.ts';

/**
 * Whether this is a checkout running the TypeScript sources: only there is the storefront
 * example (TypeScript, importing the sources) runnable as printed. An installed package runs
 * compiled JavaScript and has neither the example's imports nor tsx.
 */
const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

/** A path as one shell word: as it is when it is plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The exact command that sends the example payment through the running demo. */
export function requestCommandLine(parts: Pick<DemoParts, 'layout'>): string {
  const { exampleData, clientConfig } = parts.layout;
  return `npx paygate request card authorize --data ${shellWord(exampleData)} --config ${shellWord(clientConfig)}`;
}

/** The connection block `--serve` prints. */
export function connectionInfo(parts: Pick<DemoParts, 'layout' | 'broker' | 'sandboxes' | 'statusUrl' | 'feed'>): string[] {
  const { layout, broker, sandboxes, statusUrl, feed } = parts;
  const certs = layout.certsDir;
  return [
    `paygate demo is running; Ctrl-C stops it (the folder ${layout.dir} is kept).`,
    `  broker         ${broker.url}  (embedded STOMP, no login)`,
    `  certificates   ${join(certs, 'ca.crt')}  (the CA both sides trust)`,
    `                 ${join(certs, 'client.crt')}, ${join(certs, 'client.key')}  (the storefront: signs requests)`,
    `                 ${join(certs, 'gateway.crt')}  (the gateway: encrypt requests to it, it signs replies)`,
    `                 ${join(certs, 'feed.crt')}  (the feed server: the gateway's events are encrypted to it, it signs checkpoints)`,
    `  client config  ${layout.clientConfig}`,
    `  example data   ${layout.exampleData}  (an approved test card)`,
    ...(statusUrl === undefined ? [] : [`  metrics        ${statusUrl}/metrics`, `  healthz        ${statusUrl}/healthz`]),
    `  gateway config ${layout.gatewayConfig}`,
    `  gateway log    ${layout.gatewayLog}`,
    `  sandboxes      card ${sandboxes.card.url}, paypal ${sandboxes.paypal.url}, giftcard ${sandboxes.giftcard.url}`,
    `  feed server    ${feed.url}  (Atom feeds audit and payments; token ${feed.token})`,
    `  feed config    ${layout.feedConfig}`,
    'Send your own payment:',
    `  ${requestCommandLine(parts)}`,
    ...(RUNNING_FROM_SOURCES
      ? ['Or a whole order from code, through the typed SDK (examples/demo-storefront.ts):', `  npx tsx examples/demo-storefront.ts ${shellWord(layout.dir)}`]
      : []),
    'Then read the payments feed (and /feeds/audit, the audit trail) the gateway filled:',
    `  ${curlCommand(feed)}`,
  ];
}

/** Prints the connection block and resolves when `signal` aborts (Ctrl-C, SIGTERM). */
export async function serve(parts: DemoParts, out: Output, signal: AbortSignal): Promise<void> {
  out.lines(...connectionInfo(parts));
  if (signal.aborted) return;
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  out.lines('paygate demo: stopping (draining the gateway)…');
}
