/**
 * `startCardSandbox`: CardGate on loopback — a real `node:https` server with `soap.listen`
 * serving `card.wsdl`, the {@link createGate gate} in front for the knobs, and a ledger.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import { OPERATIONS, type Operation } from './codes.ts';
import { authenticationFault } from './faults.ts';
import { createGate, type GateOptions } from './gate.ts';
import { defaultKnobs, type CardSandboxKnobs } from './knobs.ts';
import { CardLedger } from './ledger.ts';
import { cardSandboxOptionsSchema, type CardSandboxOptions, type ResolvedCardSandboxOptions } from './options.ts';
import { CardProcessor } from './processor.ts';
import { scrub } from './scrub.ts';
import { createCardGateService } from './service.ts';
import { checkUsernameToken } from './ws-security.ts';

/** Where `card.wsdl` lives (the plugin's copy; the sandbox serves it with its own address). */
export const CARD_WSDL_PATH = fileURLToPath(new URL('../card.wsdl', import.meta.url));

/** The placeholder address in `card.wsdl`, replaced by the sandbox's when served. */
const WSDL_PLACEHOLDER = 'https://127.0.0.1:8443/cardgate';

/** A running CardGate sandbox. */
export interface CardSandbox {
  /** The SOAP endpoint, e.g. `https://127.0.0.1:40123/cardgate`. */
  readonly url: string;
  /** The WSDL (`<url>?wsdl`), whose soap:address is `url`. */
  readonly wsdlUrl: string;
  readonly host: string;
  readonly port: number;
  /** Every Authorize/Sale and approved Capture/Refund/Void; masked card data only. */
  readonly ledger: CardLedger;
  /** Mutable; see knobs.ts. */
  readonly knobs: CardSandboxKnobs;
  /** SOAP requests received per operation, counted before any knob acts. */
  readonly calls: Readonly<Record<Operation, number>>;
  /** Whether `down()` closed the listening socket. */
  readonly isDown: boolean;
  /** Stops listening and drops every connection: new calls get ECONNREFUSED. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Back to a fresh sandbox: empty ledger, zero calls, default knobs, listening (not after `close()`). */
  reset(): Promise<void>;
  /** Stops the server for good, dropping every connection (held ones included). */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Attaches `soap` to `server` and resolves once it listens for SOAP requests. */
function attachSoap(
  server: Server,
  options: ResolvedCardSandboxOptions,
  url: string,
  processor: CardProcessor,
  log: (line: string) => void,
) {
  const xml = readFileSync(CARD_WSDL_PATH, 'utf8').replace(WSDL_PLACEHOLDER, url);
  return new Promise<soap.Server>((resolve, reject) => {
    const soapServer = soap.listen(server, {
      path: options.path,
      services: createCardGateService(processor, log),
      xml,
      suppressStack: true,
      enableChunkedEncoding: false,
      callback: (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(soapServer)),
    });
    soapServer.authenticate = (security: unknown) => {
      if (checkUsernameToken(security, options.username, options.password)) return true;
      log('authentication failed: missing or wrong WS-Security UsernameToken');
      // Thrown, soap answers a SOAP 1.1 fault (returning false would give a SOAP 1.2 one).
      throw authenticationFault();
    };
    soapServer.log = (type: string, data: unknown) => {
      if (type === 'received' || type === 'replied') log(`${type} ${String(data)}`);
      else if (type === 'error') log(`error ${data instanceof Error ? data.message : 'fault'}`);
    };
  });
}

/** Replaces soap's request listener by the gate, which hands requests on to it. */
function putGateInFront(server: Server, options: Omit<GateOptions, 'soap'>): void {
  const [soapListener] = server.listeners('request') as GateOptions['soap'][];
  if (!soapListener) throw new Error('soap did not attach to the server');
  server.removeAllListeners('request');
  server.on('request', createGate({ ...options, soap: soapListener }));
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts a CardGate sandbox (see providers/card/README.md). */
export async function startCardSandbox(input: CardSandboxOptions): Promise<CardSandbox> {
  const options = cardSandboxOptionsSchema.parse(input);
  // Every line, soap's envelopes included, is scrubbed before the sink sees it.
  const log = (line: string) => options.log?.(scrub(line));
  const ledger = new CardLedger();
  const processor = new CardProcessor(ledger);
  const knobs = defaultKnobs();
  const calls = Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as Record<Operation, number>;
  const held = new Set<ServerResponse>();
  const server = createServer({ cert: options.tls.cert, key: options.tls.key }, (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  const port = await listen(server, options.port, options.host);
  const url = `https://${urlHost(options.host)}:${port}${options.path}`;
  try {
    await attachSoap(server, options, url, processor, log);
    putGateInFront(server, { path: options.path, knobs, calls, maxBodyBytes: options.maxBodyBytes, held, log });
  } catch (error) {
    await stop(server);
    throw error;
  }
  log(`CardGate sandbox listening on ${url}`);

  let down = false;
  let closed = false;
  const sandbox: CardSandbox = {
    url,
    wsdlUrl: `${url}?wsdl`,
    host: options.host,
    port,
    ledger,
    knobs,
    calls,
    get isDown() {
      return down;
    },
    async down() {
      if (down) return;
      down = true;
      await stop(server);
      log('down: not listening');
    },
    async up() {
      if (closed) throw new Error('the sandbox is closed');
      if (!down) return;
      await listen(server, port, options.host);
      down = false;
      log(`up: listening on ${url}`);
    },
    async reset() {
      ledger.clear();
      for (const op of OPERATIONS) calls[op] = 0;
      Object.assign(knobs, defaultKnobs());
      await sandbox.up();
    },
    async close() {
      closed = true;
      down = true;
      if (server.listening) await stop(server);
      held.clear();
    },
  };
  return sandbox;
}
