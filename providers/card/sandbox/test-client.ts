/**
 * Test helpers for the sandbox's suites: a real `soap` client (WSDL fetched from the sandbox,
 * WS-Security UsernameToken, TLS trusting the dev CA through an axios instance with its own
 * https agent: soap 1.x's `request` option) and a raw HTTPS poster that shows the exact bytes.
 * No paygate transport code on purpose: the sandbox is checked against an independent client.
 */
import { Agent, request } from 'node:https';
import axios from 'axios';
import * as soap from 'soap';
import type { CardSandbox } from './sandbox.ts';

export const USERNAME = 'merchant-1';
export const PASSWORD = 'sandbox-secret-1';
/** A far-future expiry for approved cards. */
export const EXP = { ExpMonth: 12, ExpYear: 2039 };

/** A soap client of `sandbox` with a UsernameToken (`PasswordText` unless told). */
export async function cardClient(
  sandbox: CardSandbox,
  caPem: string,
  credentials: { username?: string; password?: string; passwordType?: 'PasswordText' | 'PasswordDigest' } = {},
): Promise<soap.Client> {
  const httpsAgent = new Agent({ ca: caPem, keepAlive: false });
  // soap's types name axios's CommonJS build, this import resolves to its ESM types: same object.
  const requester = axios.create({ httpsAgent, timeout: 5_000 }) as unknown as NonNullable<soap.IOptions['request']>;
  const client = await soap.createClientAsync(sandbox.wsdlUrl, { request: requester });
  client.setSecurity(
    new soap.WSSecurity(credentials.username ?? USERNAME, credentials.password ?? PASSWORD, {
      passwordType: credentials.passwordType ?? 'PasswordText',
    }),
  );
  return client;
}

/** Calls `operation` and returns the parsed result. */
export async function call(client: soap.Client, operation: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const method = client[`${operation}Async`] as (args: unknown) => Promise<[Record<string, unknown>]>;
  const [result] = await method.call(client, args);
  return result;
}

/** Calls `operation` expecting a SOAP fault; returns the parsed Fault element. */
export async function fault(client: soap.Client, operation: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  try {
    await call(client, operation, args);
  } catch (error) {
    const root = (error as { root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } } }).root;
    const found = root?.Envelope?.Body?.Fault;
    if (found) return found;
    throw error;
  }
  throw new Error(`${operation} answered without a fault`);
}

/** A SOAP 1.1 envelope for `operation` with a PasswordText UsernameToken. */
export function envelope(operation: string, inner: string, username = USERNAME, password = PASSWORD): string {
  const wsse = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
  const text = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
    `<soap:Header><wsse:Security xmlns:wsse="${wsse}"><wsse:UsernameToken><wsse:Username>${username}</wsse:Username>` +
    `<wsse:Password Type="${text}">${password}</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header>` +
    `<soap:Body><${operation}Request xmlns="urn:paygate:sandbox:cardgate:v1">${inner}</${operation}Request></soap:Body></soap:Envelope>`
  );
}

/** What a raw exchange ended with: an answer, or the socket error's code. */
export type RawResult =
  | { kind: 'answer'; status: number; contentType: string; body: string }
  | { kind: 'error'; code: string };

/** POSTs (or GETs, without `body`) to `url` and reports exactly what came back. */
export function rawRequest(url: string, caPem: string, body?: string, timeoutMs = 5_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        ca: caPem,
        agent: false,
        headers: body === undefined ? {} : { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'error', code: error.code ?? error.message }));
        res.on('end', () =>
          resolve({
            kind: 'answer',
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'error', code: error.code ?? error.message }));
    req.end(body);
  });
}
