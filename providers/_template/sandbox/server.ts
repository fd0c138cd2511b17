/**
 * The template sandbox: a real HTTPS server on loopback (the dev TLS certificate) that speaks
 * the template provider's protocol (form POSTs to `/charge` and `/status`) from its
 * {@link Ledger}, with a `down()`/`up()` knob: while down, every connection is reset before
 * the TLS handshake, as an unreachable provider would.
 * TODO(sandbox): your provider's paths and body format.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Ledger } from './ledger.ts';

/** What {@link startSandbox} needs. */
export interface SandboxOptions {
  /** The server's certificate and key (PEM): the dev TLS identity. */
  readonly tls: { readonly cert: string; readonly key: string };
  /** The credentials the sandbox accepts. */
  readonly credentials: { readonly merchant_id: string; readonly api_key: string };
}

/** A running sandbox. */
export interface Sandbox {
  /** `https://127.0.0.1:<port>`: the worker config's `endpoint`. */
  readonly endpoint: string;
  readonly ledger: Ledger;
  /** Requests answered so far. */
  readonly requests: number;
  /** The raw request bodies received (they hold card data: tests only). */
  readonly rawBodies: readonly string[];
  /** Fail every call from now on (reset connections). */
  down(): Promise<void>;
  /** Answer again. */
  up(): void;
  stop(): Promise<void>;
}

const ROUTES: Readonly<Record<string, (ledger: Ledger, fields: URLSearchParams) => Record<string, string>>> = {
  '/charge': (ledger, fields) => ledger.charge(fields),
  '/status': (ledger, fields) => ledger.status(fields),
};

function serve(server: Server, ledger: Ledger, seen: { requests: number; bodies: string[] }): void {
  server.on('request', (request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const route = ROUTES[request.url ?? ''];
      if (request.method !== 'POST' || route === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('RESULT=ERROR&CODE=404');
        return;
      }
      seen.requests += 1;
      seen.bodies.push(body);
      const answer = new URLSearchParams(route(ledger, new URLSearchParams(body))).toString();
      response.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(answer);
    });
  });
}

/** Starts the sandbox on a free loopback port. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const ledger = new Ledger(options.credentials);
  const seen = { requests: 0, bodies: [] as string[] };
  let isDown = false;
  const server = createServer({ cert: options.tls.cert, key: options.tls.key });
  // While down, drop every new connection before the handshake: the client knows nothing was sent.
  server.on('connection', (socket: Socket) => {
    if (isDown) socket.destroy();
  });
  serve(server, ledger, seen);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    ledger,
    get requests() {
      return seen.requests;
    },
    get rawBodies() {
      return seen.bodies;
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
