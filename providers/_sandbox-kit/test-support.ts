/**
 * Helpers for the sandboxes' own tests: a sandbox on the dev TLS certificate and a plain undici
 * client trusting the dev CA (deliberately not paygate's transports, which are tested against
 * the sandboxes, not the other way round).
 */
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { makeTestPki } from '../../test/helpers/pki.ts';

/** What the fixture needs of a sandbox. */
export interface ResettableSandbox {
  readonly url: string;
  readonly isDown: boolean;
  up(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

/** A sandbox and a client for one test file; reset after every test, closed after all. */
export interface SandboxFixture<Sandbox extends ResettableSandbox> {
  sandbox: Sandbox;
  agent: Agent;
}

/** Registers the hooks and returns the fixture (filled in `beforeAll`) of the sandbox `start` starts. */
export function useSandboxFixture<Sandbox extends ResettableSandbox>(
  start: (tls: { cert: string; key: string }) => Promise<Sandbox>,
): SandboxFixture<Sandbox> {
  const fixture = {} as SandboxFixture<Sandbox>;
  beforeAll(async () => {
    const pki = await makeTestPki();
    fixture.sandbox = await start({ cert: pki.tls.certPem, key: pki.tls.keyPem });
    fixture.agent = new Agent({ connect: { ca: pki.ca.certPem }, keepAliveTimeout: 1000 });
  });
  afterEach(async () => {
    if (fixture.sandbox.isDown) await fixture.sandbox.up();
    fixture.sandbox.reset();
  });
  afterAll(async () => {
    await fixture.agent?.close();
    await fixture.sandbox?.close();
  });
  return fixture;
}

/** A raw HTTP answer. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** POSTs `body` to the sandbox and returns the undici response (body unread). */
export function sendRaw(
  fixture: SandboxFixture<ResettableSandbox>,
  body: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
) {
  return request(fixture.sandbox.url, { method: 'POST', dispatcher: fixture.agent, headers, body, ...(signal ? { signal } : {}) });
}

/** Reads an undici response into a {@link RawAnswer}. */
export async function rawAnswer(answer: Awaited<ReturnType<typeof request>>): Promise<RawAnswer> {
  return { status: answer.statusCode, contentType: String(answer.headers['content-type']), body: await answer.body.text() };
}

/** Reads a `malformed: 'truncated'` answer: the declared length, the text received, and the failure that cut it. */
export async function readTruncated(answer: Awaited<ReturnType<typeof request>>): Promise<{ declared: number; text: string; failure: unknown }> {
  const declared = Number(answer.headers['content-length']);
  const received: Buffer[] = [];
  let failure: unknown;
  try {
    for await (const chunk of answer.body) received.push(chunk as Buffer);
  } catch (error) {
    failure = error;
  }
  return { declared, text: Buffer.concat(received).toString(), failure };
}
