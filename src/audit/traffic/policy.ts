/**
 * The scan's judgement of the algorithms it found, against the crypto profile
 * (src/wire/profile.ts): what paygate writes or reads is approved; what it reads but an audit
 * should not accept (CBC where GCM is required, a SHA-1 KDF, a short RSA key) is weak; what it
 * refuses or does not know is refused. Each weak or refused finding names its anomaly kind.
 */
import type { AnomalyKind, CipherUse } from './scan-report.ts';

/** The policy a scan applies (ScanReport.policy, without the recipient count). */
export interface AlgorithmPolicy {
  readonly requireGcm: boolean;
  readonly minRsaBits: number;
}

/** A verdict on one algorithm: its status and, unless approved, why. */
export interface Judgement {
  readonly status: CipherUse['status'];
  readonly anomaly?: AnomalyKind;
}

const APPROVED: Judgement = { status: 'approved' };

/** RSAES-OAEP hashes the profile reads (open() requires the same hash for MGF1). */
const OAEP_APPROVED = new Set(['rsaes-oaep-sha256', 'rsaes-oaep-sha384', 'rsaes-oaep-sha512']);
/** ECDH on P-256 with the KDF hashes and key wraps the profile reads. */
const ECDH_APPROVED = /^ecdh-p256-sha(256|384|512)kdf-aes(128|192|256)wrap$/;
const ECDH_SHA1 = /^ecdh-p256-sha1kdf-aes(128|192|256)wrap$/;

/** The content cipher's verdict. */
export function judgeContent(cipher: string, policy: AlgorithmPolicy): Judgement {
  if (cipher === 'aes-256-gcm') return APPROVED;
  if (cipher === 'aes-256-cbc') return policy.requireGcm ? { status: 'weak', anomaly: 'unauthenticated_cipher' } : APPROVED;
  return { status: 'refused', anomaly: 'unknown_algorithm' };
}

/** The key management's verdict (the RSA key size is judged apart: {@link judgeRsaBits}). */
export function judgeKeyManagement(keyManagement: string): Judgement {
  if (OAEP_APPROVED.has(keyManagement) || ECDH_APPROVED.test(keyManagement)) return APPROVED;
  if (keyManagement === 'rsaes-pkcs1-v1_5') return { status: 'refused', anomaly: 'weak_key_transport' };
  if (ECDH_SHA1.test(keyManagement)) return { status: 'weak', anomaly: 'weak_kdf' };
  return { status: 'refused', anomaly: 'unknown_algorithm' };
}

/** An RSA modulus size's verdict (undefined bits: not RSA). */
export function judgeRsaBits(bits: number | undefined, policy: AlgorithmPolicy): Judgement {
  return bits !== undefined && bits < policy.minRsaBits ? { status: 'weak', anomaly: 'short_rsa_key' } : APPROVED;
}

const RANK: Readonly<Record<CipherUse['status'], number>> = { approved: 0, weak: 1, refused: 2 };

/** The worse of two statuses. */
export function worse(a: CipherUse['status'], b: CipherUse['status']): CipherUse['status'] {
  return RANK[a] >= RANK[b] ? a : b;
}
