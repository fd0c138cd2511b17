import { randomUUID } from 'node:crypto';
import {
  cardNumberOutsidePayload, encodeYaml, requestDocumentSchema, seal, type BodyCipher, type Certificate, type Identity, type RequestDocument,
} from '../wire/index.ts';
import { CardDataInTextError, ValidationError } from './errors.ts';

/**
 * Building and sealing a request document: the YAML a worker reads, signed with our
 * identity and encrypted to the gateway certificates.
 */

/** What a request document is made of, besides what this module fills in (id, timestamps). */
export interface RequestInput {
  readonly provider: string;
  readonly type: string;
  /** The payload to send: the caller's, once the action's schema accepted it. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Defaults to the new request's `id`. */
  readonly idempotencyKey?: string | undefined;
  /** `expires_at` is `sent_at` plus this. */
  readonly timeoutMs: number;
}

/** The keys a request is sealed with. */
export interface SealKeys {
  readonly identity: Identity;
  readonly recipients: readonly Certificate[];
  readonly cipher: BodyCipher;
}

/** A sealed request, ready to SEND. */
export interface SealedRequest {
  readonly document: RequestDocument;
  /** Epoch ms of `expires_at`: the frame's `expires` header. */
  readonly expiresAt: number;
  /** The S/MIME body. */
  readonly body: string;
}

/**
 * Builds the request document (a fresh UUID `id`, `sent_at` now), checks it as the worker will
 * (`parseRequestDocument`'s rules: card data first, then the wire schema) and seals it.
 *
 * @throws CardDataInTextError when a document field outside the payload holds a card number (in
 *   practice: the `idempotencyKey`); the field is named, never the value.
 * @throws ValidationError when the document breaks the wire schema (in practice: a bad
 *   `idempotencyKey`); paths only, never values.
 */
export function sealRequest(input: RequestInput, keys: SealKeys, now: number = Date.now()): SealedRequest {
  const id = randomUUID();
  const expiresAt = now + input.timeoutMs;
  const document = {
    paygate: 1,
    kind: 'request',
    id,
    idempotency_key: input.idempotencyKey ?? id,
    provider: input.provider,
    type: input.type,
    sent_at: new Date(now).toISOString(),
    expires_at: new Date(expiresAt).toISOString(),
    payload: input.payload,
  };
  const field = cardNumberOutsidePayload(document);
  if (field !== undefined) throw new CardDataInTextError('request document', field);
  const checked = requestDocumentSchema.safeParse(document);
  if (!checked.success) throw ValidationError.fromZod('request document', checked.error);
  // A CardNumber in the payload is written in clear by encodeYaml, the one place allowed to reveal a Secret.
  const yaml = encodeYaml(checked.data);
  const body = seal(yaml, { recipients: [...keys.recipients], signer: keys.identity, cipher: keys.cipher });
  return { document: checked.data, expiresAt, body };
}
