/**
 * One captured message → the facts the scan reports, WITHOUT decrypting: whether the body is an
 * S/MIME entity (or bare DER CMS), its CMS content type, content cipher and recipients
 * (envelope-facts.ts), and any card number in a header or in the body as sent (card-scan.ts).
 *
 * Every body is hostile input (a broker login is enough to SEND one): whatever it holds, this
 * returns facts and never throws; every step is linear in the body's size.
 */
import type { CapturedMessage } from '../capture/record.ts';
import { decodeBody, parseEntity, type MimeEntity } from '../../wire/mime.ts';
import { maskedCardIn } from './card-scan.ts';
import { envelopeFacts, type EnvelopeFacts, type NameCache } from './envelope-facts.ts';

/** How the body travelled. */
export type BodyFormat =
  /** Nothing to read (e.g. a dead letter whose body was withheld). */
  | 'empty'
  /** An S/MIME entity (RFC 8551) holding CMS. */
  | 'smime'
  /** Bare DER CMS, which open() also reads. */
  | 'der'
  /** Anything else: readable by whoever sees the message. */
  | 'clear';

/** A card number found, masked. */
export interface CardFinding {
  /** `header <name>`, `a header name`, `body`, or `the decoded S/MIME body`. */
  readonly where: string;
  readonly masked: string;
}

/** What a message shows without being decrypted. */
export interface MessageFacts {
  readonly format: BodyFormat;
  /** The CMS when the body holds one that parses. */
  readonly envelope?: EnvelopeFacts;
  /** Why an S/MIME or DER body is not an encrypted envelope (unparseable CMS, a bare signature). */
  readonly notEncrypted?: string;
  readonly cards: readonly CardFinding[];
}

const SMIME_TYPES = /^(application\/(x-)?pkcs7-(mime|signature)|multipart\/signed)$/;
const DER_SEQUENCE = 0x30;
/** Transfer encodings whose decoded bytes differ from the body as sent. */
const TRANSFER_ENCODED = /^\s*(base64|quoted-printable)\s*$/i;
/**
 * An S/MIME header block is a few hundred bytes. A body whose first blank line comes later is
 * not S/MIME, and is not handed to the MIME parser, which keeps the header blocks it has seen.
 */
const MAX_HEADER_BLOCK_BYTES = 64 * 1024;

/** The facts of one message. */
export function inspectMessage(message: Pick<CapturedMessage, 'headers' | 'body'>, names: NameCache): MessageFacts {
  const cards = cardFindings(message);
  const body = message.body;
  if (body.length === 0) return { format: 'empty', cards };
  if (body[0] === DER_SEQUENCE) {
    const der = derFacts(body, names);
    if (der !== undefined) return { format: 'der', ...der, cards };
  }
  if (!headerBlockWithin(body, MAX_HEADER_BLOCK_BYTES)) return { format: 'clear', cards };
  let entity: MimeEntity;
  try {
    entity = parseEntity(body);
  } catch {
    return { format: 'clear', cards };
  }
  if (!SMIME_TYPES.test(entity.contentType.type)) return { format: 'clear', cards };
  if (entity.contentType.type === 'multipart/signed') return { format: 'smime', notEncrypted: 'multipart/signed: signed, not encrypted', cards };
  let der: Buffer;
  try {
    der = decodeBody(entity);
  } catch (error) {
    return { format: 'smime', notEncrypted: `the S/MIME body does not decode (${reason(error)})`, cards };
  }
  // A transfer encoding hides what it encodes from the scan of the body as sent: the decoded
  // bytes are scanned too (latin1: one character per byte, so ASCII digits in a DER field show).
  const decoded = !TRANSFER_ENCODED.test(entity.headers.get('content-transfer-encoding') ?? '') ? undefined : maskedCardIn(der.toString('latin1'));
  const all = decoded === undefined ? cards : [...cards, { where: 'the decoded S/MIME body', masked: decoded }];
  return { format: 'smime', ...cmsFacts(der, names), cards: all };
}

/** Whether a blank line (LF LF or LF CR LF) ends a header block within the first `limit` bytes. */
function headerBlockWithin(body: Buffer, limit: number): boolean {
  const head = body.subarray(0, limit);
  return head.includes('\n\n') || head.includes('\n\r\n');
}

/** Facts of a body that starts like DER: undefined when it is not a CMS ContentInfo (then it is read as text). */
function derFacts(body: Buffer, names: NameCache): Pick<MessageFacts, 'envelope' | 'notEncrypted'> | undefined {
  const facts = cmsFacts(body, names);
  return facts.envelope === undefined ? undefined : facts;
}

function cmsFacts(der: Buffer, names: NameCache): Pick<MessageFacts, 'envelope' | 'notEncrypted'> {
  let envelope: EnvelopeFacts;
  try {
    envelope = envelopeFacts(der, names);
  } catch (error) {
    return { notEncrypted: `the CMS does not parse (${reason(error)})` };
  }
  if (envelope.contentEncryption === undefined) return { envelope, notEncrypted: `CMS ${envelope.contentType}, not an encrypted envelope` };
  return { envelope };
}

/** Card numbers in header names and values, then in the body (first one of each place). */
function cardFindings(message: Pick<CapturedMessage, 'headers' | 'body'>): CardFinding[] {
  const found: CardFinding[] = [];
  for (const [name, value] of message.headers) {
    const inName = maskedCardIn(name);
    if (inName !== undefined) found.push({ where: 'a header name', masked: inName });
    const inValue = maskedCardIn(value);
    // The name is shown only when it holds no card number itself.
    if (inValue !== undefined) found.push({ where: inName === undefined ? `header ${shownName(name)}` : 'a header', masked: inValue });
  }
  if (message.body.length > 0) {
    const inBody = maskedCardIn(message.body.toString('utf8'));
    if (inBody !== undefined) found.push({ where: 'body', masked: inBody });
  }
  return found;
}

/** A header name as a report may show it: printable, short. */
function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = name.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
  return printable.length > 64 ? `${printable.slice(0, 64)}…` : printable;
}

/** An error's code and message for a detail line; DER reader messages name structures, never content. */
function reason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
