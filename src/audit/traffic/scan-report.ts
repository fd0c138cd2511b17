/**
 * What `paygate audit scan` finds in a capture, as data: the `--json` output, and what
 * `paygate audit report` renders as HTML. Snake_case keys, because auditors' tools read it.
 *
 * Every count here is exact (the scan streams the whole capture); lists that could grow with
 * the capture (anomalies) hold the first {@link MAX_LISTED_ANOMALIES} with the total beside.
 */

/** The `paygate_traffic_scan` version of this document. */
export const SCAN_REPORT_VERSION = 1;

/** Anomalies listed one by one; beyond this only their counts by kind grow. */
export const MAX_LISTED_ANOMALIES = 1000;

/** What a captured message is, from its destination. */
export const MESSAGE_KINDS = ['request', 'reply', 'events', 'dead_letter', 'other'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** The kinds of anomaly the scan reports; each is a reason for a failed verdict. */
export const ANOMALY_KINDS = [
  /** The body is not S/MIME: the message crossed the broker readable. */
  'clear_body',
  /** S/MIME headers, but the CMS inside does not parse, or is not an encrypted envelope (a bare signature). */
  'not_encrypted',
  /** A Luhn-valid card number in a header or in the body as sent. */
  'card_data',
  /** RSAES-PKCS1-v1_5 key transport (Bleichenbacher / Marvin). */
  'weak_key_transport',
  /** ECDH with a SHA-1 key-derivation function. */
  'weak_kdf',
  /** An RSA recipient key under 2048 bits (read from the size of its encrypted key). */
  'short_rsa_key',
  /** AES-CBC without authentication where the deployment requires GCM. */
  'unauthenticated_cipher',
  /** A content cipher or key management the crypto profile does not list. */
  'unknown_algorithm',
  /** A recipient (issuer and serial) that is none of the known certificates. */
  'unknown_recipient',
  /** A captured request or reply with no audit record naming its body digest. */
  'unrecorded_message',
  /** An audit record whose request (or reply) body digest was never seen on the wire. */
  'unseen_message',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/**
 * One anomaly: where it is, never the data itself. Every text of a ScanReport (details, names,
 * destinations) has its card numbers masked (first 6 / last 4 at most).
 */
export interface Anomaly {
  readonly kind: AnomalyKind;
  /** The capture record (absent for an anomaly found in the trail: `unseen_message`). */
  readonly seq?: number;
  readonly time?: string;
  readonly destination?: string;
  readonly body_sha256?: string;
  /** The audit record's request id, where one is involved. */
  readonly request_id?: string;
  /** What is wrong, for a reader: e.g. "key transport rsaes-pkcs1-v1_5 to CN=paygate dev gateway, serial 0a1b". */
  readonly detail: string;
}

/** One recipient of an envelope, as the CMS names it. */
export interface RecipientSeen {
  /** The issuer's distinguished name (RFC 4514 string), or `subjectKeyIdentifier:<hex>` for a SKI recipient. */
  readonly issuer: string;
  /** Serial number, lower-case hex without leading zeros (empty for a SKI recipient). */
  readonly serial: string;
  /** Messages addressed to it. */
  readonly messages: number;
  /** The known certificate it names, when one was given. */
  readonly certificate?: { readonly subject: string; readonly not_after: string; readonly days_to_expiry: number };
}

/** One row of the cipher inventory (PCI DSS v4.0 requirement 12.3.3). */
export interface CipherUse {
  /** `aes-256-gcm`, `aes-256-cbc`, or the OID of anything else. */
  readonly content_encryption: string;
  /** `rsaes-oaep-sha256`, `rsaes-pkcs1-v1_5`, `ecdh-p256-sha256kdf-aes256wrap`, … or an OID. */
  readonly key_management: string;
  /** RSA modulus bits for key transport (from the encrypted key's size), absent for ECDH. */
  readonly rsa_bits?: number;
  readonly messages: number;
  /** `approved`: written or read by the crypto profile; `weak` / `refused`: an anomaly kind names why. */
  readonly status: 'approved' | 'weak' | 'refused';
}

/** A certificate given to the scan (`--certs`), with its expiry. */
export interface CertificateInventoryRow {
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly sha256: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly days_to_expiry: number;
  /** Recipients seen naming it. */
  readonly messages_to: number;
}

/** Traffic per provider (from destinations) and per type (from the audit trail: the type is encrypted on the wire). */
export interface ProviderTraffic {
  readonly provider: string;
  readonly requests: number;
  readonly replies: number;
  readonly dead_letters: number;
  /** From the audit trail, by request type; empty without a trail. */
  readonly by_type: readonly { readonly type: string; readonly count: number }[];
}

/** The audit trail side, when one was given (`--feed URL --token T` or `--db FILE`). */
export interface TrailSide {
  /** Where it was read (a URL or a path; never a token). */
  readonly source: string;
  readonly records: number;
  readonly first_time?: string;
  readonly last_time?: string;
  /** Captured requests / replies whose digest an audit record names. */
  readonly matched_requests: number;
  readonly matched_replies: number;
  /**
   * Captured replies no record names by digest, tied instead by their `correlation-id` to a
   * recorded request: an answer sent again (a request redelivered after a worker lost its
   * connection between its reply and its ACK is one record and two replies). Not anomalies.
   */
  readonly replies_by_correlation: number;
  /**
   * At most this many replies per correlation id are tied that way (a request redelivered a
   * couple of times); every further one is `unrecorded_message`.
   */
  readonly replies_by_correlation_limit: number;
  /**
   * Trail records the capture was expected to hold (those inside the capture's time window):
   * a short capture checks few records, and this says how few.
   */
  readonly records_expected: number;
  /** Captured requests and replies judged against the trail (those up to the trail's last record). */
  readonly messages_judged: number;
  /** Refused or dead-lettered requests, by outcome code. */
  readonly refusals: readonly { readonly code: string; readonly count: number }[];
  /** The hash chain's verification (`paygate audit verify`), when the report ran it. */
  readonly chain?: {
    readonly intact: boolean;
    readonly entries: number;
    readonly checkpoints: number;
    readonly broken?: { readonly seq: number; readonly id: string; readonly problem: string; readonly detail: string };
  };
}

/** What a capture cannot show, whatever the verdict says. */
export const LIMITATION_KINDS = [
  /**
   * The capture keeps no STOMP headers (RabbitMQ's firehose read over STOMP drops them): card
   * numbers in headers cannot be looked for, and a reply sent again cannot be tied to its
   * request by correlation id.
   */
  'headers_not_captured',
] as const;
export type LimitationKind = (typeof LIMITATION_KINDS)[number];

/** A limitation of the scan: a clean verdict holds only within it. */
export interface Limitation {
  /** The capture source (`rabbitmq`, …) it comes from. */
  readonly source: string;
  readonly limitation: LimitationKind;
  /** What could not be checked, for a reader. */
  readonly detail: string;
}

/** The scan's findings. */
export interface ScanReport {
  readonly paygate_traffic_scan: typeof SCAN_REPORT_VERSION;
  readonly generated_at: string;
  /** `clean` only when there is no anomaly at all. */
  readonly verdict: 'clean' | 'anomalies';
  /** What the scan could not check on this capture (empty when nothing): a clean verdict holds only within these. */
  readonly limitations: readonly Limitation[];
  readonly capture: {
    readonly path: string;
    readonly segments: number;
    readonly messages: number;
    readonly bytes: number;
    readonly first_time?: string;
    readonly last_time?: string;
    readonly sources: readonly string[];
  };
  /** The policy the scan applied. */
  readonly policy: { readonly require_gcm: boolean; readonly min_rsa_bits: number; readonly known_recipients: number };
  readonly counts: Readonly<Record<MessageKind, number>> & { readonly encrypted: number; readonly clear: number };
  readonly providers: readonly ProviderTraffic[];
  readonly ciphers: readonly CipherUse[];
  readonly recipients: readonly RecipientSeen[];
  readonly certificates: readonly CertificateInventoryRow[];
  readonly anomalies: {
    readonly total: number;
    readonly by_kind: Readonly<Partial<Record<AnomalyKind, number>>>;
    readonly listed: readonly Anomaly[];
  };
  readonly trail?: TrailSide;
}
