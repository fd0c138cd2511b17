/**
 * The payload digest the idempotency store compares (docs/idempotency.md, "What is stored").
 *
 * Why keyed: the store only needs equality ("same key, same payload?"), and it lives on disk for
 * `retentionMs` (a week by default). A plain SHA-256 over a payload holding a 16-digit PAN can be
 * brute-forced (PANs have little entropy once the brand and Luhn digit are known), and PCI DSS
 * 4.0 (3.5.1.1) asks for keyed hashes of PANs. So the digest is HMAC-SHA-256.
 *
 * Why this key: every worker of a gateway must compute the same digest for the same request
 * (they share the store, and a retry may land on another process), and the key must not be
 * something an attacker holding the store file also holds. The gateway's private key fits both:
 * every worker has it, and it is already the gateway's most guarded secret. The HMAC key is
 * derived from it with HKDF-SHA-256 (over its PKCS#8 DER, with a purpose label), so the private
 * key itself is never used for anything but its own algorithms. Renewing the gateway key changes
 * the digests: a retry across a key renewal is then a `conflict`, never a double charge.
 *
 * What is digested: the request type, the signer's certificate fingerprint and the payload as
 * the action's schema VALIDATED it, written by `encodeYaml` (deterministic: schema key order, and
 * the one writer that puts card numbers in clear; `JSON.stringify` would see the masks). So two
 * spellings of the same operation (`4111 1111 1111 1111` and `4111111111111111`, keys in another
 * order) have one digest, and the client need not normalise anything before sending. A payload
 * the YAML writer cannot express (a schema whose output holds a class instance) falls back to the
 * raw decoded payload as canonical JSON. The type and signer make the same key used for another
 * action or by another client a `conflict` rather than someone else's stored reply.
 */
import { createHmac, hkdfSync, type KeyObject } from 'node:crypto';
import { encodeYaml } from '../wire/index.ts';

/** The HKDF `info` label: changing it (a new digest format) makes every stored digest differ. */
const DIGEST_INFO = 'paygate idempotency digest v1';

/** Derives the HMAC key of {@link payloadDigest} from the gateway's private key (32 bytes). */
export function deriveDigestKey(gatewayPrivateKey: KeyObject): Buffer {
  const der = gatewayPrivateKey.export({ type: 'pkcs8', format: 'der' });
  return Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), DIGEST_INFO, 32));
}

/** What identifies a logical operation's content. */
export interface DigestInput {
  /** The request type, e.g. `authorize`. */
  readonly type: string;
  /** Hex SHA-256 fingerprint of the signer's certificate. */
  readonly signerFingerprint: string;
  /** The payload as the action's request schema parsed it (card numbers as secrets). */
  readonly payload: unknown;
  /** The request's `payload` mapping as decoded from YAML: digested only when `payload` cannot be written as YAML. */
  readonly rawPayload: unknown;
}

/** Hex HMAC-SHA-256 of the type, the signer and the normalised payload under `key` (from {@link deriveDigestKey}). */
export function payloadDigest(key: Buffer, input: DigestInput): string {
  let payload: string;
  try {
    payload = `yaml:${encodeYaml(input.payload)}`;
  } catch {
    payload = `json:${canonicalJson(input.rawPayload)}`;
  }
  const header = canonicalJson({ v: 2, type: input.type, signer: input.signerFingerprint });
  return createHmac('sha256', key).update(header, 'utf8').update('\n').update(payload, 'utf8').digest('hex');
}

/**
 * JSON with object keys sorted at every level, so that two mappings with the same content give
 * the same text whatever their key order. Only YAML's plain data is expected; anything else (a
 * class instance, a function) is refused, because its JSON form could hide its content.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : `{"$number":"${String(value)}"}`;
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('canonicalJson: plain data only');
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot digest a ${typeof value}`);
}
