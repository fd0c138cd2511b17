/**
 * One message's facts (inspect.ts) → the anomalies it raises and its rows in the cipher
 * inventory and the recipient list. One anomaly per message and kind: a message with 10,000
 * weak recipients is one `weak_key_transport`, whose detail names the first and the count.
 */
import type { CapturedMessage } from '../capture/record.ts';
import type { RecipientFacts } from './envelope-facts.ts';
import type { MessageFacts } from './inspect.ts';
import type { KnownCertificates } from './known-certs.ts';
import { judgeContent, judgeKeyManagement, judgeRsaBits, worse, type AlgorithmPolicy, type Judgement } from './policy.ts';
import type { Anomaly, AnomalyKind } from './scan-report.ts';
import type { Tally } from './tally.ts';

/** What judging needs besides the message. */
export interface JudgeContext {
  readonly tally: Tally;
  readonly policy: AlgorithmPolicy;
  /** Undefined when no certificate was given: then no recipient is unknown. */
  readonly known: KnownCertificates | undefined;
}

/** Where a message is, as anomalies show it (`destination` already safe to show). */
export type Where = Pick<CapturedMessage, 'seq' | 'time' | 'destination' | 'bodySha256'> & { readonly bodyBytes: number };

/** Adds the message's anomalies and inventory rows to the tally. */
export function judgeMessage(message: Where, facts: MessageFacts, context: JudgeContext): void {
  const { tally } = context;
  const raise = (kind: AnomalyKind, detail: string): void => tally.anomalies.add(anomaly(message, kind, detail));
  if (facts.cards.length > 0) {
    const [first, ...more] = facts.cards;
    const also = more.length === 0 ? '' : `; also in ${more.map((c) => c.where).join(', ')}`;
    raise('card_data', `a card number (${first?.masked ?? ''}) in ${first?.where ?? ''}${also}`);
  }
  if (facts.format === 'empty') return;
  if (facts.format === 'clear') {
    tally.counts.clear++;
    raise('clear_body', `the body (${message.bodyBytes} bytes) is not S/MIME: it crossed the broker readable`);
    return;
  }
  const envelope = facts.envelope;
  if (facts.notEncrypted !== undefined || envelope?.contentEncryption === undefined) {
    tally.counts.clear++;
    raise('not_encrypted', facts.notEncrypted ?? 'not an encrypted envelope');
    return;
  }
  tally.counts.encrypted++;
  const cipher = envelope.contentEncryption;
  const content = judgeContent(cipher, context.policy);
  if (content.anomaly !== undefined) raise(content.anomaly, contentDetail(cipher, envelope.contentType));
  if (envelope.recipients.length === 0) raise('unknown_algorithm', `${envelope.contentType} with no recipient`);
  judgeRecipients(message, cipher, content, envelope.recipients, context);
}

function judgeRecipients(message: Where, cipher: string, content: Judgement, recipients: readonly RecipientFacts[], context: JudgeContext): void {
  const { tally } = context;
  // First recipient and count per anomaly kind, then one anomaly each.
  const findings = new Map<AnomalyKind, { first: string; count: number }>();
  const note = (kind: AnomalyKind, what: string): void => {
    const found = findings.get(kind);
    if (found === undefined) findings.set(kind, { first: what, count: 1 });
    else found.count++;
  };
  // Rows, not keys: once a table is full, many keys share its overflow row, which counts a message once too.
  const rowsSeen = new Set<object>();
  for (const recipient of recipients) {
    const who = `${recipient.issuer}${recipient.serial === '' ? '' : `, serial ${recipient.serial}`}`;
    const keyManagement = judgeKeyManagement(recipient.keyManagement);
    const bits = judgeRsaBits(recipient.rsaBits, context.policy);
    if (keyManagement.anomaly !== undefined) note(keyManagement.anomaly, `${describeKey(recipient)} to ${who}`);
    if (bits.anomaly !== undefined) note(bits.anomaly, `an RSA-${recipient.rsaBits ?? 0} key (${recipient.keyManagement}) to ${who}`);
    if (context.known !== undefined && context.known.find(recipient.key) === undefined) note('unknown_recipient', who);
    const cipherRow = tally.ciphers.row(`${cipher}\n${recipient.keyManagement}\n${recipient.rsaBits ?? ''}`);
    cipherRow.status = worse(cipherRow.status, worse(content.status, worse(keyManagement.status, bits.status)));
    if (!rowsSeen.has(cipherRow)) {
      rowsSeen.add(cipherRow);
      cipherRow.messages++;
    }
    const recipientRow = tally.recipients.row(recipient.key);
    if (!rowsSeen.has(recipientRow)) {
      rowsSeen.add(recipientRow);
      if (recipientRow.key !== '') {
        recipientRow.issuer = recipient.issuer;
        recipientRow.serial = recipient.serial;
      }
      recipientRow.messages++;
    }
  }
  for (const [kind, { first, count }] of findings) {
    const more = count > 1 ? ` (and ${count - 1} more of its ${recipients.length} recipients)` : '';
    const prefix = kind === 'unknown_recipient' ? 'encrypted to a recipient no given certificate matches: ' : '';
    tally.anomalies.add(anomaly(message, kind, `${prefix}${first}${more}`));
  }
}

function describeKey(recipient: RecipientFacts): string {
  if (recipient.keyManagement.startsWith('rsaes-')) return `key transport ${recipient.keyManagement}`;
  if (recipient.keyManagement.startsWith('ecdh-')) return `key agreement ${recipient.keyManagement}`;
  return `key management ${recipient.keyManagement}`;
}

function contentDetail(cipher: string, contentType: string): string {
  if (cipher === 'aes-256-cbc') return `content encryption aes-256-cbc (${contentType}): not authenticated, and the deployment requires AES-256-GCM`;
  return `content encryption ${cipher} (${contentType}) is outside the crypto profile`;
}

function anomaly(message: Where, kind: AnomalyKind, detail: string): Anomaly {
  return { kind, seq: message.seq, time: message.time, destination: message.destination, body_sha256: message.bodySha256, detail };
}
