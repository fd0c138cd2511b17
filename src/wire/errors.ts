import { PaygateError } from '../errors.ts';

/**
 * Stable codes of every failure in the wire layer. Documented one by one in docs/errors.md;
 * a code never changes meaning once released.
 */
export const WIRE_ERROR_CODES = [
  /** The S/MIME entity's headers or transfer encoding cannot be read. */
  'MALFORMED_MIME',
  /** The DER/CMS structure is not what RFC 5652 / 5083 / 8551 describe. */
  'MALFORMED_CMS',
  /** The message is not an encrypted CMS envelope (e.g. signed only): nothing may cross in clear. */
  'NOT_ENCRYPTED',
  /** None of the message's recipients is the key we were given. */
  'NOT_A_RECIPIENT',
  /** The content-encryption key or the content could not be decrypted (tampering, wrong key). */
  'DECRYPT_FAILED',
  /** An algorithm outside the crypto profile (docs/security.md). */
  'UNSUPPORTED_ALGORITHM',
  /** RSA PKCS#1 v1.5 key transport: refused, it is open to padding-oracle attacks. */
  'INSECURE_KEY_TRANSPORT',
  /** The decrypted content carries no signature. */
  'UNSIGNED',
  /** A signature or the signed message digest does not verify. */
  'BAD_SIGNATURE',
  /** The signer's certificate does not chain to a trust anchor. */
  'UNTRUSTED_SIGNER',
  /** A certificate in the signer's chain is outside its validity period. */
  'CERT_EXPIRED',
  /** A certificate or key given to us cannot be parsed or does not fit its use. */
  'BAD_KEY',
  /** The YAML text is not a plain YAML 1.2 document (syntax, tags, anchors/aliases). */
  'YAML_INVALID',
  /** The YAML text exceeds its size or nesting-depth limit. */
  'YAML_LIMIT',
  /** The sealed S/MIME body exceeds the size limit; refused before any decoding. */
  'BODY_TOO_LARGE',
  /** A decoded document does not match the wire schema (the path is in the message). */
  'SCHEMA_INVALID',
  /** A signer's certificate chains to a trust anchor but lacks the role (client, gateway, feed) this message needs. */
  'WRONG_SIGNER_ROLE',
  /** A card number in a field that is not a card field (order id, idempotency key, free text). */
  'CARD_DATA_IN_TEXT',
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/**
 * A failure to seal, open, encode or decode a wire message.
 *
 * Messages never contain card data or key material: they name the structure that failed.
 */
export class WireError extends PaygateError {
  declare readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
