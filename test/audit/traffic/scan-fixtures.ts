/**
 * Fixtures of the scan tests: sealed bodies (paygate's own seal and the real `openssl cms`),
 * captures written with the capture writer, and audit trails written to a real feed store the
 * way the events consumer appends them (one JSON audit record per entry, chained).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { bodyDigest, openCaptureWriter, type CaptureInput, type CaptureSource } from '../../../src/audit/capture/index.ts';
import { openSqliteFeedStore, type AppendRequest } from '../../../src/feed/index.ts';
import type { AuditRecord } from '../../../src/audit/events.ts';
import { Certificate, loadIdentity, seal, type Identity } from '../../../src/wire/index.ts';
import { openssl } from '../../helpers/openssl.ts';
import type { TestPki } from '../../helpers/pki.ts';

const roots: string[] = [];
afterAll(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(kind = 'scan'): string {
  const dir = mkdtempSync(join(tmpdir(), `paygate-${kind}-`));
  roots.push(dir);
  return dir;
}

/** Who seals what in the fixtures. */
export interface Parties {
  readonly pki: TestPki;
  readonly client: Identity;
  readonly gateway: Identity;
  readonly gatewayCert: Certificate;
  readonly clientCert: Certificate;
  readonly feedCert: Certificate;
  /** The PEM of every certificate a deployment expects as a recipient. */
  readonly knownPems: string[];
}

export function parties(pki: TestPki): Parties {
  return {
    pki,
    client: loadIdentity(pki.client.certPem, pki.client.keyPem),
    gateway: loadIdentity(pki.gateway.certPem, pki.gateway.keyPem),
    gatewayCert: Certificate.from(pki.gateway.certPem),
    clientCert: Certificate.from(pki.client.certPem),
    feedCert: Certificate.from(pki.feed.certPem),
    knownPems: [pki.gateway.certPem, pki.client.certPem, pki.feed.certPem],
  };
}

/** A request sealed as the SDK does (AES-256-GCM, OAEP-SHA-256 to the gateway), signed by the client. */
export function sealedRequest(p: Parties, text = `paygate_request: 1\nid: ${randomUUID()}\n`, cipher: 'aes-256-gcm' | 'aes-256-cbc' = 'aes-256-gcm'): Buffer {
  return Buffer.from(seal(text, { recipients: [p.gatewayCert], signer: p.client, cipher }), 'latin1');
}

/** A reply sealed to the client, signed by the gateway. */
export function sealedReply(p: Parties, text = `paygate_reply: 1\nid: ${randomUUID()}\n`): Buffer {
  return Buffer.from(seal(text, { recipients: [p.clientCert], signer: p.gateway }), 'latin1');
}

/** An events message sealed to the feed certificate. */
export function sealedEvents(p: Parties): Buffer {
  return Buffer.from(seal(`paygate_event: 1\nn: ${randomUUID()}\n`, { recipients: [p.feedCert], signer: p.gateway }), 'latin1');
}

/** `openssl cms -encrypt` of `text` to `certPath` (S/MIME output), with `-keyopt`s for that recipient. */
export function opensslEncrypt(certPath: string, args: readonly string[], keyopts: readonly string[] = [], text = 'paygate_request: 1\n'): Buffer {
  return openssl(['cms', '-encrypt', ...args, '-recip', certPath, ...keyopts], text);
}

/** A message of a capture, as a test writes it. */
export interface Message {
  readonly destination: string;
  readonly body: Buffer;
  readonly headers?: readonly (readonly [string, string])[];
  readonly time: Date;
  /** Where it was captured (default `embedded`). */
  readonly source?: CaptureSource;
}

/** Writes `messages` as a capture folder; returns its path. */
export async function writeCapture(messages: Iterable<Message>, dir = join(tempDir('capture'), 'capture')): Promise<string> {
  const writer = await openCaptureWriter(dir, { segmentBytes: 8 * 1024 * 1024 });
  for (const m of messages) {
    const input: CaptureInput = {
      source: m.source ?? 'embedded', destination: m.destination, body: m.body, time: m.time,
      headers: [['destination', m.destination], ...(m.headers ?? [])],
    };
    writer.write(input);
  }
  await writer.close();
  return dir;
}

/** One audit record as a worker writes it, for the body digests given. */
export function auditRecord(fields: {
  time: Date; provider?: string; type?: string; request: Buffer | string; reply?: Buffer | string; status?: AuditRecord['outcome']['status']; code?: string;
  durationMs?: number; requestId?: string;
}): AuditRecord {
  const digest = (b: Buffer | string): string => (typeof b === 'string' ? b : bodyDigest(b));
  return {
    time: fields.time.toISOString(),
    request_id: fields.requestId ?? randomUUID(),
    correlation_id: null,
    provider: fields.provider ?? 'card',
    type: fields.type ?? 'authorize',
    outcome: { status: fields.status ?? 'approved', ...(fields.code === undefined ? {} : { code: fields.code }) },
    replayed_from_store: false,
    request_body_sha256: digest(fields.request),
    ...(fields.reply === undefined ? {} : { reply_body_sha256: digest(fields.reply) }),
    worker: 'test-worker',
    duration_ms: fields.durationMs ?? 40,
  };
}

/** Writes `records` as feed `audit` of a new feed store (chained, one JSON entry each); returns the file. */
export function writeTrail(records: Iterable<AuditRecord>, path = join(tempDir('trail'), 'feed.sqlite')): string {
  const store = openSqliteFeedStore({ path });
  try {
    let batch: AppendRequest[] = [];
    const flush = (): void => {
      if (batch.length > 0) store.appendMany(batch);
      batch = [];
    };
    for (const record of records) {
      batch.push({
        feed: 'audit',
        entry: { title: `${record.provider} ${record.type ?? 'unknown'} ${record.outcome.status}`, content: JSON.stringify(record), contentType: 'application/json', key: randomUUID() },
        options: { chained: true },
      });
      if (batch.length >= 5000) flush();
    }
    flush();
  } finally {
    store.close();
  }
  return path;
}

/** Writes PEM text to a file in a temporary folder; returns the path. */
export function pemFile(pem: string, name = 'certs.pem'): string {
  const path = join(tempDir('pem'), name);
  writeFileSync(path, pem);
  return path;
}
