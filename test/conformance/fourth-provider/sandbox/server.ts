/**
 * The loyalty sandbox: a real HTTPS server on loopback (the dev TLS certificate) answering XML
 * POSTs to `/points` from its {@link Accounts}, with the template's `down()`/`up()` knob.
 */
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import { Accounts, type Answer, type Fields } from './ledger.ts';

export interface LoyaltySandboxOptions {
  readonly tls: { readonly cert: string; readonly key: string };
  readonly credentials: { readonly merchant: string; readonly api_token: string };
}

export interface LoyaltySandbox {
  readonly endpoint: string;
  readonly accounts: Accounts;
  readonly requests: number;
  readonly rawBodies: readonly string[];
  down(): Promise<void>;
  up(): void;
  stop(): Promise<void>;
}

const parser = new XMLParser({ parseTagValue: false, processEntities: false });
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function toXml(answer: Answer): string {
  const children = Object.entries(answer).map(([name, value]) => `<${name}>${escape(value)}</${name}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><answer>${children}</answer>`;
}

/** The root element's name and its children as strings, or undefined for a body that is not one. */
function readRequest(body: string): { root: string; fields: Fields } | undefined {
  const document = parser.parse(body) as Record<string, unknown>;
  const root = Object.keys(document).find((name) => !name.startsWith('?'));
  const fields = root === undefined ? undefined : document[root];
  if (root === undefined || typeof fields !== 'object' || fields === null) return undefined;
  return { root, fields: fields as Fields };
}

export async function startLoyaltySandbox(options: LoyaltySandboxOptions): Promise<LoyaltySandbox> {
  const accounts = new Accounts(options.credentials);
  const bodies: string[] = [];
  let isDown = false;
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      bodies.push(body);
      const parsed = request.url === '/points' ? readRequest(body) : undefined;
      if (parsed === undefined) {
        response.writeHead(400, { 'content-type': 'application/xml' }).end(toXml({ result: 'refused', code: 'BADREQ' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/xml' }).end(toXml(accounts.answer(parsed.root, parsed.fields)));
    });
  });
  server.on('connection', (socket: Socket) => {
    if (isDown) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accounts,
    get requests() {
      return bodies.length;
    },
    get rawBodies() {
      return bodies;
    },
    async down() {
      isDown = true;
      server.closeAllConnections();
    },
    up() {
      isDown = false;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
